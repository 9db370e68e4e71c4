/**
 * The WebGPU backend: the engine's op interface (../backend.ts) on a GPU through Dawn.
 *
 * Every op only encodes work; `read` and `sumSquares` (the interface's only async calls) submit
 * and wait. Tensors live in pooled device buffers, so steady-state training allocates nothing.
 * All kernels reduce in a fixed order without float atomics: the same inputs give bit-identical
 * outputs on the same GPU. Compute is float32, or at `precision: 'f16'` the linear layers'
 * products take f16 inputs with f32 accumulation (precision.ts); with FLOCK_WEBGPU_MATMUL=
 * subgroup-matrix they run on tensor cores once the kernel passed its self-check on the device.
 *
 * @example
 *   const backend = await createWebGpuBackend(log);
 *   const x = backend.fromArray(new Float32Array([1, 2, 3]), [3]);
 *   backend.scale(x, x, 2);
 *   console.log(await backend.read(x)); // Float32Array [2, 4, 6]
 *   backend.dispose();
 */
import type { AdamWStep, Backend, BackendIdentity, DType, Tensor } from '../backend.js';
import { shapeSize, SLICE_ALIGN } from '../backend.js';
import type { Logger } from '../../../util/log.js';
import { silentLogger } from '../../../util/log.js';
import { acquireDevice, adapterName, type GpuAdapterDescription } from './device.js';
import { GpuRuntime, type GpuMemoryStats } from './runtime.js';
import { profileRequested } from './profiler.js';
import { GpuTensor, gpu } from './tensor.js';
import * as ew from './kernels/elementwise.js';
import { embeddingBackward, embeddingForward } from './kernels/embedding.js';
import { ropeBackward, ropeForward } from './kernels/rope.js';
import { rmsnormBackward, rmsnormForward } from './kernels/rmsnorm.js';
import { crossEntropyBackward, crossEntropyForward } from './kernels/cross-entropy.js';
import { attentionBackward, attentionForward, attentionVariantFromEnv, type AttentionVariant } from './kernels/attention.js';
import { matmul, matmulVariantFromEnv, type MatmulOptions, type MatmulVariant } from './kernels/matmul.js';
import { checkMatmulKernel, type MatmulKernel } from './kernels/matmul-check.js';
import { chooseSubgroupMatrixConfig, configName, subgroupMatmulKernel } from './kernels/matmul-subgroup.js';
import { widenF16 } from './kernels/widen.js';
import { f16Value, packF16 } from './half.js';
import { F16_GRAD_SCALE, precisionFromEnv, type Precision } from './precision.js';

export interface WebGpuBackendOptions {
  /** Force a matmul variant (default: FLOCK_WEBGPU_MATMUL, else 'auto'). */
  matmul?: MatmulVariant;
  /** Force an attention variant (default: FLOCK_WEBGPU_ATTENTION, else 'tiled'). */
  attention?: AttentionVariant;
  /** Keep big bf16-exact 2-D arrays from `fromArray` as bf16 (default true). */
  compactWeights?: boolean;
  /** Time every kernel (default: FLOCK_WEBGPU_PROFILE); read with `backend.runtime.profile()`. */
  profile?: boolean;
  /**
   * 'f16': the linear layers' products take f16 inputs (needs `shader-f16`; without it a warning
   * and f32). Default: FLOCK_WEBGPU_PRECISION, else 'f32'.
   */
  precision?: Precision;
  /** Where warnings about weights and kernel fallbacks go. */
  log?: Logger;
  /**
   * Tests only: makes the kernel tried (self-check, then use) as the subgroup-matrix variant in
   * place of the real one, which lavapipe cannot run.
   */
  subgroupMatrixKernel?: (rt: GpuRuntime) => MatmulKernel;
}

/** Arrays smaller than this stay f32 (LoRA matrices, norms): the saving would not pay for the scan. */
export const COMPACT_MIN_ELEMENTS = 1 << 16;

/** The bf16 bits of `data` when every value is exactly a bf16 value, else null. */
function bf16Bits(data: Float32Array): Uint16Array | null {
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < words.length; i++) if ((words[i]! & 0xffff) !== 0) return null;
  const bits = new Uint16Array(data.length);
  for (let i = 0; i < words.length; i++) bits[i] = words[i]! >>> 16;
  return bits;
}

function check(cond: boolean, op: string, what: () => string): void {
  if (!cond) throw new Error(`webgpu ${op}: ${what()}`);
}

function shapeOf(t: Tensor): string {
  return `[${t.shape.join(',')}]`;
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  /** The matmul variant every linear op uses ('auto' picks per shape); tests set each in turn. */
  matmulVariant: MatmulVariant;
  private readonly compactWeights: boolean;
  /** The attention variant ('tiled' GEMMs or per-'rows' kernels); tests set each in turn. */
  attentionVariant: AttentionVariant;
  private readonly log: Logger;

  /** `options.matmul` 'subgroup-matrix' is taken only through `enableSubgroupMatrix` (createWebGpuBackend does it). */
  constructor(readonly runtime: GpuRuntime, options: WebGpuBackendOptions = {}) {
    const variant = options.matmul ?? matmulVariantFromEnv();
    this.matmulVariant = variant === 'subgroup-matrix' && !runtime.subgroupMatmul ? 'auto' : variant;
    this.attentionVariant = options.attention ?? attentionVariantFromEnv();
    this.compactWeights = options.compactWeights ?? true;
    this.log = options.log ?? silentLogger;
    this.precision = options.precision ?? precisionFromEnv();
  }

  /** The linear layers' product precision; tests set each in turn (f16 needs `shader-f16`). */
  get precision(): Precision {
    return this.runtime.precision;
  }

  set precision(p: Precision) {
    if (p === 'f16' && !this.runtime.device.features.has('shader-f16')) throw new Error(`webgpu: f16 precision needs shader-f16, which ${adapterName(this.adapter)} does not offer`);
    this.runtime.precision = p;
  }

  /**
   * Tries the tensor-core product kernel (`kernel`, else the subgroup-matrix kernel of the
   * adapter's best configuration for this precision): it must agree with the f32 tile kernel on
   * the self-check's shapes (matmul-check.ts), on this device, before it is used. Returns whether
   * it is now the matmul variant; otherwise logs a warning with the reason and keeps the current one.
   */
  async enableSubgroupMatrix(kernel?: (rt: GpuRuntime) => MatmulKernel): Promise<boolean> {
    const fallback = (reason: string) => {
      this.log.warning(`webgpu: the subgroup-matrix (tensor-core) matmul is not used on ${adapterName(this.adapter)}: ${reason}; matmul stays ${this.matmulVariant}`);
      return false;
    };
    let candidate = kernel?.(this.runtime);
    let label = 'injected kernel';
    if (!candidate) {
      if (!this.runtime.device.features.has('chromium-experimental-subgroup-matrix' as GPUFeatureName)) {
        return fallback('the device has no chromium-experimental-subgroup-matrix feature (no cooperative matrices, or Dawn does not expose them for this driver)');
      }
      const choice = chooseSubgroupMatrixConfig(this.adapter, this.precision);
      if ('reason' in choice) return fallback(choice.reason);
      candidate = subgroupMatmulKernel(this.runtime, choice.plan);
      label = configName(choice.plan);
    }
    const run = candidate;
    const checked = await this.runtime.capturingErrors(() => checkMatmulKernel(this.runtime, run, this.precision));
    if (checked.error !== undefined) return fallback(`its self-check failed with a device error: ${checked.error}`);
    const result = checked.value!;
    if (!result.ok) return fallback(`it disagrees with the f32 tile kernel: ${result.reason}`);
    this.runtime.subgroupMatmul = run;
    this.matmulVariant = 'subgroup-matrix';
    this.log.info(`webgpu: subgroup-matrix matmul (${label}) agrees with the f32 tile kernel on ${result.cases} products (worst error ${(result.worst * 100).toFixed(1)}% of the tolerance)`);
    return true;
  }

  /** The adapter this backend runs on. */
  get adapter(): GpuAdapterDescription {
    return this.runtime.adapter;
  }

  /**
   * The adapter (its description carries the driver) and the matmul and attention variants:
   * another GPU, driver or variant may round differently.
   */
  identity(): BackendIdentity {
    const a = this.adapter;
    const device = [a.vendor, a.architecture, a.device, a.description].map((s) => s || '?').join(' / ');
    return { backend: this.name, kernels: { matmul: this.matmulVariant, attention: this.attentionVariant, precision: this.precision }, device };
  }

  /** Device memory held by the backend's buffer pool. */
  memory(): GpuMemoryStats {
    return this.runtime.memory();
  }

  /** Bytes of device buffers the pool holds now (in use and free). */
  memoryHeld(): number {
    return this.runtime.memory().allocated;
  }

  /** Free pooled buffers rather than grow past `bytes` (undefined: no limit). */
  setMemoryBudget(bytes: number | undefined): void {
    this.runtime.memoryBudget = bytes;
  }

  // ─── memory ──────────────────────────────────────────────────────────────────────────────

  zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const t = this.alloc(shape, dtype);
    ew.fill(this.runtime, t, 0);
    return t;
  }

  /**
   * A big 2-D f32 array whose every value is a bf16 value (a weight loaded from a bf16
   * checkpoint) is kept as bf16 — exactly the same values at half the memory — unless the
   * backend was created with `compactWeights: false`; see `fromBf16`. At f16 precision such a
   * weight is stored as f16 instead (half.ts: exact for bf16 values in [2⁻¹⁴, 65504]).
   */
  fromArray(data: Float32Array | Int32Array, shape: readonly number[]): Tensor {
    check(data.length === shapeSize(shape), 'fromArray', () => `${data.length} values for shape [${shape.join(',')}]`);
    if (this.compactWeights && data instanceof Float32Array && shape.length === 2 && data.length >= COMPACT_MIN_ELEMENTS) {
      const bits = bf16Bits(data);
      if (bits) return this.precision === 'f16' ? this.fromF16(data, shape) : this.fromBf16(bits, shape);
    }
    const t = this.alloc(shape, data instanceof Int32Array ? 'i32' : 'f32');
    this.runtime.upload(t.buffer, data);
    return t;
  }

  /**
   * A frozen weight kept as the checkpoint stores it, bf16 (raw bits), at half the memory of f32:
   * linear weights (`w` of linearForward / linearBackwardInput) and embedding tables read it
   * exactly widened to f32; any other use widens the storage to f32 in place first.
   */
  fromBf16(bits: Uint16Array, shape: readonly number[]): Tensor {
    check(bits.length === shapeSize(shape), 'fromBf16', () => `${bits.length} values for shape [${shape.join(',')}]`);
    if (this.precision === 'f16') {
      const wide = new Uint32Array(bits.length);
      for (let i = 0; i < bits.length; i++) wide[i] = bits[i]! << 16;
      return this.fromF16(new Float32Array(wide.buffer), shape);
    }
    const words = new Uint32Array(Math.ceil(bits.length / 2));
    new Uint16Array(words.buffer, 0, bits.length).set(bits); // little-endian: even element in the low half
    const buffer = this.runtime.allocate(words.byteLength, `bf16[${shape.join(',')}]`);
    const t = new GpuTensor(shape, 'f32', { buffer, refs: 1, freed: false, format: 'bf16' });
    this.runtime.upload(buffer, words);
    return t;
  }

  /**
   * A frozen weight stored as f16 (half.ts's policy: round to nearest even, ±65504 clamped — with
   * a warning, since no checkpoint weight should be that large). The kernels that read bf16 read f16.
   */
  private fromF16(data: Float32Array, shape: readonly number[]): Tensor {
    const { words, clamped } = packF16(data);
    if (clamped > 0) this.log.warning(`webgpu: ${clamped} values of a [${shape.join(',')}] weight exceed f16's range and were clamped to ±65504 (f16 precision)`);
    const buffer = this.runtime.allocate(words.byteLength, `f16[${shape.join(',')}]`);
    const t = new GpuTensor(shape, 'f32', { buffer, refs: 1, freed: false, format: 'f16' });
    this.runtime.upload(buffer, words);
    return t;
  }

  write(t: Tensor, data: Float32Array | Int32Array): void {
    const g = this.plain(t);
    check(data.length === g.size && (data instanceof Int32Array) === (g.dtype === 'i32'), 'write', () => `${data.constructor.name}(${data.length}) into ${g.dtype} ${shapeOf(g)}`);
    this.runtime.upload(g.buffer, data, g.offset);
  }

  async read(t: Tensor): Promise<Float32Array> {
    return (await this.readAll([t]))[0]!;
  }

  /** One round trip for all of them (runtime.readbacks counts round trips). */
  async readAll(ts: readonly Tensor[]): Promise<Float32Array[]> {
    const gs = ts.map(gpu);
    const parts = await this.runtime.readMany(gs.map((g) => ({ buffer: g.buffer, bytes: g.bytes, offset: g.offset })));
    return gs.map((g, i) => this.decode(g, parts[i]!));
  }

  private decode(g: GpuTensor, bytes: ArrayBuffer): Float32Array {
    if (g.format === 'bf16') {
      const bits = new Uint16Array(bytes, 0, g.size);
      const out = new Uint32Array(g.size);
      for (let i = 0; i < g.size; i++) out[i] = bits[i]! << 16;
      return new Float32Array(out.buffer);
    }
    if (g.format === 'f16') {
      const bits = new Uint16Array(bytes, 0, g.size);
      const out = new Float32Array(g.size);
      for (let i = 0; i < g.size; i++) out[i] = f16Value(bits[i]!);
      return out;
    }
    return g.dtype === 'i32' ? Float32Array.from(new Int32Array(bytes)) : new Float32Array(bytes);
  }

  fill(t: Tensor, value: number): void {
    ew.fill(this.runtime, this.plain(t), value);
  }

  copy(dst: Tensor, src: Tensor): void {
    check(dst.size === src.size, 'copy', () => `${shapeOf(src)} into ${shapeOf(dst)}`);
    const d = this.plain(dst), s = this.plain(src);
    if (d.buffer !== s.buffer) this.runtime.copy(d.buffer, s.buffer, s.bytes, d.offset, s.offset);
    else if (d.offset !== s.offset) {
      // WebGPU copies never stay within one buffer: two slices of it go through a scratch buffer
      const scratch = this.runtime.allocate(s.bytes, 'copy');
      this.runtime.copy(scratch, s.buffer, s.bytes, 0, s.offset);
      this.runtime.copy(d.buffer, scratch, s.bytes, d.offset, 0);
      this.runtime.release(scratch);
    }
  }

  reshape(t: Tensor, shape: readonly number[]): Tensor {
    const g = gpu(t);
    check(shapeSize(shape) === g.size, 'reshape', () => `${shapeOf(g)} to [${shape.join(',')}]`);
    g.storage.refs++;
    return new GpuTensor(shape, g.dtype, g.storage, g.offset);
  }

  slice(t: Tensor, offset: number, shape: readonly number[]): Tensor {
    const g = this.plain(t); // a slice of a bf16 weight would not start on a whole element pair
    const size = shapeSize(shape);
    check(Number.isInteger(offset) && offset >= 0 && offset % SLICE_ALIGN === 0 && offset + size <= g.size, 'slice',
      () => `[${offset}, ${offset + size}) of ${shapeOf(g)} (offsets are multiples of ${SLICE_ALIGN})`);
    g.storage.refs++;
    return new GpuTensor(shape, g.dtype, g.storage, g.offset + offset * 4);
  }

  /** Drops a handle; the buffer returns to the pool when its last handle (reshapes included) is freed. */
  free(t: Tensor): void {
    const g = gpu(t);
    if (g.storage.freed || --g.storage.refs > 0) return;
    g.storage.freed = true;
    this.runtime.release(g.storage.buffer);
  }

  dispose(): void {
    this.runtime.dispose();
  }

  // ─── elementwise ─────────────────────────────────────────────────────────────────────────

  add(out: Tensor, a: Tensor, b: Tensor): void {
    check(out.size === a.size && a.size === b.size, 'add', () => `${shapeOf(out)} = ${shapeOf(a)} + ${shapeOf(b)}`);
    ew.add(this.runtime, this.plain(out), this.plain(a), this.plain(b));
  }

  axpy(y: Tensor, alpha: number, x: Tensor): void {
    check(y.size === x.size, 'axpy', () => `${shapeOf(y)} += α·${shapeOf(x)}`);
    ew.axpy(this.runtime, this.plain(y), alpha, this.plain(x));
  }

  scale(out: Tensor, a: Tensor, s: number): void {
    check(out.size === a.size, 'scale', () => `${shapeOf(out)} = s·${shapeOf(a)}`);
    ew.scale(this.runtime, this.plain(out), this.plain(a), s);
  }

  addBias(y: Tensor, bias: Tensor): void {
    check(bias.shape.length === 1 && y.shape[y.shape.length - 1] === bias.size, 'addBias', () => `${shapeOf(y)} += bias ${shapeOf(bias)}`);
    ew.addBias(this.runtime, this.plain(y), this.plain(bias));
  }

  // ─── linear layers ───────────────────────────────────────────────────────────────────────

  linearForward(out: Tensor, x: Tensor, w: Tensor, accumulate = false, scale = 1): void {
    const [o, i] = this.weightShape('linearForward', w);
    const n = x.size / i;
    check(Number.isInteger(n) && out.size === n * o, 'linearForward', () => `out ${shapeOf(out)} = x ${shapeOf(x)} · w ${shapeOf(w)}ᵀ`);
    matmul(this.runtime, this.plain(out), this.plain(x), gpu(w), n, o, i, { a: 'mk', b: 'nk' }, scale, accumulate, this.matmulVariant, this.productOptions(false));
  }

  linearBackwardInput(dx: Tensor, dout: Tensor, w: Tensor, scale = 1): void {
    const [o, i] = this.weightShape('linearBackwardInput', w);
    const n = dout.size / o;
    check(Number.isInteger(n) && dx.size === n * i, 'linearBackwardInput', () => `dx ${shapeOf(dx)} += dout ${shapeOf(dout)} · w ${shapeOf(w)}`);
    matmul(this.runtime, this.plain(dx), this.plain(dout), gpu(w), n, i, o, { a: 'mk', b: 'kn' }, scale, true, this.matmulVariant, this.productOptions(true));
  }

  linearBackwardWeight(dw: Tensor, dout: Tensor, x: Tensor, scale = 1): void {
    const [o, i] = this.weightShape('linearBackwardWeight', dw);
    const n = dout.size / o;
    check(Number.isInteger(n) && x.size === n * i, 'linearBackwardWeight', () => `dw ${shapeOf(dw)} += dout ${shapeOf(dout)}ᵀ · x ${shapeOf(x)}`);
    matmul(this.runtime, this.plain(dw), this.plain(dout), this.plain(x), o, i, n, { a: 'km', b: 'kn' }, scale, true, this.matmulVariant, this.productOptions(true));
  }

  // ─── embedding ───────────────────────────────────────────────────────────────────────────

  embeddingForward(out: Tensor, ids: Tensor, table: Tensor): void {
    check(ids.dtype === 'i32' && table.shape.length === 2 && out.size === ids.size * table.shape[1]!, 'embeddingForward', () => `out ${shapeOf(out)}, ids ${shapeOf(ids)}, table ${shapeOf(table)}`);
    embeddingForward(this.runtime, this.plain(out), this.plain(ids), gpu(table));
  }

  embeddingBackward(dtable: Tensor, dout: Tensor, ids: Tensor): void {
    check(ids.dtype === 'i32' && dtable.shape.length === 2 && dout.size === ids.size * dtable.shape[1]!, 'embeddingBackward', () => `dtable ${shapeOf(dtable)}, dout ${shapeOf(dout)}, ids ${shapeOf(ids)}`);
    embeddingBackward(this.runtime, this.plain(dtable), this.plain(dout), this.plain(ids));
  }

  // ─── normalisation ───────────────────────────────────────────────────────────────────────

  rmsnormForward(out: Tensor, rstd: Tensor, x: Tensor, w: Tensor, eps: number): void {
    check(out.size === x.size && x.size === rstd.size * w.size, 'rmsnormForward', () => `out ${shapeOf(out)}, rstd ${shapeOf(rstd)}, x ${shapeOf(x)}, w ${shapeOf(w)}`);
    rmsnormForward(this.runtime, this.plain(out), this.plain(rstd), this.plain(x), this.plain(w), eps);
  }

  rmsnormBackward(dx: Tensor, dw: Tensor | null, dout: Tensor, x: Tensor, w: Tensor, rstd: Tensor): void {
    check(dx.size === x.size && dout.size === x.size && x.size === rstd.size * w.size && (!dw || dw.size === w.size), 'rmsnormBackward', () => `dx ${shapeOf(dx)}, x ${shapeOf(x)}, w ${shapeOf(w)}, rstd ${shapeOf(rstd)}`);
    rmsnormBackward(this.runtime, this.plain(dx), dw ? this.plain(dw) : null, this.plain(dout), this.plain(x), this.plain(w), this.plain(rstd));
  }

  // ─── rotary position embedding ───────────────────────────────────────────────────────────

  ropeForward(out: Tensor, x: Tensor, pos: Tensor, cos: Tensor, sin: Tensor): void {
    this.checkRope('ropeForward', out, x, pos, cos, sin);
    ropeForward(this.runtime, this.plain(out), this.plain(x), this.plain(pos), this.plain(cos), this.plain(sin));
  }

  ropeBackward(dx: Tensor, dout: Tensor, pos: Tensor, cos: Tensor, sin: Tensor): void {
    this.checkRope('ropeBackward', dx, dout, pos, cos, sin);
    ropeBackward(this.runtime, this.plain(dx), this.plain(dout), this.plain(pos), this.plain(cos), this.plain(sin));
  }

  // ─── attention ───────────────────────────────────────────────────────────────────────────

  attentionForward(out: Tensor, probs: Tensor, q: Tensor, k: Tensor, v: Tensor): void {
    check(out.size === q.size && k.size === v.size, 'attentionForward', () => `out ${shapeOf(out)}, q ${shapeOf(q)}, k ${shapeOf(k)}, v ${shapeOf(v)}`);
    attentionForward(this.runtime, this.plain(out), this.plain(probs), this.plain(q), this.plain(k), this.plain(v), this.attentionVariant);
  }

  attentionBackward(dq: Tensor, dk: Tensor, dv: Tensor, dout: Tensor, probs: Tensor, q: Tensor, k: Tensor, v: Tensor): void {
    check(dq.size === q.size && dout.size === q.size && dk.size === k.size && dv.size === v.size, 'attentionBackward', () => `dq ${shapeOf(dq)}, dk ${shapeOf(dk)}, dv ${shapeOf(dv)}, q ${shapeOf(q)}, k ${shapeOf(k)}`);
    attentionBackward(this.runtime, this.plain(dq), this.plain(dk), this.plain(dv), this.plain(dout), this.plain(probs), this.plain(q), this.plain(k), this.plain(v), this.attentionVariant);
  }

  // ─── MLP ─────────────────────────────────────────────────────────────────────────────────

  swigluForward(out: Tensor, gate: Tensor, up: Tensor): void {
    check(out.size === gate.size && gate.size === up.size, 'swigluForward', () => `${shapeOf(out)}, ${shapeOf(gate)}, ${shapeOf(up)}`);
    ew.swigluForward(this.runtime, this.plain(out), this.plain(gate), this.plain(up));
  }

  swigluBackward(dgate: Tensor, dup: Tensor, dout: Tensor, gate: Tensor, up: Tensor): void {
    check(dgate.size === gate.size && dup.size === up.size && dout.size === gate.size && gate.size === up.size, 'swigluBackward', () => `${shapeOf(dgate)}, ${shapeOf(dup)}, ${shapeOf(dout)}`);
    ew.swigluBackward(this.runtime, this.plain(dgate), this.plain(dup), this.plain(dout), this.plain(gate), this.plain(up));
  }

  // ─── loss ────────────────────────────────────────────────────────────────────────────────

  crossEntropyForward(losses: Tensor, logits: Tensor, targets: Tensor): void {
    check(targets.dtype === 'i32' && losses.size === targets.size && logits.size % targets.size === 0, 'crossEntropyForward', () => `losses ${shapeOf(losses)}, logits ${shapeOf(logits)}, targets ${shapeOf(targets)}`);
    crossEntropyForward(this.runtime, this.plain(losses), this.plain(logits), this.plain(targets));
  }

  crossEntropyBackward(dlogits: Tensor, dlosses: Tensor, logits: Tensor, targets: Tensor): void {
    check(targets.dtype === 'i32' && dlosses.size === targets.size && dlogits.size === logits.size && logits.size % targets.size === 0, 'crossEntropyBackward', () => `dlogits ${shapeOf(dlogits)}, dlosses ${shapeOf(dlosses)}, logits ${shapeOf(logits)}`);
    crossEntropyBackward(this.runtime, this.plain(dlogits), this.plain(dlosses), this.plain(logits), this.plain(targets));
  }

  // ─── regularisation ──────────────────────────────────────────────────────────────────────

  dropoutForward(out: Tensor, x: Tensor, p: number, seed: number): void {
    check(out.size === x.size && p >= 0 && p < 1, 'dropoutForward', () => `${shapeOf(out)}, ${shapeOf(x)}, p=${p}`);
    ew.dropoutForward(this.runtime, this.plain(out), this.plain(x), p, seed);
  }

  dropoutBackward(dx: Tensor, dout: Tensor, p: number, seed: number): void {
    check(dx.size === dout.size && p >= 0 && p < 1, 'dropoutBackward', () => `${shapeOf(dx)}, ${shapeOf(dout)}, p=${p}`);
    ew.dropoutBackward(this.runtime, this.plain(dx), this.plain(dout), p, seed);
  }

  // ─── optimizer ───────────────────────────────────────────────────────────────────────────

  /** Read back and summed on the host in float64, index order: exactly the CPU backend's value. */
  async sumSquares(t: Tensor): Promise<number> {
    const data = await this.read(t);
    let s = 0;
    for (let i = 0; i < data.length; i++) s += data[i]! * data[i]!;
    return s;
  }

  adamwUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hp: AdamWStep): void {
    check(param.size === grad.size && grad.size === m.size && m.size === v.size, 'adamwUpdate', () => `${shapeOf(param)}, ${shapeOf(grad)}, ${shapeOf(m)}, ${shapeOf(v)}`);
    ew.adamwUpdate(this.runtime, this.plain(param), this.plain(grad), this.plain(m), this.plain(v), hp);
  }

  // ─── helpers ─────────────────────────────────────────────────────────────────────────────

  /** Precision of a linear layer's product; at f16 a gradient A operand (dout) is scaled (F16_GRAD_SCALE). */
  private productOptions(gradientA: boolean): MatmulOptions {
    return { precision: this.precision, scales: { a: gradientA ? F16_GRAD_SCALE : 1, b: 1 } };
  }

  private alloc(shape: readonly number[], dtype: DType): GpuTensor {
    const size = shapeSize(shape);
    const buffer = this.runtime.allocate(size * 4, `tensor[${shape.join(',')}]`);
    return new GpuTensor(shape, dtype, { buffer, refs: 1, freed: false, format: 'f32' });
  }

  /** Our tensor in f32 storage: a bf16 or f16 storage (shared by every view) is widened in place. */
  private plain(t: Tensor): GpuTensor {
    const g = gpu(t);
    if (g.format === 'f16') {
      const st = g.storage;
      const packed = { buffer: g.buffer, bytes: g.bytes, format: 'f16' as const };
      const buffer = this.runtime.allocate(g.size * 4, `tensor[${g.shape.join(',')}]`);
      widenF16(this.runtime, { buffer, bytes: g.size * 4 }, packed, g.size);
      this.runtime.release(packed.buffer);
      st.buffer = buffer;
      st.format = 'f32';
    }
    if (g.format === 'bf16') {
      const st = g.storage;
      const packed = { buffer: g.buffer, bytes: g.bytes, format: 'bf16' as const };
      const buffer = this.runtime.allocate(g.size * 4, `tensor[${g.shape.join(',')}]`);
      ew.widenBf16(this.runtime, { buffer, bytes: g.size * 4 }, packed, g.size);
      this.runtime.release(packed.buffer);
      st.buffer = buffer;
      st.format = 'f32';
    }
    return g;
  }

  private weightShape(op: string, w: Tensor): [number, number] {
    check(w.shape.length === 2, op, () => `weight must be 2-D [out,in], got ${shapeOf(w)}`);
    return [w.shape[0]!, w.shape[1]!];
  }

  private checkRope(op: string, out: Tensor, x: Tensor, pos: Tensor, cos: Tensor, sin: Tensor): void {
    const half = cos.shape[cos.shape.length - 1] ?? 0;
    check(pos.dtype === 'i32' && out.size === x.size && cos.size === sin.size && half > 0 && x.size % (pos.size * 2 * half) === 0, op,
      () => `out ${shapeOf(out)}, x ${shapeOf(x)}, pos ${shapeOf(pos)}, cos ${shapeOf(cos)}`);
  }
}

/**
 * Acquires a WebGPU device and returns the backend on it; logs the adapter. Throws a FlockError
 * naming what to try when there is no adapter or no device.
 */
export async function createWebGpuBackend(log: Logger = silentLogger, options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const wantProfile = options.profile ?? profileRequested();
  const wantPrecision = options.precision ?? precisionFromEnv();
  const wantMatmul = options.matmul ?? matmulVariantFromEnv();
  const wantSubgroupMatrix = wantMatmul === 'subgroup-matrix';
  const { device, adapter } = await acquireDevice({ timestamps: wantProfile, f16: wantPrecision === 'f16', subgroupMatrix: wantSubgroupMatrix && !options.subgroupMatrixKernel });
  const profile = wantProfile && device.features.has('timestamp-query');
  if (wantProfile && !profile) log.warning(`webgpu: ${adapterName(adapter)} has no timestamp queries: no kernel profile`);
  let precision = wantPrecision;
  if (precision === 'f16' && !device.features.has('shader-f16')) {
    log.warning(`webgpu: ${adapterName(adapter)} has no shader-f16: computing in f32 (--precision f16 needs it)`);
    precision = 'f32';
  }
  log.info(`webgpu: using ${adapterName(adapter)}`, { shaderF16: adapter.shaderF16, precision });
  const backend = new WebGpuBackend(new GpuRuntime(device, adapter, log, profile), { ...options, precision, matmul: wantSubgroupMatrix ? 'auto' : wantMatmul, log: options.log ?? log });
  if (wantSubgroupMatrix) await backend.enableSubgroupMatrix(options.subgroupMatrixKernel);
  return backend;
}
