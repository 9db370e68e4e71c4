import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFlock } from '../helpers/cli.js';
import { loadCheckpoint } from '../../src/engine/checkpoint.js';
import { PRESETS } from '../../src/engine/presets.js';

const root = mkdtempSync(join(tmpdir(), 'flock-cli-model-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('flock model', () => {
  it('init writes a loadable checkpoint, deterministic for a seed', async () => {
    const dir = join(root, 'tiny');
    const r = runFlock(['model', 'init', dir, '--preset', 'tiny', '--seed', '3']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote the tiny Llama checkpoint (`);
    expect(r.stdout).toContain('BF16, seed 3');
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const ckpt = await loadCheckpoint(dir);
    expect(ckpt.config).toEqual(PRESETS.tiny);

    const again = join(root, 'tiny-again');
    const j = runFlock(['model', 'init', again, '--preset', 'tiny', '--seed', '3', '--json']);
    expect(j.code).toBe(0);
    const out = JSON.parse(j.stdout);
    expect(out).toMatchObject({ dir: again, preset: 'tiny', seed: 3, dtype: 'BF16', config: { hiddenSize: 64 } });
    expect(out.files).toContain('model.safetensors');
    expect(readFileSync(join(again, 'model.safetensors')).equals(readFileSync(join(dir, 'model.safetensors')))).toBe(true);

    const insp = runFlock(['model', 'inspect', dir, '--json']);
    expect(insp.code).toBe(0);
    expect(JSON.parse(insp.stdout)).toMatchObject({ hash: ckpt.hash, tensors: 20, dtypes: ['BF16'], tokenizer: { vocabSize: 512 } });
  });

  it('init --preset qwen2-tiny writes a Qwen2 checkpoint; inspect names the family and its chatml tokens', async () => {
    const dir = join(root, 'qwen2-tiny');
    const r = runFlock(['model', 'init', dir, '--preset', 'qwen2-tiny']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('wrote the qwen2-tiny Qwen2 checkpoint (');
    const ckpt = await loadCheckpoint(dir);
    expect(ckpt.config).toEqual(PRESETS['qwen2-tiny']);
    const insp = runFlock(['model', 'inspect', dir]);
    expect(insp.code).toBe(0);
    expect(insp.stdout).toContain(': Qwen2, ');
    expect(insp.stdout).toContain('chat templates: chatml (<|im_end|> = 258)');
    const json = JSON.parse(runFlock(['model', 'inspect', dir, '--json']).stdout);
    // embeddings, lm head, final norm, and per layer 2 norms, 7 weights and 3 biases
    expect(json).toMatchObject({ tensors: 3 + 2 * 12, tokenizer: { vocabSize: 278, llama3: null, chatml: { imStart: 257, imEnd: 258 } } });
  });

  it('init writes the small preset, sharded and in f32 on request', async () => {
    const dir = join(root, 'small');
    const r = runFlock(['model', 'init', dir, '--preset', 'small', '--dtype', 'f32', '--max-shard-size', '4000000', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.parameters).toBe(3_033_344);
    expect(out.files).toContain('model.safetensors.index.json');
    expect(out.files.filter((f: string) => f.startsWith('model-0000')).length).toBe(4);
    const ckpt = await loadCheckpoint(dir);
    expect(ckpt.config).toEqual(PRESETS.small);
    expect(ckpt.weights.info('model.embed_tokens.weight')).toEqual({ shape: [512, 256], dtype: 'F32' });
  });

  it('refuses bad usage and bad folders with clear messages', () => {
    const bad = runFlock(['model', 'init', join(root, 'x'), '--preset', 'huge']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("'huge' is invalid");

    const full = join(root, 'full');
    runFlock(['model', 'init', full]);
    const again = runFlock(['model', 'init', full]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`error: ${full} is not empty`);
    expect(again.stderr).toContain('--force');

    writeFileSync(join(full, 'config.json'), JSON.stringify({ model_type: 'gpt2' }));
    const insp = runFlock(['model', 'inspect', full]);
    expect(insp.code).toBe(1);
    expect(insp.stderr).toContain('model_type "gpt2" is not supported');
    expect(insp.stderr).not.toContain('    at '); // no stack trace
  });
});
