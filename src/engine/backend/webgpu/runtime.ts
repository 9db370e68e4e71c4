/**
 * The WebGPU runtime under the backend: a pipeline cache, a buffer pool, command batching with a
 * uniform arena, uploads and readbacks, and error reporting that names the adapter.
 *
 * Ops are encoded into one open compute pass and submitted only when something needs the queue:
 * a read, a write (a queued `writeBuffer` would overtake unsubmitted commands), a buffer copy, or a
 * full uniform arena. Each dispatch gets its own 256-byte slot in the arena (one `writeBuffer` per
 * submit), since commands in one submit would otherwise all see the last uniform values.
 *
 * Buffers are pooled by size class (rounded up to 256 bytes), so a training step that allocates
 * and frees the same shapes every step allocates nothing on the device after the first.
 */
import { FlockError } from '../../../util/errors.js';
import type { Logger } from '../../../util/log.js';
import { adapterName, type GpuAdapterDescription } from './device.js';
import { makeShader, packUniforms, printWgslRequested, uniformBytes, type Program } from './program.js';
import { GpuProfiler, type KernelTime } from './profiler.js';
import type { Precision } from './precision.js';
import type { MatmulKernel } from './kernels/matmul-check.js';

const UNIFORM_SLOT = 256; // minUniformBufferOffsetAlignment is at most 256
const ARENA_SLOTS = 1024;

/** Device memory accounting (bytes held by the pool, in use or free). */
export interface GpuMemoryStats {
  /** Bytes of device buffers currently allocated (in use + pooled). */
  allocated: number;
  /** Highest `allocated` so far. */
  peakAllocated: number;
  /** Bytes handed out to live tensors. */
  inUse: number;
  /** Number of createBuffer calls so far (stays flat across steady-state training steps). */
  buffersCreated: number;
  /** Bytes of pooled free buffers destroyed to stay within the memory budget, so far. */
  trimmed: number;
}

export class GpuRuntime {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly readbackFree = new Map<number, GPUBuffer[]>();
  private readonly stats: GpuMemoryStats = { allocated: 0, peakAllocated: 0, inUse: 0, buffersCreated: 0, trimmed: 0 };
  /**
   * Device bytes the pool should not go over (undefined: no limit). When a new buffer would cross
   * it, the free buffers of every size are destroyed first: sequences of many lengths otherwise
   * leave a set of buffers per length in the pool.
   */
  memoryBudget: number | undefined = undefined;
  /** Round trips to the device so far: each read waits for every queued command once. */
  readbacks = 0;
  /** Precision of the linear layers' products (precision.ts); set by the backend. */
  precision: Precision = 'f32';
  /** The tensor-core product kernel, once it passed its self-check on this device; else null. */
  subgroupMatmul: MatmulKernel | null = null;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly arenaHost = new ArrayBuffer(UNIFORM_SLOT * ARENA_SLOTS);
  private readonly arenaView = new DataView(this.arenaHost);
  private readonly arena: GPUBuffer;
  private arenaUsed = 0;
  private pendingCommands = 0;
  private lostReason: string | null = null;
  private disposed = false;
  private firstError: GPUError | null = null;
  private readonly printWgsl = printWgslRequested();
  private readonly profiler: GpuProfiler | null;

  /** `profile`: time every kernel with timestamp queries (the device must have `timestamp-query`). */
  constructor(readonly device: GPUDevice, readonly adapter: GpuAdapterDescription, private readonly log: Logger, profile = false) {
    this.profiler = profile ? new GpuProfiler(device) : null;
    this.arena = device.createBuffer({ label: 'flock.uniform-arena', size: this.arenaHost.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.lost.then((info) => {
      if (!this.disposed) this.lostReason = info.message || String(info.reason);
    }).catch(() => undefined);
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      if (!this.firstError) this.firstError = ev.error;
    };
  }

  /** The compiled pipeline of a program, from the cache or compiled now. */
  pipeline(p: Program): GPUComputePipeline {
    let pipe = this.pipelines.get(p.key);
    if (!pipe) {
      const code = makeShader(p);
      if (this.printWgsl) process.stderr.write(`// ─── WGSL ${p.key} ───\n${code}`);
      const module = this.device.createShaderModule({ label: `flock.${p.key}`, code });
      pipe = this.device.createComputePipeline({ label: `flock.${p.key}`, layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.pipelines.set(p.key, pipe);
      this.log.trace('webgpu: compiled pipeline', { key: p.key });
    }
    return pipe;
  }

  /** Number of pipelines compiled so far. */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  // ─── buffers ──────────────────────────────────────────────────────────────────────────────

  /** A storage buffer of at least `bytes` bytes, from the pool when one of its size class is free. */
  allocate(bytes: number, label: string): GPUBuffer {
    this.check();
    const size = Math.max(UNIFORM_SLOT, Math.ceil(bytes / UNIFORM_SLOT) * UNIFORM_SLOT);
    if (size > this.adapter.maxBufferSize || bytes > this.adapter.maxStorageBufferBindingSize) {
      throw new FlockError(`WebGPU: ${label} needs ${formatBytes(bytes)}, more than ${adapterName(this.adapter)} can bind in one buffer (${formatBytes(this.adapter.maxStorageBufferBindingSize)})`, {
        hint: 'use a shorter context or a smaller model, or --backend cpu',
      });
    }
    this.stats.inUse += size;
    const pooled = this.free.get(size)?.pop();
    if (pooled) return pooled;
    if (this.memoryBudget !== undefined && this.stats.allocated + size > this.memoryBudget) this.trimFree();
    const buf = this.device.createBuffer({ label: `flock.${label}`, size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    this.stats.buffersCreated++;
    this.stats.allocated += size;
    this.stats.peakAllocated = Math.max(this.stats.peakAllocated, this.stats.allocated);
    return buf;
  }

  /** Returns a buffer to the pool (queued commands that use it still see its contents in order). */
  release(buf: GPUBuffer): void {
    this.stats.inUse -= buf.size;
    let list = this.free.get(buf.size);
    if (!list) this.free.set(buf.size, (list = []));
    list.push(buf);
  }

  memory(): GpuMemoryStats {
    return { ...this.stats };
  }

  /**
   * Destroy every pooled free buffer. Commands encoded so far are submitted first (they may use a
   * buffer released a moment ago); the device finishes submitted work before it frees memory.
   */
  trimFree(): void {
    let bytes = 0;
    for (const list of this.free.values()) for (const b of list) bytes += b.size;
    if (bytes === 0) return;
    this.flush();
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.stats.allocated -= bytes;
    this.stats.trimmed += bytes;
  }

  // ─── commands ─────────────────────────────────────────────────────────────────────────────

  /**
   * Encodes one dispatch of `p` over `buffers` (in the program's binding order, each bound for
   * `bindBytes[i]` bytes) with these uniform values.
   */
  dispatch(p: Program, buffers: readonly GPUBuffer[], bindBytes: readonly number[], uniforms: readonly number[], workgroups: readonly [number, number, number], offsets?: readonly number[]): void {
    this.check();
    if (buffers.length !== p.bindings.length) throw new Error(`${p.name}: expected ${p.bindings.length} buffers, got ${buffers.length}`);
    if (workgroups[0] === 0 || workgroups[1] === 0 || workgroups[2] === 0) return;
    if ((p.uniforms.length > 0 && this.arenaUsed + UNIFORM_SLOT > this.arenaHost.byteLength) || this.profiler?.full) this.flush();
    const pipe = this.pipeline(p);
    const entries: GPUBindGroupEntry[] = buffers.map((buffer, i) => ({ binding: i, resource: { buffer, offset: offsets?.[i] ?? 0, size: Math.max(4, bindBytes[i]!) } }));
    if (p.uniforms.length > 0) {
      packUniforms(p, uniforms, this.arenaView, this.arenaUsed);
      entries.push({ binding: buffers.length, resource: { buffer: this.arena, offset: this.arenaUsed, size: uniformBytes(p) } });
      this.arenaUsed += UNIFORM_SLOT;
    }
    const group = this.device.createBindGroup({ label: `flock.${p.key}`, layout: pipe.getBindGroupLayout(0), entries });
    if (this.profiler) {
      // one timestamped pass per dispatch
      this.endPass();
      this.pass = this.commandEncoder().beginComputePass({ label: `flock.${p.key}`, timestampWrites: this.profiler.next(p.key) });
    }
    const pass = this.computePass();
    pass.setPipeline(pipe);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
    this.pendingCommands++;
  }

  /** Encodes dst[dstOffset..+bytes) = src[srcOffset..+bytes). */
  copy(dst: GPUBuffer, src: GPUBuffer, bytes: number, dstOffset = 0, srcOffset = 0): void {
    this.check();
    if (bytes === 0) return;
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.pendingCommands++;
  }

  /** Writes host data into a buffer (from byte `offset`) after every queued command (submits them first). */
  upload(buf: GPUBuffer, data: Float32Array | Int32Array | Uint32Array, offset = 0): void {
    this.check();
    if (this.pendingCommands > 0) this.flush();
    this.device.queue.writeBuffer(buf, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Submits everything encoded so far. */
  flush(): void {
    this.endPass();
    if (!this.encoder) return;
    if (this.arenaUsed > 0) this.device.queue.writeBuffer(this.arena, 0, this.arenaHost, 0, this.arenaUsed);
    const readTimes = this.profiler?.encode(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    readTimes?.();
    this.encoder = null;
    this.arenaUsed = 0;
    this.pendingCommands = 0;
  }

  /** `bytes` bytes of `buf` from byte `offset`, once every queued command has run. */
  async read(buf: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    return (await this.readMany([{ buffer: buf, bytes, offset }]))[0]!;
  }

  /**
   * Several byte ranges, once every queued command has run, through one staging buffer: one
   * submit and one wait for the device (a round trip, counted in `readbacks`) for all of them.
   */
  async readMany(parts: readonly { buffer: GPUBuffer; bytes: number; offset?: number }[]): Promise<ArrayBuffer[]> {
    this.check();
    const at: number[] = [];
    let total = 0;
    for (const p of parts) {
      at.push(total);
      total += Math.ceil(p.bytes / 4) * 4; // copies move whole 4-byte words
    }
    const size = Math.max(UNIFORM_SLOT, Math.ceil(total / UNIFORM_SLOT) * UNIFORM_SLOT);
    const staging = this.readbackFree.get(size)?.pop() ??
      this.device.createBuffer({ label: 'flock.readback', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    parts.forEach((p, i) => this.copy(staging, p.buffer, Math.ceil(p.bytes / 4) * 4, at[i]!, p.offset ?? 0));
    this.flush();
    this.readbacks++;
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, size);
    } catch (err) {
      this.check();
      throw new FlockError(`WebGPU: reading back from ${adapterName(this.adapter)} failed: ${(err as Error).message}`, { cause: err });
    }
    const mapped = staging.getMappedRange(0, size);
    const out = parts.map((p, i) => mapped.slice(at[i]!, at[i]! + p.bytes));
    staging.unmap();
    let list = this.readbackFree.get(size);
    if (!list) this.readbackFree.set(size, (list = []));
    list.push(staging);
    this.check();
    return out;
  }

  /**
   * Runs `work` (which may encode, submit and read) and returns the first validation or internal
   * error it caused instead of letting it poison the runtime: how the self-check tries a kernel
   * that may not compile on this driver.
   */
  async capturingErrors<T>(work: () => Promise<T>): Promise<{ value?: T; error?: string }> {
    this.flush();
    this.device.pushErrorScope('internal');
    this.device.pushErrorScope('validation');
    let value: T | undefined;
    let thrown: string | undefined;
    try {
      value = await work();
    } catch (err) {
      thrown = (err as Error).message;
    }
    try {
      this.flush();
    } catch (err) {
      thrown ??= (err as Error).message;
    }
    const validation = await this.device.popErrorScope();
    const internal = await this.device.popErrorScope();
    const error = validation?.message ?? internal?.message ?? thrown;
    if (error !== undefined) {
      // whatever was encoded with the failed objects is dropped, as check() does
      this.pass = null;
      this.encoder = null;
      this.arenaUsed = 0;
      this.pendingCommands = 0;
      return { error };
    }
    return { value };
  }

  /** GPU time per kernel so far, slowest first; null unless profiling (FLOCK_WEBGPU_PROFILE=1). */
  async profile(): Promise<KernelTime[] | null> {
    if (!this.profiler) return null;
    this.flush();
    return this.profiler.report();
  }

  /** Throws if the device was lost or a command failed (out of memory, validation). */
  check(): void {
    if (this.lostReason !== null) {
      throw new FlockError(`WebGPU: the device ${adapterName(this.adapter)} was lost: ${this.lostReason}`, {
        hint: 'the driver reset the GPU (a hang, a crash, or another program): retry; if it repeats, update the driver or use --backend cpu',
      });
    }
    const err = this.firstError;
    if (err) {
      this.firstError = null;
      // the commands encoded so far may use the failed object: drop them rather than fail again
      this.pass = null;
      this.encoder = null;
      this.arenaUsed = 0;
      this.pendingCommands = 0;
      if (err.constructor.name === 'GPUOutOfMemoryError' || /out of memory/i.test(err.message)) {
        throw new FlockError(`WebGPU: out of GPU memory on ${adapterName(this.adapter)} (${formatBytes(this.stats.allocated)} held by the engine)`, {
          hint: 'close other programs using the GPU, use a shorter context, or use --backend cpu',
        });
      }
      throw new FlockError(`WebGPU error on ${adapterName(this.adapter)}: ${err.message}`, {
        hint: 'this is a bug in the WebGPU backend; rerun with FLOCK_WEBGPU_PRINT_WGSL=1 and report it, or use --backend cpu',
      });
    }
  }

  /** Destroys every buffer and the device. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    try {
      this.flush();
    } catch {
      // a lost device cannot submit; destroying it is all that is left
    }
    for (const list of [...this.free.values(), ...this.readbackFree.values()]) for (const b of list) b.destroy();
    this.free.clear();
    this.readbackFree.clear();
    this.arena.destroy();
    this.profiler?.destroy();
    this.device.destroy();
  }

  private commandEncoder(): GPUCommandEncoder {
    return (this.encoder ??= this.device.createCommandEncoder({ label: 'flock.ops' }));
  }

  private computePass(): GPUComputePassEncoder {
    return (this.pass ??= this.commandEncoder().beginComputePass({ label: 'flock.ops' }));
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }
}

/** `1.5 GiB`, `12.0 MiB`, … */
export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}
