/**
 * The whole model on WebGPU against the CPU backend, on the tiny preset with LoRA (recipe v1's
 * r4 on q,v, dropout on): evaluation loss within 1e-4, a 20-step AdamW training trajectory within
 * 1e-3, and the same seed giving bit-identical losses twice. Runs on lavapipe in CI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/engine/backend/backend.js';
import { CpuBackend } from '../../../src/engine/backend/cpu/cpu-backend.js';
import type { WebGpuBackend } from '../../../src/engine/backend/webgpu/backend.js';
import { LlamaModel } from '../../../src/engine/llama.js';
import { Lora } from '../../../src/engine/lora.js';
import { PRESETS, initPresetWeights } from '../../../src/engine/presets.js';
import { adamwTrajectory, evalLosses, expectRelClose, fillLoraB, maskedSequences, testWebGpu } from './webgpu-fixture.js';
import { recipeSchema } from '../../../src/protocol/recipe.js';
import { train as trainRecipe, type TrainProgress } from '../../../src/engine/train.js';

const config = { ...PRESETS.tiny, maxPositionEmbeddings: 64 };
const weights = initPresetWeights(config, 3);
const LORA = { rank: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'v_proj'] };

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

/** Per-sequence eval losses after giving LoRA B deterministic non-zero values. */
async function evaluate(be: Backend): Promise<number[]> {
  const model = LlamaModel.load(be, config, { get: (n) => weights.get(n)! });
  const lora = Lora.create(be, config, LORA, 11);
  fillLoraB(be, lora, 5);
  const out = await evalLosses(be, model, lora, sequences(3, 40, 21));
  lora.free();
  model.free();
  return out;
}

/** 20 steps of LoRA training (batch 1, AdamW, dropout on); the loss of every step. */
async function train(be: Backend, seed: number): Promise<number[]> {
  const model = LlamaModel.load(be, config, { get: (n) => weights.get(n)! });
  const lora = Lora.create(be, config, LORA, seed);
  const trajectory = await adamwTrajectory(be, model, lora, sequences(5, 32, 31), 20, seed);
  lora.free();
  model.free();
  return trajectory;
}

describe('tiny Llama + LoRA on webgpu', () => {
  it('evaluation losses match the cpu backend within 1e-4', async () => {
    const want = await evaluate(cpu);
    const got = await evaluate(gpu);
    expect(want[0]).toBeGreaterThan(1);
    expectRelClose(got, want, 1e-4, 'eval loss of sequence');
  });

  it('a 20-step training trajectory matches the cpu backend within 1e-3, and repeats bit for bit', async () => {
    const want = await train(cpu, 7);
    const got = await train(gpu, 7);
    expect(want[19]!).toBeLessThan(want[4]!); // it learns (sequence 0 seen again at steps 1, 6, 11, 16)
    expectRelClose(got, want, 1e-3, 'training loss at step');
    const again = await train(gpu, 7);
    expect(again).toEqual(got);
  });

  it("the engine's trainer reads back from the device once per optimizer step, and follows the cpu", async () => {
    // accumulation 4 with 2 LoRA targets on 2 layers: reading every example's losses and every
    // tensor's squared sum would be 4 + 8 round trips a step
    const recipe = recipeSchema.parse({ epochs: 1, gradientAccumulation: 4, warmupSteps: 1, lora: { dropout: 0.1 }, optimizer: { lr: 1e-2 }, gradClip: 0.5 });
    const examples = sequences(10, 24, 41).map(({ ids, labels }) => ({ ids, labels, targets: labels.filter((v) => v >= 0).length }));
    const run = async (be: Backend) => {
      const model = LlamaModel.load(be, config, { get: (n) => weights.get(n)! });
      const lora = Lora.create(be, config, LORA, 3);
      const steps: TrainProgress[] = [];
      const before = be === gpu ? gpu.runtime.readbacks : 0;
      await trainRecipe({ model, lora, recipe, examples, seed: 9, onStep: (p) => steps.push(p) });
      const readbacks = be === gpu ? gpu.runtime.readbacks - before : 0;
      lora.free();
      model.free();
      return { steps, readbacks };
    };
    const want = await run(cpu);
    const got = await run(gpu);
    expect(got.steps).toHaveLength(3); // 4 + 4 + a short step of 2
    expect(got.readbacks).toBe(3);
    expect(want.steps.some((s) => s.gradNorm > 0.5)).toBe(true); // clipping was active
    expectRelClose(got.steps.map((s) => s.loss), want.steps.map((s) => s.loss), 1e-3, 'objective at step');
    expectRelClose(got.steps.map((s) => s.gradNorm), want.steps.map((s) => s.gradNorm), 1e-3, 'gradient norm at step');
  });

  it('slices: views at aligned offsets of one buffer, read together in one round trip', async () => {
    const flat = gpu.zeros([64 * 3]);
    const a = gpu.slice(flat, 0, [2, 3]), b = gpu.slice(flat, 64, [5]), c = gpu.slice(flat, 128, [64]);
    gpu.write(a, Float32Array.from([1, 2, 3, 4, 5, 6]));
    gpu.fill(b, 7);
    gpu.scale(c, c, 2); // in place on a slice
    const first = gpu.slice(flat, 0, [64]);
    gpu.copy(c, first); // the first 64 elements, padding included, into the third block
    const before = gpu.runtime.readbacks;
    const [all, bOnly] = await gpu.readAll([flat, b]);
    expect(gpu.runtime.readbacks - before).toBe(1);
    expect(Array.from(all!.subarray(0, 8))).toEqual([1, 2, 3, 4, 5, 6, 0, 0]);
    expect(Array.from(bOnly!)).toEqual([7, 7, 7, 7, 7]);
    expect(Array.from(all!.subarray(128, 136))).toEqual([1, 2, 3, 4, 5, 6, 0, 0]);
    // two different slices of one buffer in one op: WebGPU forbids a writable binding aliasing another
    expect(() => gpu.add(c, c, first)).toThrow(/aliases/);
    expect(() => gpu.slice(flat, 10, [4])).toThrow(/multiples of 64/);
    for (const t of [a, b, c, first, flat]) gpu.free(t);
  });
});

describe('activation recomputation on webgpu', () => {
  it('training with every layer recomputed in backward gives bit-identical losses and adapter, and evaluation discarding activations the same losses', async () => {
    const recipe = recipeSchema.parse({ epochs: 1, gradientAccumulation: 2, warmupSteps: 1, lora: { dropout: 0.1, targets: ['q_proj', 'v_proj', 'down_proj'] }, optimizer: { lr: 1e-2 } });
    const examples = sequences(6, 24, 43).map(({ ids, labels }) => ({ ids, labels, targets: labels.filter((v) => v >= 0).length }));
    const run = async (activations: 'keep' | 'recompute') => {
      const model = LlamaModel.load(gpu, config, { get: (n) => weights.get(n)! });
      const lora = Lora.create(gpu, config, recipe.lora, 3);
      const result = await trainRecipe({ model, lora, recipe, examples, seed: 9, activations });
      const adapter = await gpu.read(lora.flat.param);
      const { ids, labels } = examples[0]!;
      const kept = model.forward(ids, labels, { lora });
      const discarded = model.forward(ids, labels, { lora, activations: 'discard' });
      const [a, b] = await gpu.readAll([kept.losses, discarded.losses]);
      expect(Array.from(b!)).toEqual(Array.from(a!));
      expect(() => model.backward(discarded, new Float32Array(ids.length))).toThrow(/discard/);
      model.release(kept);
      model.release(discarded);
      lora.free();
      model.free();
      return { losses: result.losses, adapter: Array.from(adapter) };
    };
    const kept = await run('keep');
    const again = await run('recompute');
    expect(again.losses).toEqual(kept.losses);
    expect(again.adapter).toEqual(kept.adapter);
  });

  it('under a memory budget the pool destroys its free buffers instead of growing, with the same results', async () => {
    const recipe = recipeSchema.parse({ epochs: 1, gradientAccumulation: 2, warmupSteps: 1, lora: { dropout: 0, targets: ['q_proj', 'v_proj'] }, optimizer: { lr: 1e-2 } });
    // sequences of several lengths: each length leaves its own buffers in an unbounded pool
    const examples = [16, 24, 32, 40].flatMap((T, i) => sequences(1, T, 50 + i)).map(({ ids, labels }) => ({ ids, labels, targets: labels.filter((v) => v >= 0).length }));
    const run = async (memoryBudget: number | undefined) => {
      gpu.setMemoryBudget(undefined);
      gpu.runtime.trimFree();
      const model = LlamaModel.load(gpu, config, { get: (n) => weights.get(n)! });
      const lora = Lora.create(gpu, config, recipe.lora, 3);
      const before = gpu.memory();
      const result = await trainRecipe({ model, lora, recipe, examples, seed: 9, memoryBudget, activations: 'recompute' });
      const after = gpu.memory();
      const adapter = Array.from(await gpu.read(lora.flat.param));
      lora.free();
      model.free();
      gpu.setMemoryBudget(undefined);
      return { losses: result.losses, adapter, trimmed: after.trimmed - before.trimmed, held: after.allocated };
    };
    const free = await run(undefined);
    // a budget below anything the run needs: every new buffer first destroys the free ones
    const tight = await run(1);
    expect(free.trimmed).toBe(0);
    expect(tight.trimmed).toBeGreaterThan(0);
    expect(tight.held).toBeLessThan(free.held); // the pool ends smaller: other lengths' buffers are gone
    expect(tight.losses).toEqual(free.losses);
    expect(tight.adapter).toEqual(free.adapter);
  });
});
