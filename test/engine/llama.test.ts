/**
 * Whole-model gradient check: the LoRA gradients from backward (through every frozen layer,
 * dropout on) against central finite differences of the training loss, on the tiny preset and on
 * the tiny Qwen2 preset (frozen q/k/v biases, untied head).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { LlamaModel } from '../../src/engine/llama.js';
import { Lora } from '../../src/engine/lora.js';
import { PRESETS, initPresetWeights } from '../../src/engine/presets.js';
import type { LlamaConfig } from '../../src/engine/config.js';
import { Stream } from '../../src/engine/prng.js';

const be = new CpuBackend({ threads: 2 });
afterAll(() => be.dispose());

const config = { ...PRESETS.tiny, maxPositionEmbeddings: 64 };
const weights = initPresetWeights(config, 3);
const model = LlamaModel.load(be, config, { get: (n) => weights.get(n)! });

function sequence(T: number, seed: number): { ids: Int32Array; labels: Int32Array; dl: Float32Array } {
  const s = new Stream(seed);
  const ids = Int32Array.from({ length: T }, () => s.nextInt(256));
  const labels = Int32Array.from({ length: T }, (_, t) => (t >= 3 && t < T - 1 ? ids[t + 1]! : -100));
  const count = labels.filter((v) => v >= 0).length;
  const dl = Float32Array.from(labels, (v) => (v >= 0 ? 1 / count : 0));
  return { ids, labels, dl };
}

/** LoRA gradients of `model` (every projection, dropout on) against central finite differences. */
async function checkLoraGradients(model: LlamaModel, config: LlamaConfig): Promise<void> {
  const targets = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
  const lora = Lora.create(be, config, { rank: 2, alpha: 4, dropout: 0.1, targets }, 5);
  // B = 0 makes ∂L/∂A vanish; give B random values so both get a real check
  const rng = new Stream(99);
  for (const { name, param } of lora.parameters()) if (name.includes('lora_B')) be.view(param).forEach((_, i, a) => (a[i] = (rng.next() - 0.5) * 0.2));
  const { ids, labels, dl } = sequence(12, 1);
  const objective = () => {
    const acts = model.forward(ids, labels, { lora, train: true, dropoutKey: 77 });
    const losses = be.view(acts.losses);
    let s = 0;
    for (let t = 0; t < losses.length; t++) s += dl[t]! * losses[t]!;
    model.release(acts);
    return s;
  };
  const acts = model.forward(ids, labels, { lora, train: true, dropoutKey: 77 });
  model.backward(acts, dl);
  model.release(acts);
  let checked = 0;
  for (const { name, param, grad } of lora.parameters()) {
    const p = be.view(param), g = be.view(grad);
    for (let j = 0; j < 2; j++) {
      const i = rng.nextInt(p.length);
      const orig = p[i]!;
      const eps = 1e-2;
      p[i] = orig + eps;
      const lp = objective();
      p[i] = orig - eps;
      const lm = objective();
      p[i] = orig;
      const fd = (lp - lm) / (2 * eps);
      const err = Math.abs(fd - g[i]!);
      expect(err, `${name}[${i}]: analytic ${g[i]} vs numeric ${fd}`).toBeLessThan(2e-3 + 0.05 * Math.abs(fd));
      checked++;
    }
  }
  expect(checked).toBe(2 * 2 * 7 * config.numLayers);
  // the check is not vacuous: gradients are non-zero
  expect(await be.sumSquares(lora.parameters()[0]!.grad)).toBeGreaterThan(0);
  lora.free();
}

describe('LlamaModel', () => {
  it('LoRA gradients through the whole model match finite differences of the loss', async () => {
    await checkLoraGradients(model, config);
  });

  it('with B = 0 the adapted model equals the base model', () => {
    const lora = Lora.create(be, config, { rank: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] }, 1);
    const { ids, labels } = sequence(10, 2);
    const a = model.forward(ids, labels, { lora });
    const b = model.forward(ids, labels);
    expect(Array.from(be.view(a.losses))).toEqual(Array.from(be.view(b.losses)));
    expect(be.view(a.losses)[5]).toBeGreaterThan(0);
    model.release(a);
    model.release(b);
    lora.free();
  });

  it('the loss at a position does not depend on later tokens (causal)', () => {
    const { ids, labels } = sequence(10, 3);
    const a = model.forward(ids, labels);
    const ids2 = ids.slice();
    ids2[9] = (ids2[9]! + 1) % 256;
    const b = model.forward(ids2, labels);
    expect(Array.from(be.view(a.losses).subarray(0, 8))).toEqual(Array.from(be.view(b.losses).subarray(0, 8)));
    model.release(a);
    model.release(b);
  });
});

describe('Qwen2 (q/k/v biases)', () => {
  const qwenConfig = { ...PRESETS['qwen2-tiny'], maxPositionEmbeddings: 64 };
  const qwenWeights = initPresetWeights(qwenConfig, 3);
  const qwen = LlamaModel.load(be, qwenConfig, { get: (n) => qwenWeights.get(n)! });

  it('LoRA gradients on q/k/v (on top of the biases) and every other projection match finite differences', async () => {
    await checkLoraGradients(qwen, qwenConfig);
  });

  it('the biases are applied: with them zeroed the model is the Llama block on the same weights, bit for bit', () => {
    const zeroed = new Map([...qwenWeights].map(([n, t]) => [n, n.endsWith('.bias') ? { shape: t.shape, data: new Float32Array(t.data.length) } : t]));
    const asLlama = LlamaModel.load(be, { ...qwenConfig, modelType: 'llama' }, { get: (n) => qwenWeights.get(n)! });
    const noBias = LlamaModel.load(be, qwenConfig, { get: (n) => zeroed.get(n)! });
    const { ids, labels } = sequence(12, 4);
    const run = (m: LlamaModel) => {
      const acts = m.forward(ids, labels);
      const losses = Array.from(be.view(acts.losses));
      m.release(acts);
      return losses;
    };
    const withBias = run(qwen);
    expect(run(noBias)).toEqual(run(asLlama));
    const moved = withBias.map((l, t) => Math.abs(l - run(asLlama)[t]!));
    expect(Math.max(...moved)).toBeGreaterThan(1e-2);
    asLlama.free();
    noBias.free();
  });
});
