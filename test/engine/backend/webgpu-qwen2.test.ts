/**
 * Qwen2 on WebGPU against the CPU backend: the bias op (y[n,:] += bias) bit for bit — one f32
 * addition per element on both — and the tiny Qwen2 preset (q/k/v biases, untied head) with LoRA on
 * q/k/v: evaluation losses within 1e-4 relative and a short training trajectory within 1e-3, the
 * tolerances of webgpu-model.test.ts for the Llama preset. Runs on lavapipe in CI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/engine/backend/backend.js';
import { CpuBackend } from '../../../src/engine/backend/cpu/cpu-backend.js';
import type { WebGpuBackend } from '../../../src/engine/backend/webgpu/backend.js';
import { LlamaModel } from '../../../src/engine/llama.js';
import { Lora } from '../../../src/engine/lora.js';
import { PRESETS, initPresetWeights } from '../../../src/engine/presets.js';
import { Stream } from '../../../src/engine/prng.js';
import { adamwTrajectory, evalLosses, expectRelClose, fillLoraB, maskedSequences, testWebGpu } from './webgpu-fixture.js';

const config = { ...PRESETS['qwen2-tiny'], maxPositionEmbeddings: 64 };
const weights = initPresetWeights(config, 5);
const LORA = { rank: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'k_proj', 'v_proj'] };

let cpu: CpuBackend;
let gpu: WebGpuBackend;
beforeAll(async () => {
  cpu = new CpuBackend({ threads: 1 });
  gpu = await testWebGpu();
});
afterAll(() => {
  cpu?.dispose();
  gpu?.dispose();
});

const sequences = (count: number, T: number, seed: number) => maskedSequences(config.vocabSize, count, T, seed);

/** Per-sequence eval losses, LoRA B set to deterministic non-zero values. */
async function evaluate(be: Backend): Promise<number[]> {
  const model = LlamaModel.load(be, config, { get: (n) => weights.get(n)! });
  const lora = Lora.create(be, config, LORA, 11);
  fillLoraB(be, lora, 6);
  const out = await evalLosses(be, model, lora, sequences(3, 40, 21));
  lora.free();
  model.free();
  return out;
}

/** 10 steps of LoRA training (batch 1, AdamW, dropout on); the loss of every step. */
async function train(be: Backend): Promise<number[]> {
  const model = LlamaModel.load(be, config, { get: (n) => weights.get(n)! });
  const lora = Lora.create(be, config, LORA, 7);
  const trajectory = await adamwTrajectory(be, model, lora, sequences(3, 32, 31), 10, 7);
  lora.free();
  model.free();
  return trajectory;
}

describe('tiny Qwen2 + LoRA on webgpu', () => {
  it('addBias: every row plus the bias, bit for bit as the cpu backend, any leading dimensions', async () => {
    const s = new Stream(3);
    const cases: [number[], number][] = [[[5, 7], 7], [[2, 3, 64], 64], [[1, 4099], 4099]];
    for (const [shape, O] of cases) {
      const n = shape.reduce((a, b) => a * b, 1);
      const y = Float32Array.from({ length: n }, () => (s.next() - 0.5) * 8);
      const bias = Float32Array.from({ length: O }, () => s.next() - 0.5);
      const results = await Promise.all([cpu, gpu].map(async (be) => {
        const t = be.fromArray(y, shape), b = be.fromArray(bias, [O]);
        be.addBias(t, b);
        const out = await be.read(t);
        be.free(t);
        be.free(b);
        return out;
      }));
      expect(Buffer.from(results[1]!.buffer).equals(Buffer.from(results[0]!.buffer))).toBe(true);
      expect(results[1]![n - 1]).toBe(Math.fround(y[n - 1]! + bias[O - 1]!));
    }
    expect(() => gpu.addBias(gpu.zeros([2, 3]), gpu.zeros([4]))).toThrow(/addBias/);
  });

  it('evaluation losses match the cpu backend within 1e-4', async () => {
    const want = await evaluate(cpu);
    const got = await evaluate(gpu);
    expect(want[0]).toBeGreaterThan(1);
    expectRelClose(got, want, 1e-4, 'eval loss of sequence');
  });

  it('a 10-step training trajectory with LoRA on q/k/v matches the cpu backend within 1e-3', async () => {
    const want = await train(cpu);
    const got = await train(gpu);
    expect(want[9]!).toBeLessThan(want[0]!); // it learns (sequence 0 seen again at steps 4, 7, 10)
    expectRelClose(got, want, 1e-3, 'training loss at step');
  });
});
