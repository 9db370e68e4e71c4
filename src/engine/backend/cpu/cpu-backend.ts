/**
 * The CPU backend: tensors are typed arrays over SharedArrayBuffers, the kernels are kernels.ts,
 * and the heavy ones (linear layers, attention, cross-entropy) are split across a pool of worker
 * threads (pool.ts). Results are bit-identical whatever the thread count: every output element is
 * computed by one thread with one fixed loop.
 */
import { availableParallelism } from 'node:os';
import { shapeSize, SLICE_ALIGN, type AdamWStep, type Backend, type BackendIdentity, type DType, type Tensor } from '../backend.js';
import * as K from './kernels.js';
import { CpuPool, type PoolTensor } from './pool.js';
import {
  OP_ATTENTION_BACKWARD, OP_ATTENTION_FORWARD, OP_CROSS_ENTROPY_BACKWARD, OP_CROSS_ENTROPY_FORWARD,
  OP_LINEAR_BACKWARD_INPUT, OP_LINEAR_BACKWARD_WEIGHT, OP_LINEAR_FORWARD, linearKernelVariant,
} from './ops.js';

/**
 * A CPU tensor: a typed array over a SharedArrayBuffer, from element `offset` on (shared by
 * reshapes and slices).
 */
export class CpuTensor implements Tensor {
  readonly size: number;
  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly id: number,
    readonly buffer: SharedArrayBuffer,
    readonly offset = 0,
  ) {
    this.size = shapeSize(shape);
  }
  get f32(): Float32Array {
    return new Float32Array(this.buffer, this.offset * 4, this.size);
  }
  get i32(): Int32Array {
    return new Int32Array(this.buffer, this.offset * 4, this.size);
  }
}

export interface CpuBackendOptions {
  /** Threads to use, the main one included (default: all available cores). */
  threads?: number;
}

/** Below this many multiply-adds an op runs on the main thread only (waking workers costs more). */
const PARALLEL_MIN_WORK = 1 << 16;

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  private readonly pool: CpuPool;
  private nextId = 1;
  private readonly owners = new Map<number, number>(); // buffer id → live handles (reshapes)
  /**
   * Freed buffers kept for reuse, by byte length: a training step allocates and frees the same
   * activation shapes every time, and a reused buffer costs no allocation, no registration with the
   * workers and no garbage. Spare bytes are capped at the peak of live bytes.
   */
  private readonly spare = new Map<number, { id: number; buffer: SharedArrayBuffer }[]>();
  private spareBytes = 0;
  private liveBytes = 0;
  private peakLiveBytes = 0;

  constructor(options: CpuBackendOptions = {}) {
    this.pool = new CpuPool(Math.max(1, options.threads ?? availableParallelism()));
  }

  /**
   * The thread count is not part of it: results are bit-identical whatever it is. The matrix
   * products and attention run on WebAssembly SIMD or on the JS kernels (FLOCK_CPU_KERNELS=js),
   * which round differently; everything else is JS.
   */
  identity(): BackendIdentity {
    const v = linearKernelVariant();
    return { backend: this.name, kernels: { matmul: v, attention: v }, device: null };
  }

  /** Resolves once the worker threads are up (ops work before that, on fewer threads). */
  ready(): Promise<void> {
    return this.pool.ready();
  }

  /** Threads this backend computes with. */
  get threads(): number {
    return this.pool.threads;
  }

  // ─── memory ──────────────────────────────────────────────────────────────────────────────────

  zeros(shape: readonly number[], dtype: DType = 'f32'): CpuTensor {
    const size = shapeSize(shape);
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`bad tensor shape [${shape.join(', ')}]`);
    const bytes = sizeClass(size * 4);
    this.liveBytes += bytes;
    this.peakLiveBytes = Math.max(this.peakLiveBytes, this.liveBytes);
    const reused = this.spare.get(bytes)?.pop();
    if (reused) {
      this.spareBytes -= bytes;
      new Int32Array(reused.buffer).fill(0);
      this.owners.set(reused.id, 1);
      return new CpuTensor([...shape], dtype, reused.id, reused.buffer);
    }
    const id = this.nextId++;
    const buffer = new SharedArrayBuffer(bytes);
    this.pool.register(id, buffer);
    this.owners.set(id, 1);
    return new CpuTensor([...shape], dtype, id, buffer);
  }

  fromArray(data: Float32Array | Int32Array, shape: readonly number[]): CpuTensor {
    const t = this.zeros(shape, data instanceof Int32Array ? 'i32' : 'f32');
    this.write(t, data);
    return t;
  }

  write(t: Tensor, data: Float32Array | Int32Array): void {
    const c = cpu(t);
    if (data.length !== c.size) throw new RangeError(`write: ${data.length} values into a tensor of ${c.size}`);
    if ((data instanceof Int32Array) !== (c.dtype === 'i32')) throw new TypeError(`write: element type does not match the ${c.dtype} tensor`);
    if (data instanceof Int32Array) c.i32.set(data);
    else c.f32.set(data);
  }

  async read(t: Tensor): Promise<Float32Array> {
    const c = cpu(t);
    return c.dtype === 'i32' ? Float32Array.from(c.i32) : c.f32.slice();
  }

  readAll(ts: readonly Tensor[]): Promise<Float32Array[]> {
    return Promise.all(ts.map((t) => this.read(t)));
  }

  /** The tensor's storage itself (CPU only: tests and host-side loops read it without a copy). */
  view(t: Tensor): Float32Array {
    return f32(t);
  }

  fill(t: Tensor, value: number): void {
    const c = cpu(t);
    if (c.dtype === 'i32') c.i32.fill(value);
    else c.f32.fill(value);
  }

  copy(dst: Tensor, src: Tensor): void {
    sameSize('copy', dst, src);
    const d = cpu(dst), s = cpu(src);
    new Int32Array(d.buffer, d.offset * 4, d.size).set(new Int32Array(s.buffer, s.offset * 4, s.size));
  }

  reshape(t: Tensor, shape: readonly number[]): CpuTensor {
    const c = cpu(t);
    if (shapeSize(shape) !== c.size) throw new RangeError(`reshape: [${c.shape.join(', ')}] → [${shape.join(', ')}] changes the size`);
    this.owners.set(c.id, (this.owners.get(c.id) ?? 0) + 1);
    return new CpuTensor([...shape], c.dtype, c.id, c.buffer, c.offset);
  }

  slice(t: Tensor, offset: number, shape: readonly number[]): CpuTensor {
    const c = cpu(t);
    const size = shapeSize(shape);
    if (!Number.isInteger(offset) || offset < 0 || offset % SLICE_ALIGN !== 0) throw new RangeError(`slice: offset ${offset} is not a multiple of ${SLICE_ALIGN}`);
    if (offset + size > c.size) throw new RangeError(`slice: [${offset}, ${offset + size}) is outside a tensor of ${c.size}`);
    this.owners.set(c.id, (this.owners.get(c.id) ?? 0) + 1);
    return new CpuTensor([...shape], c.dtype, c.id, c.buffer, c.offset + offset);
  }

  free(t: Tensor): void {
    const c = cpu(t);
    const left = (this.owners.get(c.id) ?? 1) - 1;
    if (left > 0) this.owners.set(c.id, left);
    else {
      this.owners.delete(c.id);
      const bytes = c.buffer.byteLength;
      this.liveBytes -= bytes;
      if (this.spareBytes + bytes <= this.peakLiveBytes) {
        const list = this.spare.get(bytes) ?? [];
        list.push({ id: c.id, buffer: c.buffer });
        this.spare.set(bytes, list);
        this.spareBytes += bytes;
      } else this.pool.unregister(c.id);
    }
  }

  dispose(): void {
    this.pool.dispose();
  }

  // ─── elementwise ─────────────────────────────────────────────────────────────────────────────

  add(out: Tensor, a: Tensor, b: Tensor): void {
    sameSize('add', out, a, b);
    const o = f32(out), x = f32(a), y = f32(b);
    for (let i = 0; i < o.length; i++) o[i] = x[i]! + y[i]!;
  }

  axpy(y: Tensor, alpha: number, x: Tensor): void {
    sameSize('axpy', y, x);
    const o = f32(y), a = f32(x);
    for (let i = 0; i < o.length; i++) o[i] += alpha * a[i]!;
  }

  scale(out: Tensor, a: Tensor, s: number): void {
    sameSize('scale', out, a);
    const o = f32(out), x = f32(a);
    for (let i = 0; i < o.length; i++) o[i] = s * x[i]!;
  }

  addBias(y: Tensor, bias: Tensor): void {
    if (bias.shape.length !== 1) throw new RangeError(`addBias: bias must be 1-d, got [${bias.shape.join(', ')}]`);
    const N = rows('addBias y', y, bias.size);
    K.addBias(f32(y), f32(bias), N, bias.size);
  }

  // ─── linear ──────────────────────────────────────────────────────────────────────────────────

  linearForward(out: Tensor, x: Tensor, w: Tensor, accumulate = false, scale = 1): void {
    const [O, I] = dims2('linearForward w', w);
    const N = rows('linearForward x', x, I);
    rows('linearForward out', out, O);
    this.pool.run(OP_LINEAR_FORWARD, ids(out, x, w), [N, I, O, accumulate ? 1 : 0, scale], N, 4, N * I * O >= PARALLEL_MIN_WORK);
  }

  linearBackwardInput(dx: Tensor, dout: Tensor, w: Tensor, scale = 1): void {
    const [O, I] = dims2('linearBackwardInput w', w);
    const N = rows('linearBackwardInput dout', dout, O);
    rows('linearBackwardInput dx', dx, I);
    this.pool.run(OP_LINEAR_BACKWARD_INPUT, ids(dx, dout, w), [N, I, O, scale], N, 4, N * I * O >= PARALLEL_MIN_WORK);
  }

  linearBackwardWeight(dw: Tensor, dout: Tensor, x: Tensor, scale = 1): void {
    const [O, I] = dims2('linearBackwardWeight dw', dw);
    const N = rows('linearBackwardWeight dout', dout, O);
    if (rows('linearBackwardWeight x', x, I) !== N) throw new RangeError('linearBackwardWeight: dout and x have different row counts');
    this.pool.run(OP_LINEAR_BACKWARD_WEIGHT, ids(dw, dout, x), [N, I, O, scale], O, 1, N * I * O >= PARALLEL_MIN_WORK);
  }

  // ─── embedding, norm, rope ───────────────────────────────────────────────────────────────────

  embeddingForward(out: Tensor, ids: Tensor, table: Tensor): void {
    const [V, H] = dims2('embeddingForward table', table);
    const N = ids.size;
    rows('embeddingForward out', out, H);
    K.embeddingForward(f32(out), i32(ids), f32(table), N, H, V);
  }

  embeddingBackward(dtable: Tensor, dout: Tensor, ids: Tensor): void {
    const [, H] = dims2('embeddingBackward dtable', dtable);
    K.embeddingBackward(f32(dtable), f32(dout), i32(ids), ids.size, H);
  }

  rmsnormForward(out: Tensor, rstd: Tensor, x: Tensor, w: Tensor, eps: number): void {
    const H = w.size;
    const N = rows('rmsnormForward x', x, H);
    sameSize('rmsnormForward', out, x);
    if (rstd.size !== N) throw new RangeError(`rmsnormForward: rstd has ${rstd.size} values for ${N} rows`);
    K.rmsnormForward(f32(out), f32(rstd), f32(x), f32(w), N, H, eps);
  }

  rmsnormBackward(dx: Tensor, dw: Tensor | null, dout: Tensor, x: Tensor, w: Tensor, rstd: Tensor): void {
    const H = w.size;
    const N = rows('rmsnormBackward x', x, H);
    sameSize('rmsnormBackward', dx, dout, x);
    K.rmsnormBackward(f32(dx), dw ? f32(dw) : null, f32(dout), f32(x), f32(w), f32(rstd), N, H);
  }

  ropeForward(out: Tensor, x: Tensor, pos: Tensor, cos: Tensor, sin: Tensor): void {
    const [N, heads, D] = ropeDims('ropeForward', x, pos, cos);
    sameSize('ropeForward', out, x);
    K.ropeForward(f32(out), f32(x), i32(pos), f32(cos), f32(sin), N, heads, D);
  }

  ropeBackward(dx: Tensor, dout: Tensor, pos: Tensor, cos: Tensor, sin: Tensor): void {
    const [N, heads, D] = ropeDims('ropeBackward', dout, pos, cos);
    sameSize('ropeBackward', dx, dout);
    K.ropeBackward(f32(dx), f32(dout), i32(pos), f32(cos), f32(sin), N, heads, D);
  }

  // ─── attention ───────────────────────────────────────────────────────────────────────────────

  attentionForward(out: Tensor, probs: Tensor, q: Tensor, k: Tensor, v: Tensor): void {
    const [B, T, NH, KV, D] = attentionDims(q, k, v, probs);
    sameSize('attentionForward', out, q);
    this.pool.run(OP_ATTENTION_FORWARD, ids(out, probs, q, k, v), [B, T, NH, KV, D], B * KV, 1, T * T * NH * D >= PARALLEL_MIN_WORK);
  }

  attentionBackward(dq: Tensor, dk: Tensor, dv: Tensor, dout: Tensor, probs: Tensor, q: Tensor, k: Tensor, v: Tensor): void {
    const [B, T, NH, KV, D] = attentionDims(q, k, v, probs);
    sameSize('attentionBackward', dq, dout, q);
    sameSize('attentionBackward', dk, dv, k);
    this.pool.run(OP_ATTENTION_BACKWARD, ids(dq, dk, dv, dout, probs, q, k, v), [B, T, NH, KV, D], B * KV, 1, T * T * NH * D >= PARALLEL_MIN_WORK);
  }

  // ─── MLP, loss ───────────────────────────────────────────────────────────────────────────────

  swigluForward(out: Tensor, gate: Tensor, up: Tensor): void {
    sameSize('swigluForward', out, gate, up);
    K.swigluForward(f32(out), f32(gate), f32(up), out.size);
  }

  swigluBackward(dgate: Tensor, dup: Tensor, dout: Tensor, gate: Tensor, up: Tensor): void {
    sameSize('swigluBackward', dgate, dup, dout, gate, up);
    K.swigluBackward(f32(dgate), f32(dup), f32(dout), f32(gate), f32(up), dout.size);
  }

  crossEntropyForward(losses: Tensor, logits: Tensor, targets: Tensor): void {
    const N = targets.size;
    const V = logits.size / N;
    if (!Number.isInteger(V) || losses.size !== N) throw new RangeError('crossEntropyForward: logits must be [N,V], losses and targets [N]');
    this.pool.run(OP_CROSS_ENTROPY_FORWARD, ids(losses, logits, targets), [N, V], N, 1, N * V >= PARALLEL_MIN_WORK);
  }

  crossEntropyBackward(dlogits: Tensor, dlosses: Tensor, logits: Tensor, targets: Tensor): void {
    const N = targets.size;
    const V = logits.size / N;
    sameSize('crossEntropyBackward', dlogits, logits);
    if (!Number.isInteger(V) || dlosses.size !== N) throw new RangeError('crossEntropyBackward: logits must be [N,V], dlosses and targets [N]');
    this.pool.run(OP_CROSS_ENTROPY_BACKWARD, ids(dlogits, dlosses, logits, targets), [N, V], N, 1, N * V >= PARALLEL_MIN_WORK);
  }

  // ─── dropout, optimizer ──────────────────────────────────────────────────────────────────────

  dropoutForward(out: Tensor, x: Tensor, p: number, seed: number): void {
    sameSize('dropoutForward', out, x);
    if (p === 0) return out === x ? undefined : this.copy(out, x);
    K.dropoutApply(f32(out), f32(x), x.size, p, seed >>> 0, false);
  }

  dropoutBackward(dx: Tensor, dout: Tensor, p: number, seed: number): void {
    sameSize('dropoutBackward', dx, dout);
    if (p === 0) return this.axpy(dx, 1, dout);
    K.dropoutApply(f32(dx), f32(dout), dout.size, p, seed >>> 0, true);
  }

  async sumSquares(t: Tensor): Promise<number> {
    const a = f32(t);
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
    return s;
  }

  adamwUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hp: AdamWStep): void {
    sameSize('adamwUpdate', param, grad, m, v);
    K.adamw(f32(param), f32(grad), f32(m), f32(v), param.size, hp.lr, hp.beta1, hp.beta2, hp.eps, hp.weightDecay, hp.step);
  }
}

/** Buffer sizes are rounded up (at most 12.5 %) so buffers of nearby sizes can be reused. */
function sizeClass(bytes: number): number {
  if (bytes <= 4096) return Math.max(16, Math.ceil(bytes / 16) * 16);
  const step = 2 ** (Math.floor(Math.log2(bytes)) - 3);
  return Math.ceil(bytes / step) * step;
}

// ─── checks ────────────────────────────────────────────────────────────────────────────────────

function cpu(t: Tensor): CpuTensor {
  if (!(t instanceof CpuTensor)) throw new TypeError('tensor does not belong to the cpu backend');
  return t;
}
function f32(t: Tensor): Float32Array {
  const c = cpu(t);
  if (c.dtype !== 'f32') throw new TypeError('expected an f32 tensor');
  return c.f32;
}
function i32(t: Tensor): Int32Array {
  const c = cpu(t);
  if (c.dtype !== 'i32') throw new TypeError('expected an i32 tensor');
  return c.i32;
}
/** Where the pool's threads find each tensor: its buffer's id and its first element. */
function ids(...ts: Tensor[]): PoolTensor[] {
  return ts.map((t) => {
    const c = cpu(t);
    return { id: c.id, offset: c.offset };
  });
}
function sameSize(op: string, ...ts: Tensor[]): void {
  for (const t of ts) if (t.size !== ts[0]!.size) throw new RangeError(`${op}: tensors of different sizes (${ts.map((u) => u.size).join(' vs ')})`);
}
function dims2(what: string, t: Tensor): [number, number] {
  if (t.shape.length !== 2) throw new RangeError(`${what}: expected a 2-d tensor, got [${t.shape.join(', ')}]`);
  return [t.shape[0]!, t.shape[1]!];
}
/** Rows of a tensor whose last dimension is `cols` (all leading dimensions flattened). */
function rows(what: string, t: Tensor, cols: number): number {
  const last = t.shape[t.shape.length - 1];
  if (last !== cols) throw new RangeError(`${what}: expected last dimension ${cols}, got [${t.shape.join(', ')}]`);
  return t.size / cols;
}
function ropeDims(op: string, x: Tensor, pos: Tensor, cos: Tensor): [number, number, number] {
  if (x.shape.length !== 3) throw new RangeError(`${op}: x must be [N, heads, D], got [${x.shape.join(', ')}]`);
  const [N, heads, D] = x.shape as [number, number, number];
  if (pos.size !== N || cos.shape[1] !== D / 2) throw new RangeError(`${op}: pos [N] and cos/sin [P, D/2] do not match x`);
  return [N, heads, D];
}
function attentionDims(q: Tensor, k: Tensor, v: Tensor, probs: Tensor): [number, number, number, number, number] {
  if (q.shape.length !== 4 || k.shape.length !== 4) throw new RangeError('attention: q, k, v must be [B, T, heads, D]');
  const [B, T, NH, D] = q.shape as [number, number, number, number];
  const KV = k.shape[2]!;
  if (NH % KV !== 0) throw new RangeError(`attention: ${NH} query heads do not group over ${KV} key/value heads`);
  if (k.size !== B * T * KV * D || v.size !== k.size) throw new RangeError('attention: k and v must be [B, T, KV, D]');
  if (probs.size !== B * NH * T * T) throw new RangeError('attention: probs must be [B, NH, T, T]');
  return [B, T, NH, KV, D];
}
