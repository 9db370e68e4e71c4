/**
 * The memory estimator (src/engine/memory.ts) against the WebGPU buffer pool's measured peak on
 * lavapipe: training (every activation kept, and recomputed) and evaluation, on small presets
 * with several sequence lengths, LoRA ranks and targets, frozen weights f32, bf16 and f16. The
 * estimate must be within 0.5 % of the measured `peakAllocated` (it is exact today). Then the two
 * real models on paper, and the choice of what to keep under a budget.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createWebGpuBackend } from '../../src/engine/backend/webgpu/backend.js';
import type { Precision } from '../../src/engine/backend/webgpu/precision.js';
import type { LlamaConfig } from '../../src/engine/config.js';
import { LlamaModel } from '../../src/engine/llama.js';
import { Lora } from '../../src/engine/lora.js';
import { chooseActivationMode, estimateMemory, frozenWeightBytes, parseBytes, type WeightStorage } from '../../src/engine/memory.js';
import { PRESETS, initPresetWeights, type PresetName } from '../../src/engine/presets.js';
import { benchSequences } from '../../src/engine/benchmark.js';
import { evaluate } from '../../src/engine/evaluate.js';
import { train } from '../../src/engine/train.js';
import { RECIPE_V1, recipeSchema } from '../../src/protocol/recipe.js';
import { errorMessage } from '../../src/util/errors.js';

const ALL = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
const TOLERANCE = 0.005;
const GiB = 2 ** 30;

beforeAll(async () => {
  try {
    (await createWebGpuBackend()).dispose();
  } catch (err) {
    throw new Error(`the memory tests need a WebGPU adapter (CI uses Mesa's lavapipe, installed by scripts/test.sh): ${errorMessage(err)}`);
  }
});

interface Case {
  preset: PresetName;
  seqLen: number;
  rank: number;
  targets: string[];
  precision: Precision;
  /** Round the weights to bf16 values first, as a bf16 checkpoint gives them (else they stay f32 on the device). */
  bf16: boolean;
  phase: 'train' | 'eval';
  activations?: 'keep' | 'recompute';
}

/** The pool's peak after training (two optimizer steps) or evaluating four sequences of `seqLen` tokens. */
async function measure(c: Case): Promise<{ config: LlamaConfig; peak: number }> {
  const config = { ...PRESETS[c.preset], maxPositionEmbeddings: 256 };
  const weights = initPresetWeights(config, 3);
  if (c.bf16) {
    for (const t of weights.values()) {
      const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
      for (let i = 0; i < bits.length; i++) bits[i] = bits[i]! & 0xffff0000;
    }
  }
  const be = await createWebGpuBackend(undefined, { precision: c.precision });
  try {
    const model = LlamaModel.load(be, config, { get: (n) => weights.get(n)! });
    const recipe = recipeSchema.parse({ gradientAccumulation: 2, epochs: 1, maxSeqLen: c.seqLen, lora: { rank: c.rank, targets: c.targets } });
    const lora = Lora.create(be, config, recipe.lora, 1);
    const examples = benchSequences(4, c.seqLen, 1);
    if (c.phase === 'train') {
      const r = await train({ model, lora, recipe, examples, seed: 1, activations: c.activations ?? 'keep' });
      expect(r.activations).toBe(c.activations ?? 'keep');
    } else await evaluate(model, examples, lora);
    return { config, peak: be.memory().peakAllocated };
  } finally {
    be.dispose();
  }
}

function storage(c: Case): WeightStorage {
  return !c.bf16 ? 'f32' : c.precision === 'f16' ? 'f16' : 'bf16';
}

const CASES: Case[] = [
  { preset: 'tiny', seqLen: 64, rank: 4, targets: ['q_proj', 'v_proj'], precision: 'f32', bf16: false, phase: 'train' },
  { preset: 'small', seqLen: 128, rank: 4, targets: ['q_proj', 'v_proj'], precision: 'f32', bf16: true, phase: 'train' },
  { preset: 'small', seqLen: 128, rank: 4, targets: ['q_proj', 'v_proj'], precision: 'f32', bf16: true, phase: 'train', activations: 'recompute' },
  { preset: 'small', seqLen: 96, rank: 16, targets: ALL, precision: 'f16', bf16: true, phase: 'train' },
  { preset: 'small', seqLen: 96, rank: 16, targets: ALL, precision: 'f16', bf16: true, phase: 'train', activations: 'recompute' },
  { preset: 'small', seqLen: 160, rank: 8, targets: ['k_proj', 'o_proj', 'down_proj'], precision: 'f32', bf16: false, phase: 'eval' },
  { preset: 'qwen2-tiny', seqLen: 200, rank: 8, targets: ['q_proj', 'up_proj', 'down_proj'], precision: 'f32', bf16: false, phase: 'train', activations: 'recompute' },
];

describe('estimateMemory against the measured peak on lavapipe', () => {
  for (const c of CASES) {
    const label = `${c.preset}, ${c.seqLen} tokens, r${c.rank} on ${c.targets.length} targets, ${storage(c)} weights, ${c.phase}${c.activations ? ` (${c.activations})` : ''}`;
    it(label, async () => {
      const { config, peak } = await measure(c);
      const e = estimateMemory({ config, seqLen: c.seqLen, lora: { rank: c.rank, dropout: 0.1, targets: c.targets }, weights: storage(c), phase: c.phase, activations: c.activations });
      expect(Math.abs(e.total - peak) / peak, `estimated ${e.total} vs measured ${peak}`).toBeLessThanOrEqual(TOLERANCE);
      expect(e.frozenWeights + e.ropeTables + e.lora + e.activations + e.logits + e.scratch).toBe(e.total);
      expect(e.scratch).toBeGreaterThan(0);
    });
  }

  it('recomputation and compact weights are what change the peak', () => {
    const config = PRESETS.small;
    const plan = { config, seqLen: 128, lora: { rank: 4, dropout: 0.1, targets: ['q_proj', 'v_proj'] }, weights: 'bf16' as const, phase: 'train' as const };
    const keep = estimateMemory({ ...plan, activations: 'keep' });
    const again = estimateMemory({ ...plan, activations: 'recompute' });
    expect(again.activations).toBeLessThan(keep.activations / 5);
    expect(again.total).toBeLessThan(keep.total);
    expect(frozenWeightBytes(config, 'f32')).toBeGreaterThan(1.8 * frozenWeightBytes(config, 'bf16'));
    expect(frozenWeightBytes(config, 'f16')).toBe(frozenWeightBytes(config, 'bf16'));
  });
});

describe('the real models on paper', () => {
  const llama = (weights: WeightStorage, activations: 'keep' | 'recompute') =>
    estimateMemory({ config: PRESETS['llama-3.2-1b'], seqLen: RECIPE_V1.maxSeqLen, lora: RECIPE_V1.lora, weights, phase: 'train', activations });
  const qwen = (weights: WeightStorage, activations: 'keep' | 'recompute') =>
    estimateMemory({ config: PRESETS['qwen2.5-1.5b-instruct'], seqLen: 2048, lora: { rank: 16, dropout: 0.1, targets: ALL }, weights, phase: 'train', activations });
  const gib = (b: number) => Number((b / GiB).toFixed(2));

  it('Llama-3.2-1B with recipe v1 (512 tokens, r4 on q,v) fits in 8 GiB with f32, bf16 or f16 weights, kept or recomputed', () => {
    expect(RECIPE_V1.maxSeqLen).toBe(512);
    expect(RECIPE_V1.lora.rank).toBe(4);
    expect(gib(llama('f32', 'keep').total)).toBe(7.03);
    expect(gib(llama('bf16', 'keep').total)).toBe(4.73);
    expect(gib(llama('f16', 'keep').total)).toBe(4.73);
    expect(gib(llama('f32', 'recompute').total)).toBe(5.42);
    expect(gib(llama('bf16', 'recompute').total)).toBe(3.12);
    for (const w of ['f32', 'bf16', 'f16'] as const) for (const a of ['keep', 'recompute'] as const) expect(llama(w, a).total).toBeLessThan(8 * GiB);
    // the 128 256-wide logits and their gradient: 2 · 512 · 128 256 · 4 bytes
    expect(llama('bf16', 'keep').logits).toBe(2 * 512 * 128_256 * 4);
  });

  it('Qwen2.5-1.5B-Instruct at 2 048 tokens with r16 on all seven projections fits in 24 GiB only with recomputation', () => {
    expect(gib(qwen('bf16', 'keep').total)).toBe(22.97);
    expect(gib(qwen('f32', 'keep').total)).toBe(25.84);
    expect(gib(qwen('bf16', 'recompute').total)).toBe(6.92);
    expect(gib(qwen('f16', 'recompute').total)).toBe(6.92);
    expect(gib(qwen('f32', 'recompute').total)).toBe(9.8);
    expect(qwen('f32', 'keep').total).toBeGreaterThan(24 * GiB);
    expect(qwen('bf16', 'keep').total).toBeGreaterThan(24e9); // 24 decimal GB: not even with bf16 weights
    for (const w of ['f32', 'bf16', 'f16'] as const) expect(qwen(w, 'recompute').total).toBeLessThan(24e9);
    // kept activations are 28 layers' worth, the attention probabilities [12, 2048, 2048] alone 192 MiB a layer
    expect(qwen('bf16', 'keep').activations).toBeGreaterThan(28 * 12 * 2048 * 2048 * 4);
  });
});

describe('chooseActivationMode', () => {
  const plan = { config: PRESETS['qwen2.5-1.5b-instruct'], seqLen: 2048, lora: { rank: 16, dropout: 0.1, targets: ALL }, weights: 'bf16' as const };
  it('keeps every activation without a budget or when they fit, recomputes when they do not', () => {
    const keep = estimateMemory({ ...plan, phase: 'train', activations: 'keep' }).total;
    expect(chooseActivationMode(plan, undefined)).toBe('keep');
    expect(chooseActivationMode(plan, keep)).toBe('keep');
    expect(chooseActivationMode(plan, keep - 1)).toBe('recompute');
    expect(chooseActivationMode(plan, 24e9)).toBe('recompute');
  });
  it('what the backend already holds replaces the estimate of the weights', () => {
    const e = estimateMemory({ ...plan, phase: 'train', activations: 'keep' });
    const loaded = e.frozenWeights + e.ropeTables + e.lora / 2;
    expect(chooseActivationMode({ ...plan, heldBytes: loaded }, e.total)).toBe('keep');
    expect(chooseActivationMode({ ...plan, heldBytes: loaded + 1 }, e.total)).toBe('recompute');
  });
});

describe('parseBytes', () => {
  it('reads units and refuses anything else', () => {
    expect(parseBytes('8GiB')).toBe(8 * GiB);
    expect(parseBytes('24 GB')).toBe(24e9);
    expect(parseBytes('512mib')).toBe(512 * 2 ** 20);
    expect(parseBytes('1000')).toBe(1000);
    expect(parseBytes(undefined)).toBeUndefined();
    expect(parseBytes(' ')).toBeUndefined();
    expect(() => parseBytes('8 potatoes')).toThrow(/byte count/);
  });
});
