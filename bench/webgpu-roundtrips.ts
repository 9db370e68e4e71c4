/**
 * Round trips to the device per optimizer step on WebGPU: how often training waits for the GPU to
 * finish everything queued and hand data back. Each wait stalls the host and drains the GPU's
 * queue, so fewer is better; the count does not depend on the adapter's speed, so lavapipe gives
 * the same figure as a real GPU.
 *
 *   npx tsx bench/webgpu-roundtrips.ts [--preset tiny|small] [--accumulation N] [--steps N]
 *
 * Prints, for recipe v1's LoRA targets (q, v) and for every linear layer, the reads per optimizer
 * step; with the Llama-3.2-1B layout (16 layers) it also prints what one read per example plus one
 * per LoRA tensor would cost, for comparison.
 */
import { createWebGpuBackend } from '../src/engine/backend/webgpu/backend.js';
import { LlamaModel } from '../src/engine/llama.js';
import { Lora } from '../src/engine/lora.js';
import { PRESETS, initPresetWeights, type PresetName } from '../src/engine/presets.js';
import { recipeSchema } from '../src/protocol/recipe.js';
import { benchSequences } from '../src/engine/benchmark.js';
import { train } from '../src/engine/train.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const preset = flag('--preset', 'tiny') as PresetName;
const accumulation = Number(flag('--accumulation', '8'));
const steps = Number(flag('--steps', '2'));

const backend = await createWebGpuBackend();
const runtime = backend.runtime as unknown as Record<string, unknown>;
// count every wait for the device: readMany where the runtime has it (each read goes through it), else read
let waits = 0;
const method = typeof runtime['readMany'] === 'function' ? 'readMany' : 'read';
const original = runtime[method] as (...a: unknown[]) => Promise<unknown>;
runtime[method] = function (this: unknown, ...a: unknown[]) {
  waits++;
  return original.apply(this, a);
};

const config = { ...PRESETS[preset], maxPositionEmbeddings: 128 };
const weights = initPresetWeights(config, 1);
const model = LlamaModel.load(backend, config, { get: (n) => weights.get(n)! });
const examples = benchSequences(accumulation * steps, 64, 1);
console.log(`webgpu on ${backend.adapter.description || backend.adapter.device}, precision ${backend.precision} (FLOCK_WEBGPU_PRECISION); ${preset} preset (${config.numLayers} layers), accumulation ${accumulation}, ${steps} steps`);
for (const targets of [['q_proj', 'v_proj'], ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']]) {
  const recipe = recipeSchema.parse({ epochs: 1, gradientAccumulation: accumulation, warmupSteps: 1, lora: { targets } });
  const lora = Lora.create(backend, config, recipe.lora, 1);
  const before = waits;
  const result = await train({ model, lora, recipe, examples, seed: 1 });
  const perStep = (waits - before) / result.steps;
  const tensors = 2 * targets.length;
  console.log(`LoRA on ${targets.join(',')}: ${perStep} round trip(s) per optimizer step ` +
    `(one per example and one per LoRA tensor would be ${accumulation + tensors * config.numLayers} here, ${accumulation + tensors * 16} on Llama-3.2-1B)`);
  lora.free();
}
model.free();
backend.dispose();
