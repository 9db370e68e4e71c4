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

/**
 * Scale the gradients so their global L2 norm is at most `maxNorm` (no-op when maxNorm is 0).
 * Returns the norm before clipping. As torch: factor maxNorm / (norm + 1e-6), applied when < 1.
 */
export async function clipGradNorm(backend: Backend, grads: readonly Tensor[], maxNorm: number): Promise<number> {
  let sum = 0;
  for (const g of grads) sum += await backend.sumSquares(g);
  const norm = Math.sqrt(sum);
  if (maxNorm > 0) {
    const factor = maxNorm / (norm + 1e-6);
    if (factor < 1) for (const g of grads) backend.scale(g, g, factor);
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

/** AdamW state (first and second moments) for a fixed list of parameters. */
export class AdamW {
  private readonly m: Tensor[];
  private readonly v: Tensor[];
  private steps = 0;

  constructor(
    private readonly backend: Backend,
    private readonly params: readonly { param: Tensor; grad: Tensor }[],
    private readonly options: AdamWOptions,
  ) {
    this.m = params.map((p) => backend.zeros([...p.param.shape]));
    this.v = params.map((p) => backend.zeros([...p.param.shape]));
  }

  /** One update of every parameter with learning rate `lr`. */
  step(lr: number): void {
    this.steps++;
    // Only the moment and decay settings come from the options: `recipe.optimizer` also holds the
    // base `lr`, which must never override the scheduled one passed in.
    const { beta1, beta2, eps, weightDecay } = this.options;
    const hp: AdamWStep = { lr, beta1, beta2, eps, weightDecay, step: this.steps };
    this.params.forEach((p, i) => this.backend.adamwUpdate(p.param, p.grad, this.m[i]!, this.v[i]!, hp));
  }

  /** Updates taken so far. */
  get stepCount(): number {
    return this.steps;
  }

  free(): void {
    for (const t of [...this.m, ...this.v]) this.backend.free(t);
  }
}
