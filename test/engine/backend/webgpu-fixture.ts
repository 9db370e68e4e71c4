/**
 * What the model-level WebGPU tests share: a device that says how to get one, masked random
 * sequences, the mean target loss of a forward pass, LoRA B set to deterministic non-zero values,
 * the eval losses of a model and the losses of a plain AdamW loop, and the relative comparison.
 */
import { expect } from 'vitest';
import type { Backend, Tensor } from '../../../src/engine/backend/backend.js';
import { createWebGpuBackend, type WebGpuBackend, type WebGpuBackendOptions } from '../../../src/engine/backend/webgpu/backend.js';
import type { LlamaModel } from '../../../src/engine/llama.js';
import type { Lora } from '../../../src/engine/lora.js';
import { deriveKey, Stream, STREAM_DROPOUT } from '../../../src/engine/prng.js';
import { errorMessage } from '../../../src/util/errors.js';

/** A WebGPU backend, or an error that says where the tests get one. */
export async function testWebGpu(options?: WebGpuBackendOptions): Promise<WebGpuBackend> {
  try {
    return await createWebGpuBackend(undefined, options);
  } catch (err) {
    throw new Error(`the WebGPU tests need a WebGPU adapter (CI uses Mesa's lavapipe, installed by scripts/test.sh): ${errorMessage(err)}`);
  }
}

/** Random token sequences: ids, shifted labels with a 4-token prompt masked, loss weights 1/n. */
export function maskedSequences(vocabSize: number, count: number, T: number, seed: number) {
  const s = new Stream(seed);
  return Array.from({ length: count }, () => {
    const ids = Int32Array.from({ length: T }, () => s.nextInt(vocabSize));
    const labels = Int32Array.from({ length: T }, (_, t) => (t >= 4 && t < T - 1 ? ids[t + 1]! : -100));
    const n = labels.filter((v) => v >= 0).length;
    return { ids, labels, dl: Float32Array.from(labels, (v) => (v >= 0 ? 1 / n : 0)) };
  });
}

/** Mean of the per-token losses over the target positions. */
export async function meanLoss(be: Backend, losses: Tensor, labels: Int32Array): Promise<number> {
  const l = await be.read(losses);
  let s = 0, n = 0;
  labels.forEach((v, t) => { if (v >= 0) { s += l[t]!; n++; } });
  return s / n;
}

/** Give every LoRA B deterministic values in ±0.1 (B = 0 would make LoRA invisible to a test). */
export function fillLoraB(be: Backend, lora: Lora, seed: number): void {
  const s = new Stream(seed);
  for (const { name, param } of lora.parameters()) {
    if (name.includes('lora_B')) be.write(param, Float32Array.from({ length: param.size }, () => (s.next() - 0.5) * 0.2));
  }
}

type Sequence = ReturnType<typeof maskedSequences>[number];

/** The mean target loss of each sequence, evaluated with `lora`. */
export async function evalLosses(be: Backend, model: LlamaModel, lora: Lora, sequences: readonly Sequence[]): Promise<number[]> {
  const out: number[] = [];
  for (const { ids, labels } of sequences) {
    const acts = model.forward(ids, labels, { lora });
    out.push(await meanLoss(be, acts.losses, labels));
    model.release(acts);
  }
  return out;
}

/**
 * `steps` AdamW steps on `lora` (batch 1, dropout keyed by `dropoutSeed`, lr 1e-2), cycling over
 * `data`; the loss of every step. `onStep` sees the step's gradients before the update.
 */
export async function adamwTrajectory(
  be: Backend, model: LlamaModel, lora: Lora, data: readonly Sequence[], steps: number, dropoutSeed: number, onStep?: (step: number) => Promise<void>,
): Promise<number[]> {
  const params = lora.parameters();
  const moments = params.map(({ param }) => ({ m: be.zeros(param.shape), v: be.zeros(param.shape) }));
  const trajectory: number[] = [];
  for (let step = 1; step <= steps; step++) {
    const { ids, labels, dl } = data[(step - 1) % data.length]!;
    const acts = model.forward(ids, labels, { lora, train: true, dropoutKey: deriveKey(dropoutSeed, STREAM_DROPOUT, step) });
    trajectory.push(await meanLoss(be, acts.losses, labels));
    model.backward(acts, dl);
    model.release(acts);
    await onStep?.(step);
    params.forEach(({ param, grad }, i) => be.adamwUpdate(param, grad, moments[i]!.m, moments[i]!.v, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step }));
    lora.zeroGrad();
  }
  for (const { m, v } of moments) { be.free(m); be.free(v); }
  return trajectory;
}

/** Every value of `got` within `tol` of `want`, relative. */
export function expectRelClose(got: number[], want: number[], tol: number, what: string): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(Math.abs(got[i]! - w) / Math.abs(w), `${what} ${i}: webgpu ${got[i]} vs cpu ${w}`).toBeLessThanOrEqual(tol));
}
