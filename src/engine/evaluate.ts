/**
 * Evaluation: each example's mean loss over its target tokens (recipe v1), no dropout, and the
 * mean of those (`evalLoss`). Per-token losses are summed in float64 in position order.
 */
import type { LlamaModel } from './llama.js';
import type { Lora } from './lora.js';
import type { TrainExample } from './train.js';
import { EventLoopTurns } from './turns.js';

export interface EvalProgress {
  done: number;
  total: number;
  tokens: number;
}

export interface EvalResult {
  /** Mean of `perExample`. */
  evalLoss: number;
  /** Mean target-token loss of each example, in input order. */
  perExample: number[];
  tokens: number;
}

/**
 * Evaluate `model` (with `lora` applied when given) on `examples`, handing the event loop a turn
 * after each example (counted in `turns`).
 *
 * @example
 * const { evalLoss, perExample } = await evaluate(model, examples, lora);
 */
export async function evaluate(model: LlamaModel, examples: readonly TrainExample[], lora?: Lora, onProgress?: (p: EvalProgress) => void, turns = new EventLoopTurns()): Promise<EvalResult> {
  const perExample: number[] = [];
  let tokens = 0;
  for (const ex of examples) {
    const acts = model.forward(ex.ids, ex.labels, { lora, train: false, activations: 'discard' });
    const losses = await model.backend.read(acts.losses);
    model.release(acts);
    let sum = 0;
    let n = 0;
    for (let t = 0; t < losses.length; t++) {
      if (ex.labels[t]! >= 0) {
        sum += losses[t]!;
        n++;
      }
    }
    perExample.push(n > 0 ? sum / n : 0);
    tokens += ex.ids.length;
    onProgress?.({ done: perExample.length, total: examples.length, tokens });
    await turns.turn();
  }
  const evalLoss = perExample.length ? perExample.reduce((a, b) => a + b, 0) / perExample.length : NaN;
  return { evalLoss, perExample, tokens };
}
