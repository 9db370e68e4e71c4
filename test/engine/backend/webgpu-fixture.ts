/**
 * What the model-level WebGPU tests share: a device that says how to get one, masked random
 * sequences, the mean target loss of a forward pass, and LoRA B set to deterministic non-zero values.
 */
import type { Backend, Tensor } from '../../../src/engine/backend/backend.js';
import { createWebGpuBackend, type WebGpuBackend, type WebGpuBackendOptions } from '../../../src/engine/backend/webgpu/backend.js';
import type { Lora } from '../../../src/engine/lora.js';
import { Stream } from '../../../src/engine/prng.js';
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
