/**
 * Recipe v1 training: epochs over the examples (canonical order, shuffled per epoch by the seed),
 * micro-batches of `batchSize` examples, `gradientAccumulation` micro-batches per optimizer step,
 * gradient clipping, AdamW with warm-up + linear decay.
 *
 * Objective of one optimizer step: the mean, over its examples, of each example's mean loss over
 * its target tokens (recipe v1: "per example, the mean over its target tokens"). The last step of
 * an epoch may have fewer examples; it averages over those it has.
 *
 * Memory: under a device budget (`memoryBudget`, else FLOCK_MEMORY_BUDGET) that the estimate of
 * keeping every layer's activations exceeds (memory.ts), each layer's activations are recomputed
 * in backward instead — bit-identical results, one more forward pass per sequence.
 */
import { warmupStepsFor, type Recipe } from '../protocol/recipe.js';
import type { LlamaModel } from './llama.js';
import type { Lora } from './lora.js';
import { AdamW, clipGradNorm, learningRateAt } from './optim.js';
import { deriveKey, shuffle, STREAM_DROPOUT, STREAM_SHUFFLE } from './prng.js';
import { EventLoopTurns } from './turns.js';
import { chooseActivationMode, memoryBudgetFromEnv } from './memory.js';

/** One training sequence: ids and shifted labels (template.ts), with its number of targets. */
export interface TrainExample {
  ids: Int32Array;
  labels: Int32Array;
  targets: number;
}

/** Progress after each optimizer step. */
export interface TrainProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  /** Objective of this step (mean per-example loss). */
  loss: number;
  lr: number;
  gradNorm: number;
  /** Tokens processed so far (forward + backward). */
  tokens: number;
}

export interface TrainOptions {
  model: LlamaModel;
  lora: Lora;
  recipe: Recipe;
  /** Examples in canonical order (the caller sorts them by row hash). */
  examples: readonly TrainExample[];
  seed: number;
  onStep?: (p: TrainProgress) => void;
  /** Where the event-loop turns between optimizer steps are counted (default: a fresh counter). */
  turns?: EventLoopTurns;
  /** Device bytes training may hold (default: FLOCK_MEMORY_BUDGET; none: keep every activation). */
  memoryBudget?: number;
  /** What the forward pass keeps for backward, instead of choosing from the budget. */
  activations?: 'keep' | 'recompute';
}

export interface TrainResult {
  steps: number;
  tokens: number;
  /** Objective of every optimizer step, in order. */
  losses: number[];
  /** What the forward passes kept for backward. */
  activations: 'keep' | 'recompute';
}

/** Optimizer steps a recipe takes over `n` examples. */
export function totalSteps(recipe: Recipe, n: number): number {
  return recipe.epochs * Math.ceil(n / (recipe.batchSize * recipe.gradientAccumulation));
}

/**
 * Train `lora` on `examples` in place.
 *
 * @example
 * const result = await train({ model, lora, recipe: RECIPE_V1, examples, seed: 42 });
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { model, lora, recipe, examples, seed } = options;
  const turns = options.turns ?? new EventLoopTurns();
  const be = model.backend;
  const opt = new AdamW(be, lora.flat, recipe.optimizer);
  // each example's weighted per-token losses are summed here on the device, so a step reads back
  // once (this and the gradients together) instead of once per example and once per tensor
  const maxT = examples.reduce((m, e) => Math.max(m, e.ids.length), 1);
  const budget = options.memoryBudget ?? memoryBudgetFromEnv();
  const activations = options.activations ?? chooseActivationMode({
    config: model.config, seqLen: maxT, lora: lora.options,
    // what the backend holds already (weights, LoRA) when it can tell; else frozen weights as f32, the most they take
    weights: 'f32', heldBytes: be.memoryHeld?.(),
  }, budget);
  // sequences of many lengths would otherwise each leave their own buffers in a GPU pool
  if (budget !== undefined) be.setMemoryBudget?.(budget);
  const lossSums = be.zeros([maxT]);
  const perStep = recipe.batchSize * recipe.gradientAccumulation;
  const total = totalSteps(recipe, examples.length);
  const warmup = warmupStepsFor(recipe, total);
  const losses: number[] = [];
  let tokens = 0;
  let step = 0;
  let micro = 0; // examples seen, for dropout keys
  try {
    for (let epoch = 0; epoch < recipe.epochs; epoch++) {
      const order = shuffle(examples.map((_, i) => i), deriveKey(seed, STREAM_SHUFFLE, epoch));
      for (let start = 0; start < order.length; start += perStep) {
        const group = order.slice(start, start + perStep);
        lora.zeroGrad();
        be.fill(lossSums, 0);
        for (const idx of group) {
          const ex = examples[idx]!;
          const acts = model.forward(ex.ids, ex.labels, { lora, train: true, dropoutKey: deriveKey(seed, STREAM_DROPOUT, micro++), activations });
          const weight = 1 / (ex.targets * group.length);
          const dl = Float32Array.from(ex.labels, (l) => (l >= 0 ? weight : 0));
          // losses are 0 where there is no target, so this adds weight · the example's target losses
          const sums = be.slice(lossSums, 0, [ex.ids.length]);
          be.axpy(sums, weight, acts.losses);
          be.free(sums);
          model.backward(acts, dl);
          model.release(acts);
          tokens += ex.ids.length;
        }
        const [grads, perPosition] = await be.readAll([lora.flat.grad, lossSums]); // the step's one round trip
        let objective = 0;
        for (let t = 0; t < perPosition!.length; t++) objective += perPosition![t]!;
        const gradNorm = await clipGradNorm(be, lora.flat.grad, recipe.gradClip, grads);
        const lr = learningRateAt(step, total, recipe.optimizer.lr, warmup);
        opt.step(lr);
        step++;
        losses.push(objective);
        options.onStep?.({ step, totalSteps: total, epoch, loss: objective, lr, gradNorm, tokens });
        await turns.turn();
      }
    }
  } finally {
    opt.free();
    be.free(lossSums);
  }
  return { steps: step, tokens, losses, activations };
}
