/**
 * Peak device memory of training or evaluation on the WebGPU backend, on paper: from the model's
 * shape, the sequence length, the LoRA recipe, how frozen weights are stored and what the forward
 * pass keeps for backward (llama.ts, `ActivationMode`).
 *
 * What it predicts is what the backend's buffer pool reports as `peakAllocated`
 * (`WebGpuBackend.memory()`): every buffer rounded up to 256 bytes, and a freed buffer reused only
 * by a request of the same rounded size, never given back. So the pool's peak is, for each size,
 * the most buffers of that size alive at once, summed over sizes. The estimator lists which
 * tensors are alive at each moment that can hold such a maximum (the end of the forward pass, the
 * head's backward, each step of the top layer's backward) — mirroring the allocation order of
 * llama.ts — and sums the per-size maxima. Split-K partial sums and attention's dS are scratch
 * a kernel takes and returns at once (one buffer of each size).
 *
 * Not counted: the uniform arena (256 KiB), readback staging buffers, pipelines, and what Dawn
 * and the driver keep themselves. Sequences of several lengths each leave buffers of their sizes
 * in the pool; the figure is for sequences of one length, the longest.
 *
 * Batch size and gradient accumulation do not change it: the trainer runs one sequence at a time
 * and sums gradients in place (train.ts).
 */
import { LORA_TARGETS, projectionDims, type LoraTarget } from './adapter.js';
import { alignSlice } from './backend/backend.js';
import type { ActivationMode } from './llama.js';
import type { LlamaConfig } from './config.js';
import { hasQkvBias } from './config.js';
import { splitKPartialBytes, type MatmulVariant } from './backend/webgpu/kernels/matmul.js';
import { COMPACT_MIN_ELEMENTS } from './backend/webgpu/backend.js';

/**
 * How frozen weights are stored: 'f32', or two bytes a value ('bf16' for a bf16 checkpoint at f32
 * precision, 'f16' at f16 precision; WebGpuBackend.fromArray), which applies to 2-D weights of at
 * least COMPACT_MIN_ELEMENTS values.
 */
export type WeightStorage = 'f32' | 'bf16' | 'f16';

export interface MemoryPlan {
  config: LlamaConfig;
  /** Tokens of the (longest) sequence. */
  seqLen: number;
  lora: { rank: number; dropout: number; targets: readonly string[] };
  weights: WeightStorage;
  /** 'train': forward, backward and AdamW; 'eval': forward only (activations discarded). */
  phase: 'train' | 'eval';
  /** What training keeps for backward (default 'keep'); evaluation keeps nothing. */
  activations?: Exclude<ActivationMode, 'discard'>;
  /** The matmul variant, for split-K scratch (default 'auto'). */
  matmul?: MatmulVariant;
}

/** Peak bytes, and what they hold. The parts sum to `total`. */
export interface MemoryEstimate {
  /** The pool's peak (`peakAllocated`). */
  total: number;
  /** Frozen base weights (norms and biases f32, big matrices as `weights` says). */
  frozenWeights: number;
  /** RoPE cos/sin tables, [max_position_embeddings, head_dim/2] each. */
  ropeTables: number;
  /** LoRA weights and gradients, plus AdamW's two moments in training. */
  lora: number;
  /** What the forward pass keeps for backward (every layer's activations, or each layer's input). */
  activations: number;
  /** The [T, vocab] logits, and in training their gradient. */
  logits: number;
  /** The rest: one layer's backward temporaries (and recomputed activations), attention's dS, split-K partials, token ids. */
  scratch: number;
}

/** Bytes of a pool buffer holding `bytes` bytes (runtime.ts: multiples of 256, at least 256). */
export function poolBytes(bytes: number): number {
  return Math.max(256, Math.ceil(bytes / 256) * 256);
}

const f32 = (elements: number) => poolBytes(elements * 4);

/** A multiset of live buffers (pool sizes), by category. */
class Live {
  readonly buffers: { bytes: number; part: keyof Omit<MemoryEstimate, 'total'> }[] = [];
  add(part: keyof Omit<MemoryEstimate, 'total'>, ...elements: number[]): this {
    for (const e of elements) this.buffers.push({ bytes: f32(e), part });
    return this;
  }
  with(other: Live): Live {
    const l = new Live();
    l.buffers.push(...this.buffers, ...other.buffers);
    return l;
  }
  bytes(part: keyof Omit<MemoryEstimate, 'total'>): number {
    return this.buffers.filter((b) => b.part === part).reduce((s, b) => s + b.bytes, 0);
  }
}

/** Elements of the flat LoRA buffer (lora.ts's layout: each matrix starts on a SLICE_ALIGN boundary). */
export function loraFlatElements(config: LlamaConfig, rank: number, targets: readonly string[]): number {
  let end = 0;
  for (let layer = 0; layer < config.numLayers; layer++) {
    for (const module of LORA_TARGETS.filter((t) => targets.includes(t))) {
      const { inFeatures, outFeatures } = projectionDims(config, module);
      end = alignSlice(alignSlice(end + rank * inFeatures) + outFeatures * rank);
    }
  }
  return Math.max(end, 1);
}

/** Bytes of the frozen weights as WebGpuBackend stores them. */
export function frozenWeightBytes(config: LlamaConfig, storage: WeightStorage): number {
  const c = config;
  const H = c.hiddenSize, NH = c.numHeads, KV = c.numKvHeads, D = c.headDim, F = c.intermediateSize, V = c.vocabSize;
  const matrix = (rows: number, cols: number) => {
    const n = rows * cols;
    return storage !== 'f32' && n >= COMPACT_MIN_ELEMENTS ? poolBytes(Math.ceil(n / 2) * 4) : f32(n);
  };
  const perLayer = 2 * f32(H) + matrix(NH * D, H) + 2 * matrix(KV * D, H) + matrix(H, NH * D) + 2 * matrix(F, H) + matrix(H, F) +
    (hasQkvBias(c) ? f32(NH * D) + 2 * f32(KV * D) : 0);
  return matrix(V, H) * (c.tieWordEmbeddings ? 1 : 2) + f32(H) + c.numLayers * perLayer;
}

/**
 * The peak device bytes of `plan` on the WebGPU backend, broken down.
 *
 * @example
 * const e = estimateMemory({ config: PRESETS['llama-3.2-1b'], seqLen: 512, lora: RECIPE_V1.lora, weights: 'bf16', phase: 'train' });
 * e.total; // bytes
 */
export function estimateMemory(plan: MemoryPlan): MemoryEstimate {
  const c = plan.config;
  const T = plan.seqLen;
  const H = c.hiddenSize, NH = c.numHeads, KV = c.numKvHeads, D = c.headDim, F = c.intermediateSize, V = c.vocabSize, L = c.numLayers;
  const R = plan.lora.rank;
  const train = plan.phase === 'train';
  const mode: ActivationMode = train ? plan.activations ?? 'keep' : 'discard';
  const variant = plan.matmul ?? 'auto';
  const targets = new Set(LORA_TARGETS.filter((t) => plan.lora.targets.includes(t)));
  const dropout = train && plan.lora.dropout > 0;
  const dims = (m: LoraTarget) => projectionDims(c, m);

  // ─── always alive ───
  const persistent = new Live();
  persistent.buffers.push({ bytes: frozenWeightBytes(c, plan.weights), part: 'frozenWeights' });
  persistent.add('ropeTables', c.maxPositionEmbeddings * (D / 2), c.maxPositionEmbeddings * (D / 2));
  const flat = loraFlatElements(c, R, [...targets]);
  persistent.add('lora', flat, flat, ...(train ? [flat, flat] : [])); // weights, gradients (+ AdamW m, v)
  if (train) persistent.add('scratch', T); // the trainer's per-position loss sums
  persistent.add('scratch', T, T, T); // ids, labels, positions

  // ─── one layer's forward (llama.ts layerForward): what it allocates besides its input and output ───
  const lora = (m: LoraTarget, into: Live) => {
    if (!targets.has(m)) return;
    if (dropout) into.add('activations', T * dims(m).inFeatures);
    into.add('activations', T * R);
  };
  const layerActs = () => {
    const l = new Live().add('activations', T * H, T, T * NH * D, T * KV * D, T * KV * D);
    lora('q_proj', l); lora('k_proj', l); lora('v_proj', l);
    l.add('activations', T * NH * D, NH * T * T);
    lora('o_proj', l);
    l.add('activations', T * H, T * H, T, T * F, T * F, T * F);
    lora('gate_proj', l); lora('up_proj', l); lora('down_proj', l);
    return l;
  };
  // one layer's forward at its end: its activations and the MLP output before the residual add (its input and output aside)
  const layerWork = (part: 'activations' | 'scratch') => {
    const l = new Live();
    for (const b of layerActs().buffers) l.buffers.push({ bytes: b.bytes, part });
    return l.add('scratch', T * H);
  };

  // ─── the forward pass, at the end of the last layer ───
  const kept = new Live();
  let endOfLastLayer: Live;
  if (mode === 'keep') {
    kept.add('activations', T * H); // the embedding output
    for (let l = 0; l < L; l++) kept.buffers.push(...layerActs().buffers, { bytes: f32(T * H), part: 'activations' });
    endOfLastLayer = kept.with(new Live().add('scratch', T * H));
  } else if (mode === 'recompute') {
    for (let l = 0; l <= L; l++) kept.add('activations', T * H); // each layer's input, and the last output
    endOfLastLayer = kept.with(layerWork('scratch'));
  } else {
    kept.add('activations', T * H); // the residual stream only
    endOfLastLayer = kept.with(layerWork('scratch')).add('scratch', T * H); // + the last layer's input
  }
  const head = new Live().add('scratch', T * H, T).add('logits', T * V).add('scratch', T);
  const snapshots: Live[] = [persistent.with(endOfLastLayer), persistent.with(kept).with(head)];
  const layerBackward: Live[] = []; // the moments of the top layer's backward where its products run

  if (train) {
    snapshots.push(persistent.with(kept).with(head).add('scratch', T).add('logits', T * V).add('scratch', T * H, T * H));
    // the top layer's backward, step by step; after a 'recompute' forward its activations are made again first
    let base = persistent.with(kept).with(head).add('scratch', T * H); // + dx
    if (mode === 'recompute') {
      snapshots.push(base.with(layerWork('scratch')).add('scratch', T * H)); // + the recomputed output
      base = base.with(layerWork('scratch')); // the MLP output is freed, the recomputed output lives on: one [T,H] either way
    }
    const projTemps = (m: LoraTarget) => {
      const l = new Live();
      if (!targets.has(m)) return l;
      l.add('scratch', T * R);
      if (dropout) l.add('scratch', T * dims(m).inFeatures);
      return l;
    };
    const mlp = base.with(new Live().add('scratch', T * F));
    snapshots.push(mlp.with(projTemps('down_proj')));
    const mlp2 = mlp.with(new Live().add('scratch', T * F, T * F, T * H));
    snapshots.push(mlp2.with(projTemps('gate_proj')), mlp2.with(projTemps('up_proj')));
    const att = mlp2.with(new Live().add('scratch', T * NH * D));
    snapshots.push(att.with(projTemps('o_proj')));
    const att2 = att.with(new Live().add('scratch', T * NH * D, T * KV * D, T * KV * D));
    snapshots.push(att2.with(new Live().add('scratch', NH * T * T))); // attention's dS
    layerBackward.push(att.with(projTemps('o_proj')));
    const qkv = att2.with(new Live().add('scratch', T * NH * D, T * KV * D, ...(L > 1 ? [T * H] : [])));
    for (const m of ['q_proj', 'k_proj', 'v_proj'] as const) {
      snapshots.push(qkv.with(projTemps(m)));
      layerBackward.push(qkv.with(projTemps(m)));
    }
    layerBackward.push(mlp.with(projTemps('down_proj')), mlp2.with(projTemps('gate_proj')), mlp2.with(projTemps('up_proj')));
  }

  // ─── the pool's peak: per size, the most buffers alive at once ───
  const maxCount = new Map<number, number>();
  const countIn = (s: Live) => {
    const counts = new Map<number, number>();
    for (const b of s.buffers) counts.set(b.bytes, (counts.get(b.bytes) ?? 0) + 1);
    return counts;
  };
  for (const s of snapshots) for (const [bytes, n] of countIn(s)) maxCount.set(bytes, Math.max(maxCount.get(bytes) ?? 0, n));
  // a partial-sum buffer comes on top of the buffers of its size alive around its product: a
  // layer's forward products at the end of the last layer, the head's at the head, the layer's
  // backward products at the top layer's fullest moment (attention's dS is gone by then)
  const sizes = splitKSizes(c, T, R, targets, train, variant);
  const onTop = (products: Set<number>, around: Live[]) => {
    const counts = around.map(countIn);
    for (const bytes of products) maxCount.set(bytes, Math.max(maxCount.get(bytes) ?? 0, 1 + Math.max(0, ...counts.map((m) => m.get(bytes) ?? 0))));
  };
  onTop(sizes.layerForward, [snapshots[0]!]);
  onTop(sizes.headForward, [snapshots[1]!]);
  if (train) {
    onTop(sizes.headBackward, [snapshots[2]!]);
    onTop(sizes.layerBackward, layerBackward);
  }
  let total = 0;
  for (const [bytes, n] of maxCount) total += bytes * n;

  const peakOf = (part: keyof Omit<MemoryEstimate, 'total'>) => Math.max(...snapshots.map((s) => s.bytes(part)));
  const frozenWeights = persistent.bytes('frozenWeights');
  const ropeTables = persistent.bytes('ropeTables');
  const loraBytes = persistent.bytes('lora');
  const activations = mode === 'discard' ? 0 : kept.bytes('activations');
  const logits = peakOf('logits');
  return { total, frozenWeights, ropeTables, lora: loraBytes, activations, logits, scratch: total - frozenWeights - ropeTables - loraBytes - activations - logits };
}

/** Pool sizes of the split-K partial sums of the products of one pass (matmul.ts), by where they run. */
function splitKSizes(c: LlamaConfig, T: number, R: number, targets: ReadonlySet<LoraTarget>, train: boolean, variant: MatmulVariant) {
  const sizes = { layerForward: new Set<number>(), headForward: new Set<number>(), headBackward: new Set<number>(), layerBackward: new Set<number>() };
  const add = (into: Set<number>, m: number, n: number, k: number) => {
    const b = splitKPartialBytes(m, n, k, variant);
    if (b > 0) into.add(poolBytes(b));
  };
  for (const module of LORA_TARGETS) {
    const { inFeatures: I, outFeatures: O } = projectionDims(c, module);
    add(sizes.layerForward, T, O, I); // x·Wᵀ
    if (train) add(sizes.layerBackward, T, I, O); // dx += dout·W
    if (!targets.has(module)) continue;
    add(sizes.layerForward, T, R, I); add(sizes.layerForward, T, O, R); // u = x·Aᵀ; out += u·Bᵀ
    if (train) for (const [m, n, k] of [[O, R, T], [T, R, O], [R, I, T], [T, I, R]] as const) add(sizes.layerBackward, m, n, k); // dB, du, dA, dx (LoRA)
  }
  add(sizes.headForward, T, c.vocabSize, c.hiddenSize);
  if (train) add(sizes.headBackward, T, c.hiddenSize, c.vocabSize);
  return sizes;
}

/**
 * What training should keep for backward under a budget of device bytes: 'keep' when it fits
 * (the fastest), else 'recompute' (one more forward pass per sequence, bit-identical results).
 * `heldBytes`: what the backend holds already (weights, RoPE tables, LoRA weights and gradients),
 * when it can tell — it then replaces the estimate of those.
 */
export function chooseActivationMode(plan: Omit<MemoryPlan, 'phase' | 'activations'> & { heldBytes?: number }, budgetBytes: number | undefined): 'keep' | 'recompute' {
  if (budgetBytes === undefined) return 'keep';
  const e = estimateMemory({ ...plan, phase: 'train', activations: 'keep' });
  const loaded = e.frozenWeights + e.ropeTables + e.lora / 2; // the AdamW moments are not made yet
  const need = plan.heldBytes === undefined ? e.total : e.total - loaded + plan.heldBytes;
  return need <= budgetBytes ? 'keep' : 'recompute';
}

/**
 * A byte count from `8GiB`, `24 GB`, `512MiB` or a plain number of bytes (FLOCK_MEMORY_BUDGET);
 * undefined for an empty value.
 */
export function parseBytes(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?\s*$/i.exec(value);
  if (!m) throw new RangeError(`not a byte count: "${value}" (e.g. 8GiB, 24GB, 512MiB)`);
  const units: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30 };
  return Math.floor(Number(m[1]) * units[(m[2] ?? 'b').toLowerCase()]!);
}

/** The training memory budget from FLOCK_MEMORY_BUDGET (bytes, or with a unit), if set. */
export function memoryBudgetFromEnv(): number | undefined {
  return parseBytes(process.env['FLOCK_MEMORY_BUDGET']);
}
