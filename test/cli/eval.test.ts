/** `flock eval` and `flock bench engine` as a user runs them (built CLI, real files). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFlock } from '../helpers/cli.js';

let dir: string;
const rows = (n: number, offset: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ conversations: [{ role: 'user', content: `say ${i + offset}` }, { role: 'assistant', content: `${i + offset} ${i + offset}` }] })).join('\n') + '\n';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flock-cli-eval-'));
  const init = runFlock(['model', 'init', join(dir, 'model'), '--preset', 'tiny']);
  expect(init.code, init.stderr).toBe(0);
  writeFileSync(join(dir, 'train.jsonl'), rows(12, 0));
  writeFileSync(join(dir, 'eval.jsonl'), rows(4, 100));
  writeFileSync(join(dir, 'recipe.json'), JSON.stringify({ epochs: 1, gradientAccumulation: 4, warmupSteps: 1 }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('flock eval', () => {
  it('trains, evaluates, prints one JSON object with losses and a receipt, saves a PEFT adapter', () => {
    const r = runFlock(['eval', '--model', join(dir, 'model'), '--eval', join(dir, 'eval.jsonl'), '--train', join(dir, 'train.jsonl'),
      '--recipe', join(dir, 'recipe.json'), '--save-adapter', join(dir, 'adapter'), '--json', '--threads', '2']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.evalLoss).toBeGreaterThan(0);
    expect(out.perExample).toHaveLength(4);
    expect(out.evalLoss).toBeCloseTo(out.perExample.reduce((a: number, b: number) => a + b, 0) / 4, 10);
    expect(out.trainTokens).toBeGreaterThan(0);
    expect(out.trainSteps).toBe(3);
    expect(out.seconds).toBeGreaterThan(0);
    expect(out.receipt).toMatchObject({ engine: 'flock-engine', backend: 'cpu', seed: 0 });
    for (const k of ['modelHash', 'datasetHash', 'evalSetHash', 'recipeHash']) expect(out.receipt[k]).toMatch(/^[0-9a-f]{64}$/);
    expect(existsSync(join(dir, 'adapter', 'adapter_config.json'))).toBe(true);
    expect(existsSync(join(dir, 'adapter', 'adapter_model.safetensors'))).toBe(true);

    // the saved adapter, evaluated without training, gives the same loss
    const again = runFlock(['eval', '--model', join(dir, 'model'), '--eval', join(dir, 'eval.jsonl'), '--no-train', '--adapter', join(dir, 'adapter'), '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).perExample).toEqual(out.perExample);
  });

  it('the receipt names the kernels that computed the losses (FLOCK_CPU_KERNELS=js gives another compute identity)', () => {
    const args = ['eval', '--model', join(dir, 'model'), '--eval', join(dir, 'eval.jsonl'), '--train', join(dir, 'train.jsonl'), '--recipe', join(dir, 'recipe.json'), '--json'];
    const wasm = runFlock(args), js = runFlock(args, { env: { FLOCK_CPU_KERNELS: 'js' } });
    expect(wasm.code, wasm.stderr).toBe(0);
    expect(js.code, js.stderr).toBe(0);
    const a = JSON.parse(wasm.stdout).receipt, b = JSON.parse(js.stdout).receipt;
    expect(a.kernels).toEqual({ matmul: 'wasm-simd', attention: 'wasm-simd' });
    expect(b.kernels).toEqual({ matmul: 'js', attention: 'js' });
    expect(a.compute).toBe(`flock-engine ${a.engineVersion} · cpu · attention=wasm-simd matmul=wasm-simd`);
    expect(b.compute).toBe(`flock-engine ${b.engineVersion} · cpu · attention=js matmul=js`);
    expect(a.device).toBeNull();
  });

  it('without --train or --no-train it is a usage error (exit 2)', () => {
    const r = runFlock(['eval', '--model', join(dir, 'model'), '--eval', join(dir, 'eval.jsonl')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--no-train');
  });

  it('a bad recipe is refused naming the field', () => {
    writeFileSync(join(dir, 'bad-recipe.json'), JSON.stringify({ lora: { rank: 0 } }));
    const r = runFlock(['eval', '--model', join(dir, 'model'), '--eval', join(dir, 'eval.jsonl'), '--no-train', '--recipe', join(dir, 'bad-recipe.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('lora.rank');
  });
});

describe('flock bench engine', () => {
  it('prints train and eval tokens/s and peak RSS as JSON', () => {
    const r = runFlock(['bench', 'engine', '--preset', 'tiny', '--seq-len', '32', '--accumulation', '2', '--steps', '1', '--eval-sequences', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ preset: 'tiny', backend: 'cpu', seqLen: 32, accumulation: 2, trainTokens: 64, evalTokens: 64 });
    expect(out.trainTokensPerSecond).toBeGreaterThan(0);
    expect(out.evalTokensPerSecond).toBeGreaterThan(0);
    expect(out.peakRssBytes).toBeGreaterThan(out.modelBytes);
  });
});
