/**
 * Training end to end on the tiny preset (in memory): the same seed gives a bit-identical result,
 * training on rows from the eval distribution lowers the eval loss more than training on noise,
 * and a trained adapter evaluates to the same loss when loaded back.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { PRESETS, byteLevelTokenizerJson, initPresetWeights, qwen2ByteLevelTokenizerJson } from '../../src/engine/presets.js';
import { tokenizerFromJson } from '../../src/engine/tokenizer.js';
import { EngineInputError, adapterHash, runEvaluation, stableHash } from '../../src/engine/run.js';
import { Stream } from '../../src/engine/prng.js';
import { RECIPE_V1, recipeSchema } from '../../src/protocol/recipe.js';
import type { ChatRow } from '../../src/engine/template.js';

const be = new CpuBackend({ threads: 2 });
afterAll(() => be.dispose());

const config = PRESETS.tiny;
const weights = initPresetWeights(config, 11);
const checkpoint = { config, weights: { get: (n: string) => weights.get(n)! }, tokenizer: tokenizerFromJson(byteLevelTokenizerJson()), hash: 'tiny-11' };
const recipe = recipeSchema.parse({
  epochs: 2, gradientAccumulation: 2, warmupSteps: 2, maxSeqLen: 64,
  optimizer: { lr: 1e-2 }, lora: { rank: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'v_proj', 'o_proj', 'down_proj'] },
});

/** Rows of one task: the assistant repeats the user's word, upper-cased. */
function taskRows(n: number, seed: number): ChatRow[] {
  const s = new Stream(seed);
  const word = () => Array.from({ length: 4 }, () => String.fromCharCode(97 + s.nextInt(6))).join('');
  return Array.from({ length: n }, () => {
    const w = word();
    return { conversations: [{ role: 'user' as const, content: `say ${w}` }, { role: 'assistant' as const, content: `${w.toUpperCase()} ${w.toUpperCase()}` }] };
  });
}
/** Rows of noise: random printable bytes. */
function noiseRows(n: number, seed: number): ChatRow[] {
  const s = new Stream(seed);
  const junk = (k: number) => Array.from({ length: k }, () => String.fromCharCode(33 + s.nextInt(90))).join('');
  return Array.from({ length: n }, () => ({ conversations: [{ role: 'user' as const, content: junk(8) }, { role: 'assistant' as const, content: junk(9) }] }));
}
const withHashes = (rows: ChatRow[]) => rows.map((row, i) => ({ row, hash: String(i).padStart(6, '0') }));

const evalRows = taskRows(12, 1);

describe('runEvaluation', () => {
  it('the same seed gives bit-identical losses twice; another seed does not', async () => {
    const base = { checkpoint, recipe, evalRows, evalSetHash: 'e', trainRows: withHashes(taskRows(16, 2)), backend: be };
    const a = await runEvaluation({ ...base, seed: 5 });
    const b = await runEvaluation({ ...base, seed: 5 });
    const c = await runEvaluation({ ...base, seed: 6 });
    expect(a.perExample).toEqual(b.perExample);
    expect(a.evalLoss).toBe(b.evalLoss);
    expect(c.evalLoss).not.toBe(a.evalLoss);
    expect(a.perExample).toHaveLength(12);
    expect(a.trainSteps).toBe(2 * 8);
    expect(a.receipt).toMatchObject({ backend: 'cpu', modelHash: 'tiny-11', evalSetHash: 'e', seed: 5 });
  });

  it('serves the event loop during training, and the time other work takes is not engine time', async () => {
    let ticks = 0;
    // other work of the process: each tick holds the thread for 5 ms
    const timer = setInterval(() => {
      const end = performance.now() + 5;
      while (performance.now() < end) { /* busy */ }
      ticks++;
    }, 1);
    const started = performance.now();
    const r = await runEvaluation({ checkpoint, recipe, evalRows, evalSetHash: 'e', trainRows: withHashes(taskRows(16, 2)), backend: be, seed: 5 });
    const wall = (performance.now() - started) / 1000;
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0); // timers fired while the run was in progress
    expect(r.awaySeconds).toBeGreaterThanOrEqual(ticks * 0.005 * 0.5); // less any garbage collection in those turns
    expect(r.seconds + r.awaySeconds).toBeLessThanOrEqual(wall + 1e-3);
    expect(r.trainSeconds + r.evalSeconds).toBeLessThanOrEqual(r.seconds + 1e-3);
  });

  it('training on eval-distribution rows lowers the eval loss more than training on noise', async () => {
    const base = { checkpoint, recipe, evalRows, evalSetHash: 'e', backend: be, seed: 3 };
    const before = await runEvaluation(base);
    const onTask = await runEvaluation({ ...base, trainRows: withHashes(taskRows(40, 7)) });
    const onNoise = await runEvaluation({ ...base, trainRows: withHashes(noiseRows(40, 8)) });
    expect(onTask.evalLoss).toBeLessThan(before.evalLoss);
    expect(onTask.evalLoss).toBeLessThan(onNoise.evalLoss);
    expect(before.evalLoss - onTask.evalLoss).toBeGreaterThan(2 * Math.max(0, before.evalLoss - onNoise.evalLoss));
  });

  it('row order in the file does not change the result (canonical order by row hash)', async () => {
    const rows = withHashes(taskRows(8, 9));
    const base = { checkpoint, recipe, evalRows, evalSetHash: 'e', backend: be, seed: 4 };
    const a = await runEvaluation({ ...base, trainRows: rows });
    const b = await runEvaluation({ ...base, trainRows: [...rows].reverse() });
    expect(b.evalLoss).toBe(a.evalLoss);
  });

  it('a trained adapter, loaded back without training, gives the same eval losses', async () => {
    const base = { checkpoint, recipe, evalRows, evalSetHash: 'e', backend: be, seed: 2 };
    const trained = await runEvaluation({ ...base, trainRows: withHashes(taskRows(8, 10)) });
    const loaded = await runEvaluation({ ...base, adapter: trained.adapter! });
    expect(loaded.perExample).toEqual(trained.perExample);
    // both receipts name the adapter evaluated: the trained one, hashed from its tensors
    expect(trained.receipt.adapterHash).toBe(adapterHash(trained.adapter!));
    expect(loaded.receipt.adapterHash).toBe(trained.receipt.adapterHash);
    const baseOnly = await runEvaluation(base);
    expect(baseOnly.receipt.adapterHash).toBeNull();
  });

  it('recipe hashes from before chatTemplate existed are unchanged, whether llama3 is named or not', () => {
    // recorded with src/protocol/recipe.ts as it was before the field (commit 506713d)
    const qwenLike = { lora: { rank: 16, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const }, epochs: 2, maxSeqLen: 2048, warmupRatio: 0.1 };
    expect(stableHash(RECIPE_V1)).toBe('13ec2351855ecc09c54dc1eaaa75350932b089796d87096755b89223cbe78ce7');
    expect(stableHash(recipeSchema.parse({ chatTemplate: 'llama3' }))).toBe('13ec2351855ecc09c54dc1eaaa75350932b089796d87096755b89223cbe78ce7');
    expect(stableHash(recipeSchema.parse({ ...qwenLike, lora: { ...qwenLike.lora, targets: [...qwenLike.lora.targets] } })))
      .toBe('edf087ec251886b8c668e80d494532f86e8e08287fc2ad2433698ed9519ead78');
    expect(stableHash(recipeSchema.parse({ chatTemplate: 'chatml' }))).not.toBe(stableHash(RECIPE_V1));
  });

  it('Qwen2 with the chatml recipe: trains, its receipt names the recipe, and a template the tokenizer lacks is refused up front', async () => {
    const qwenConfig = PRESETS['qwen2-tiny'];
    const qwenWeights = initPresetWeights(qwenConfig, 12);
    const qwen = { config: qwenConfig, weights: { get: (n: string) => qwenWeights.get(n)! }, tokenizer: tokenizerFromJson(qwen2ByteLevelTokenizerJson()), hash: 'qwen2-tiny-12' };
    const chatml = recipeSchema.parse({ ...recipe, chatTemplate: 'chatml', maxSeqLen: 160 });
    const base = { checkpoint: qwen, evalRows, evalSetHash: 'e', backend: be, seed: 3 };
    const before = await runEvaluation({ ...base, recipe: chatml });
    const trained = await runEvaluation({ ...base, recipe: chatml, trainRows: withHashes(taskRows(24, 7)) });
    expect(trained.evalLoss).toBeLessThan(before.evalLoss);
    expect(trained.receipt.recipeHash).toBe(stableHash(chatml));
    const again = await runEvaluation({ ...base, recipe: chatml, trainRows: withHashes(taskRows(24, 7)) });
    expect(again.perExample).toEqual(trained.perExample);
    for (const [ckpt, r, name] of [[qwen, recipe, 'llama3'], [checkpoint, chatml, 'chatml']] as const) {
      const err = await runEvaluation({ ...base, checkpoint: ckpt, recipe: r }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(EngineInputError);
      expect((err as Error).message).toContain(`the chat template "${name}" needs`);
    }
  });
});
