/**
 * LoRA parameters on a backend: for each targeted projection W [out,in] of each layer, A [R,in]
 * and B [out,R] with their gradients, so the adapted layer computes
 *   y = x·Wᵀ + (alpha/R) · dropout(x)·Aᵀ·Bᵀ        (PEFT's LoRA, no rsLoRA)
 * Recipe v1 initialisation: A Kaiming-uniform with a = √5 (bound 1/√in, as nn.Linear and PEFT),
 * drawn from the engine PRNG (prng.ts), and B = 0, so the adapted model starts equal to the base.
 *
 * Memory layout (llm.c's): every weight lives in one flat buffer and every gradient in another,
 * at the same offsets, each matrix a named view (Backend.slice) starting at a SLICE_ALIGN
 * boundary; the padding between them stays 0. Zeroing the gradients is one fill, their norm one
 * read, and AdamW (whose moments are flat buffers of the same layout) one pass.
 */
import { FlockError } from '../util/errors.js';
import { alignSlice, type Backend, type Tensor } from './backend/backend.js';
import type { LlamaConfig } from './config.js';
import { LORA_TARGETS, loraTensorName, projectionDims, type Adapter, type LoraTarget } from './adapter.js';
import { deriveKey, Stream, STREAM_LORA_INIT } from './prng.js';

/** The LoRA part of a recipe. */
export interface LoraOptions {
  rank: number;
  alpha: number;
  dropout: number;
  /** PEFT module names: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj. */
  targets: readonly string[];
}

/** One adapted projection: views into the flat weight and gradient buffers. */
export interface LoraPair {
  layer: number;
  module: LoraTarget;
  inFeatures: number;
  outFeatures: number;
  a: Tensor; // [R, in]
  b: Tensor; // [out, R]
  da: Tensor; // [R, in], accumulated by backward
  db: Tensor; // [out, R]
  /** Where A and B start in the flat buffers (elements). */
  offsetA: number;
  offsetB: number;
}

/** A projection's initial weights, before they are laid out. */
interface PairInit {
  layer: number;
  module: LoraTarget;
  inFeatures: number;
  outFeatures: number;
  a: Float32Array;
  b: Float32Array;
}

/** The flat buffers every LoRA matrix is a view of. */
export interface LoraBuffers {
  /** Every weight (padding included, always 0). */
  param: Tensor;
  /** Every gradient, at the same offsets. */
  grad: Tensor;
}

/** Check and normalise target names (unknown names are refused with the list of known ones). */
export function parseLoraTargets(targets: readonly string[]): LoraTarget[] {
  const known = new Set<string>(LORA_TARGETS);
  const bad = targets.filter((t) => !known.has(t));
  if (bad.length > 0 || targets.length === 0) {
    throw new FlockError(`LoRA targets ${JSON.stringify(bad.length ? bad : targets)} are not linear layers of a Llama or Qwen2 block`, {
      hint: `choose from ${LORA_TARGETS.join(', ')}`,
    });
  }
  // a fixed order (the model's), whatever order the recipe lists them in
  return LORA_TARGETS.filter((t) => targets.includes(t));
}

export class Lora {
  /** alpha / rank: the factor on the low-rank branch. */
  readonly scaling: number;
  /** The flat weight and gradient buffers. */
  readonly flat: LoraBuffers;
  private readonly pairs = new Map<string, LoraPair>();

  private constructor(
    private readonly backend: Backend,
    readonly options: LoraOptions,
    readonly targets: readonly LoraTarget[],
    inits: readonly PairInit[],
  ) {
    this.scaling = options.alpha / options.rank;
    const R = options.rank;
    const offsets: Array<[number, number]> = [];
    let end = 0;
    for (const p of inits) {
      const offsetA = end;
      const offsetB = alignSlice(offsetA + p.a.length);
      end = alignSlice(offsetB + p.b.length);
      offsets.push([offsetA, offsetB]);
    }
    const weights = new Float32Array(Math.max(end, 1));
    inits.forEach((p, i) => {
      weights.set(p.a, offsets[i]![0]);
      weights.set(p.b, offsets[i]![1]);
    });
    this.flat = { param: backend.fromArray(weights, [weights.length]), grad: backend.zeros([weights.length]) };
    inits.forEach((p, i) => {
      const [offsetA, offsetB] = offsets[i]!;
      const view = (t: Tensor, offset: number, shape: number[]) => backend.slice(t, offset, shape);
      this.pairs.set(`${p.layer}.${p.module}`, {
        layer: p.layer, module: p.module, inFeatures: p.inFeatures, outFeatures: p.outFeatures, offsetA, offsetB,
        a: view(this.flat.param, offsetA, [R, p.inFeatures]),
        b: view(this.flat.param, offsetB, [p.outFeatures, R]),
        da: view(this.flat.grad, offsetA, [R, p.inFeatures]),
        db: view(this.flat.grad, offsetB, [p.outFeatures, R]),
      });
    });
  }

  /**
   * Fresh LoRA weights for `config` (A Kaiming-uniform from `seed`, B = 0).
   *
   * @example
   * const lora = Lora.create(backend, PRESETS.tiny, { rank: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'v_proj'] }, 7);
   */
  static create(backend: Backend, config: LlamaConfig, options: LoraOptions, seed: number): Lora {
    const targets = parseLoraTargets(options.targets);
    if (!Number.isInteger(options.rank) || options.rank < 1) throw new FlockError(`LoRA rank must be a positive integer, got ${options.rank}`);
    const inits: PairInit[] = [];
    for (let layer = 0; layer < config.numLayers; layer++) {
      for (const module of targets) {
        const { inFeatures, outFeatures } = projectionDims(config, module);
        const a = new Float32Array(options.rank * inFeatures);
        const bound = 1 / Math.sqrt(inFeatures);
        const s = new Stream(deriveKey(seed, STREAM_LORA_INIT, layer, LORA_TARGETS.indexOf(module)));
        for (let i = 0; i < a.length; i++) a[i] = (2 * s.next() - 1) * bound;
        inits.push({ layer, module, inFeatures, outFeatures, a, b: new Float32Array(outFeatures * options.rank) });
      }
    }
    return new Lora(backend, options, targets, inits);
  }

  /** LoRA weights from a loaded PEFT adapter (checked against `config` by adapter.ts). */
  static fromAdapter(backend: Backend, config: LlamaConfig, adapter: Adapter): Lora {
    const targets = parseLoraTargets(adapter.targetModules);
    const inits: PairInit[] = [];
    for (let layer = 0; layer < config.numLayers; layer++) {
      for (const module of targets) {
        const { inFeatures, outFeatures } = projectionDims(config, module);
        const a = adapter.weights.get(loraTensorName(layer, module, 'A'));
        const b = adapter.weights.get(loraTensorName(layer, module, 'B'));
        if (!a || !b || a.data.length !== adapter.r * inFeatures || b.data.length !== outFeatures * adapter.r) {
          throw new FlockError(`adapter has no ${loraTensorName(layer, module, a ? 'B' : 'A')} of the right shape for this model`, {
            hint: 'the adapter was trained on another base model',
          });
        }
        inits.push({ layer, module, inFeatures, outFeatures, a: a.data, b: b.data });
      }
    }
    return new Lora(backend, { rank: adapter.r, alpha: adapter.alpha, dropout: adapter.dropout, targets }, targets, inits);
  }

  /** The pair adapting `module` of `layer`, if targeted. */
  get(layer: number, module: LoraTarget): LoraPair | undefined {
    return this.pairs.get(`${layer}.${module}`);
  }

  /** Every trainable tensor with its gradient, in a fixed order (layer, module, A then B). */
  parameters(): { name: string; param: Tensor; grad: Tensor }[] {
    const out: { name: string; param: Tensor; grad: Tensor }[] = [];
    for (const p of this.pairs.values()) {
      out.push({ name: loraTensorName(p.layer, p.module, 'A'), param: p.a, grad: p.da });
      out.push({ name: loraTensorName(p.layer, p.module, 'B'), param: p.b, grad: p.db });
    }
    return out;
  }

  /** Number of trainable values. */
  get size(): number {
    return this.parameters().reduce((n, p) => n + p.param.size, 0);
  }

  zeroGrad(): void {
    this.backend.fill(this.flat.grad, 0);
  }

  /** The weights as an in-memory PEFT adapter (for adapter.ts's saveAdapter), in one read. */
  async toAdapter(baseModel: string): Promise<Adapter> {
    const all = await this.backend.read(this.flat.param);
    const weights = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const p of this.pairs.values()) {
      weights.set(loraTensorName(p.layer, p.module, 'A'), { shape: [...p.a.shape], data: all.slice(p.offsetA, p.offsetA + p.a.size) });
      weights.set(loraTensorName(p.layer, p.module, 'B'), { shape: [...p.b.shape], data: all.slice(p.offsetB, p.offsetB + p.b.size) });
    }
    return { r: this.options.rank, alpha: this.options.alpha, dropout: this.options.dropout, targetModules: [...this.targets], baseModel, weights };
  }

  free(): void {
    for (const p of this.pairs.values()) for (const t of [p.a, p.b, p.da, p.db]) this.backend.free(t);
    this.pairs.clear();
    this.backend.free(this.flat.param);
    this.backend.free(this.flat.grad);
  }
}
