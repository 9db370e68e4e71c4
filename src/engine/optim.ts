/**
 * Optimisation for recipe v1: AdamW over the LoRA parameters, a linear warm-up then linear decay
 * to zero (transformers' `get_linear_schedule_with_warmup`), and global gradient-norm clipping
 * (torch's `clip_grad_norm_`).
 */
import type { AdamWStep, Backend, Tensor } from './backend/backend.js';

/**
 * Learning rate of optimizer step `step` (0-based) of `total`: base·step/warmup during warm-up
 * (so the first step has lr 0, as in transformers), then base·(total − step)/(total − warmup).
 *
 * @example
 * learningRateAt(0, 10, 2e-4, 2); // 0
 * learningRateAt(2, 10, 2e-4, 2); // 2e-4
 */
export function learningRateAt(step: number, total: number, base: number, warmup: number): number {
  if (step < warmup) return (base * step) / Math.max(1, warmup);
  return base * Math.max(0, (total - step) / Math.max(1, total - warmup));
}

/** The L2 norm of every gradient value, summed in float64 in index order. */
export function globalNorm(values: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]! * values[i]!;
  return Math.sqrt(sum);
}

/**
 * Scale the gradients (one flat buffer, `values` its contents when already read) so their global
 * L2 norm is at most `maxNorm` (no-op when maxNorm is 0). Returns the norm before clipping. As
 * torch's clip_grad_norm_: factor maxNorm / (norm + 1e-6), applied when < 1.
 */
export async function clipGradNorm(backend: Backend, grads: Tensor, maxNorm: number, values?: Float32Array): Promise<number> {
  const norm = globalNorm(values ?? (await backend.read(grads)));
  if (maxNorm > 0) {
    const factor = maxNorm / (norm + 1e-6);
    if (factor < 1) backend.scale(grads, grads, factor);
  }
  return norm;
}

/** AdamW hyper-parameters (recipe.optimizer). */
export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/**
 * AdamW state for one flat parameter buffer and its gradient buffer (lora.ts's layout): the first
 * and second moments are flat buffers of the same size, so a step is one pass over all of them.
 */
export class AdamW {
  private readonly m: Tensor;
  private readonly v: Tensor;
  private steps = 0;

  constructor(
    private readonly backend: Backend,
    private readonly flat: { param: Tensor; grad: Tensor },
    private readonly options: AdamWOptions,
  ) {
    this.m = backend.zeros([flat.param.size]);
    this.v = backend.zeros([flat.param.size]);
  }

  /** One update of every parameter with learning rate `lr`. */
  step(lr: number): void {
    this.steps++;
    // Only the moment and decay settings come from the options: `recipe.optimizer` also holds the
    // base `lr`, which must never override the scheduled one passed in.
    const { beta1, beta2, eps, weightDecay } = this.options;
    const hp: AdamWStep = { lr, beta1, beta2, eps, weightDecay, step: this.steps };
    this.backend.adamwUpdate(this.flat.param, this.flat.grad, this.m, this.v, hp);
  }

  /** Updates taken so far. */
  get stepCount(): number {
    return this.steps;
  }

  free(): void {
    this.backend.free(this.m);
    this.backend.free(this.v);
  }
}
