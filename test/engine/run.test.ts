/**
 * Training end to end on the tiny preset (in memory): the same seed gives a bit-identical result,
 * training on rows from the eval distribution lowers the eval loss more than training on noise,
 * and a trained adapter evaluates to the same loss when loaded back.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { PRESETS, byteLevelTokenizerJson, initPresetWeights } from '../../src/engine/presets.js';
import { tokenizerFromJson } from '../../src/engine/tokenizer.js';
import { runEvaluation } from '../../src/engine/run.js';
import { Stream } from '../../src/engine/prng.js';
import { recipeSchema } from '../../src/protocol/recipe.js';
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
    expect(loaded.receipt.adapterHash).toMatch(/^[0-9a-f]{64}$/);
  });
});
