/**
 * Peak device memory of LoRA training on a preset's real shapes, without a GPU: the engine's own
 * model code (llama.ts, lora.ts) runs one training micro-step and one AdamW step against a backend
 * that only accounts memory — every op is a no-op, every tensor a size — with the WebGPU backend's
 * pool rules (size classes rounded to 256 bytes, freed buffers reused). Scratch the WebGPU kernels
 * allocate themselves (attention's dS, [B,NH,T,T]; split-K partial sums, as the 'auto' choice
 * takes them) is added.
 *
 *   npx tsx bench/webgpu-memory.ts [--preset llama-3.2-1b] [--seq 512]
 *
 * Prints the peak for frozen weights kept f32 and kept bf16 (WebGpuBackend.fromBf16). Not a
 * measurement of a GPU: the figure a GPU run should reproduce with bench/webgpu.ts.
 */
import { shapeSize, type AdamWStep, type Backend, type DType, type Tensor } from '../src/engine/backend/backend.js';
import type { LlamaConfig } from '../src/engine/config.js';
import { LlamaModel, type LlamaWeights } from '../src/engine/llama.js';
import { Lora } from '../src/engine/lora.js';
import { PRESETS } from '../src/engine/presets.js';
import { formatBytes } from '../src/engine/backend/webgpu/runtime.js';
import { splitsFor } from '../src/engine/backend/webgpu/kernels/matmul.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

class SizeTensor implements Tensor {
  readonly size: number;
  constructor(readonly shape: readonly number[], readonly dtype: DType, readonly store: { bytes: number; refs: number }) {
    this.size = shapeSize(shape);
  }
}

/** A Backend that computes nothing and accounts device memory as the WebGPU pool would. */
class MemoryBackend implements Backend {
  readonly name = 'memory';
  identity() { return { backend: this.name, kernels: {}, device: null }; }
  allocated = 0;
  peak = 0;
  private readonly free_ = new Map<number, number>();

  alloc(shape: readonly number[], dtype: DType, bytesPerElement = 4): SizeTensor {
    const bytes = Math.max(256, Math.ceil((shapeSize(shape) * bytesPerElement) / 256) * 256);
    const pooled = this.free_.get(bytes) ?? 0;
    if (pooled > 0) this.free_.set(bytes, pooled - 1);
    else {
      this.allocated += bytes;
      this.peak = Math.max(this.peak, this.allocated);
    }
    return new SizeTensor(shape, dtype, { bytes, refs: 1 });
  }
  /** A scratch buffer a kernel takes and returns at once (attention dS, split-K partials). */
  scratch(bytes: number): void {
    const t = this.alloc([bytes / 4], 'f32');
    this.free(t);
  }
  zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor { return this.alloc(shape, dtype); }
  fromArray(data: Float32Array | Int32Array, shape: readonly number[]): Tensor { return this.alloc(shape, data instanceof Int32Array ? 'i32' : 'f32'); }
  write(): void {}
  async read(t: Tensor): Promise<Float32Array> { return new Float32Array(t.size); }
  fill(): void {}
  copy(): void {}
  reshape(t: Tensor, shape: readonly number[]): Tensor {
    const s = (t as SizeTensor).store;
    s.refs++;
    return new SizeTensor(shape, t.dtype, s);
  }
  slice(t: Tensor, _offset: number, shape: readonly number[]): Tensor {
    const s = (t as SizeTensor).store;
    s.refs++;
    return new SizeTensor(shape, t.dtype, s);
  }
  async readAll(ts: readonly Tensor[]): Promise<Float32Array[]> { return ts.map((t) => new Float32Array(t.size)); }
  free(t: Tensor): void {
    const s = (t as SizeTensor).store;
    if (--s.refs > 0) return;
    this.free_.set(s.bytes, (this.free_.get(s.bytes) ?? 0) + 1);
  }
  dispose(): void {}
  add(): void {}
  axpy(): void {}
  scale(): void {}
  addBias(): void {}
  linearForward(_out: Tensor, x: Tensor, w: Tensor): void { this.splitK(x.size / w.shape[1]!, w.shape[0]!, w.shape[1]!); }
  linearBackwardInput(_dx: Tensor, dout: Tensor, w: Tensor): void { this.splitK(dout.size / w.shape[0]!, w.shape[1]!, w.shape[0]!); }
  linearBackwardWeight(dw: Tensor, dout: Tensor): void { this.splitK(dw.shape[0]!, dw.shape[1]!, dout.size / dw.shape[0]!); }
  /** The split-K partial sums the WebGPU matmul takes for this shape, as its 'auto' choice does. */
  private splitK(m: number, n: number, k: number): void {
    const splits = Math.min(splitsFor(m, n, k, 'auto'), Math.ceil(k / 16));
    if (splits <= 1) return;
    const used = Math.ceil(k / (Math.ceil(k / splits / 16) * 16));
    this.scratch(used * m * n * 4);
  }
  embeddingForward(): void {}
  embeddingBackward(): void {}
  rmsnormForward(): void {}
  rmsnormBackward(): void {}
  ropeForward(): void {}
  ropeBackward(): void {}
  attentionForward(): void {}
  attentionBackward(_dq: Tensor, _dk: Tensor, _dv: Tensor, _dout: Tensor, probs: Tensor): void { this.scratch(probs.size * 4); }
  swigluForward(): void {}
  swigluBackward(): void {}
  crossEntropyForward(): void {}
  crossEntropyBackward(): void {}
  dropoutForward(): void {}
  dropoutBackward(): void {}
  async sumSquares(): Promise<number> { return 0; }
  adamwUpdate(_p: Tensor, _g: Tensor, _m: Tensor, _v: Tensor, _hp: AdamWStep): void {}
}

async function peakFor(config: LlamaConfig, T: number, weightBytes: number): Promise<{ peak: number; weights: number }> {
  const be = new MemoryBackend();
  const w = (shape: number[]) => be.alloc(shape, 'f32', weightBytes);
  const { hiddenSize: H, intermediateSize: F, numHeads: NH, numKvHeads: KV, headDim: D, vocabSize: V } = config;
  const embed = w([V, H]);
  const weights: LlamaWeights = {
    embed,
    layers: Array.from({ length: config.numLayers }, () => ({
      inputNorm: be.alloc([H], 'f32'), q: w([NH * D, H]), k: w([KV * D, H]), v: w([KV * D, H]), o: w([H, NH * D]),
      postNorm: be.alloc([H], 'f32'), gate: w([F, H]), up: w([F, H]), down: w([H, F]),
    })),
    norm: be.alloc([H], 'f32'),
    lmHead: config.tieWordEmbeddings ? embed : w([V, H]),
  };
  const weightsBytes = be.allocated;
  const model = new LlamaModel(be, config, weights);
  const lora = Lora.create(be, config, { rank: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'v_proj'] }, 1);
  const moments = lora.parameters().map(({ param }) => [be.zeros(param.shape), be.zeros(param.shape)]);
  const ids = new Int32Array(T), labels = new Int32Array(T).fill(1);
  for (let step = 0; step < 2; step++) {
    const acts = model.forward(ids, labels, { lora, train: true, dropoutKey: step });
    model.backward(acts, new Float32Array(T));
    model.release(acts);
    lora.parameters().forEach(({ param, grad }, i) => be.adamwUpdate(param, grad, moments[i]![0]!, moments[i]![1]!, { lr: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 }));
  }
  return { peak: be.peak, weights: weightsBytes };
}

const preset = arg('preset', 'llama-3.2-1b') as keyof typeof PRESETS;
const T = Number(arg('seq', '512'));
const config: LlamaConfig = { ...PRESETS[preset], maxPositionEmbeddings: Math.max(T, 64) };
console.log(`# ${preset}, LoRA r4 on q,v, sequence ${T}, batch 1: peak device memory of one training step (WebGPU pool rules)`);
for (const [label, bytes] of [['f32 weights', 4], ['bf16 weights', 2]] as const) {
  const r = await peakFor(config, T, bytes);
  console.log(JSON.stringify({ preset, seq: T, frozenWeights: label, weights: formatBytes(r.weights), peak: formatBytes(r.peak), peakBytes: r.peak }));
}
