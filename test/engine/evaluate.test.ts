/**
 * Evaluation losses against an independent implementation: test/engine/oracle/llama_torch.py, a
 * plain-PyTorch Llama + LoRA computed in float64, on a checkpoint written to disk (bf16, tied
 * embeddings, GQA, llama3 RoPE scaling) — base model and a trained PEFT adapter. Agreement to 1e-4
 * relative per example. The same for Qwen2 (q/k/v biases, Qwen's RoPE theta and norm eps, untied
 * and tied heads) with rows rendered by the ChatML template — test/engine/oracle/chat_template.py
 * renders and tokenizes the rows itself, from the templates' definitions, and must get the engine's
 * ids and labels.
 * Needs python3 with torch (Debian: python3-torch; scripts/test.sh installs it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { loadCheckpoint, type Checkpoint } from '../../src/engine/checkpoint.js';
import { saveAdapter } from '../../src/engine/adapter.js';
import { initPresetWeights, PRESETS, writePresetCheckpoint } from '../../src/engine/presets.js';
import { countTargets, encodeChat, encodeChatRows, type ChatRow } from '../../src/engine/template.js';
import { toHfConfigJson } from '../../src/engine/config.js';
import { writeSafetensors } from '../../src/engine/safetensors.js';
import type { ChatTemplate } from '../../src/protocol/recipe.js';
import { runEvaluation } from '../../src/engine/run.js';
import { evaluate } from '../../src/engine/evaluate.js';
import { LlamaModel } from '../../src/engine/llama.js';
import { recipeSchema } from '../../src/protocol/recipe.js';
import { randomChatRows, runOracle } from './oracle/oracle.js';

const be = new CpuBackend({ threads: 2 });
let dir: string;
let ckpt: Checkpoint;

const rows = (n: number, seed: number) => randomChatRows(n, seed, { user: [10, 30], assistant: [5, 60] });

function oracle(request: unknown, model = 'model'): number[] {
  return runOracle<{ perExample: number[] }>('eval', join(dir, model), dir, request).perExample;
}

const sequences = (examples: readonly { ids: Int32Array; labels: Int32Array }[]) =>
  examples.map((e) => ({ ids: Array.from(e.ids), labels: Array.from(e.labels) }));

/** The oracle's own rendering of `rows` with `template` and the model folder's tokenizer. */
function oracleEncode(model: string, rows: readonly ChatRow[], template: ChatTemplate, maxSeqLen: number): { ids: number[]; labels: number[] }[] {
  return runOracle<{ sequences: { ids: number[]; labels: number[] }[] }>('encode', join(dir, model), dir, { rows, template, maxSeqLen }).sequences;
}

/** Random rows with non-ASCII text (é decomposed in some rows: NFC matters to Qwen's tokenizer). */
const unicodeRows = (n: number, seed: number): ChatRow[] => rows(n, seed).map((row, i) => ({
  ...row,
  conversations: row.conversations.map((t, j) => ({ ...t, content: (i + j) % 3 === 0 ? `${t.content} cafe\u0301 — ✓` : t.content })),
}));

function expectClose(ours: number[], theirs: number[]): void {
  expect(ours).toHaveLength(theirs.length);
  ours.forEach((v, i) => expect(Math.abs(v - theirs[i]!) / Math.abs(theirs[i]!), `example ${i}: ours ${v}, torch ${theirs[i]}`).toBeLessThan(1e-4));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flock-eval-'));
  writePresetCheckpoint(join(dir, 'model'), 'tiny', { seed: 21, dtype: 'BF16' });
  ckpt = await loadCheckpoint(join(dir, 'model'));
});
afterAll(() => {
  be.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('evaluate', () => {
  it('base-model per-example losses agree with the PyTorch oracle to 1e-4 relative', async () => {
    const { examples } = encodeChatRows(rows(6, 1), ckpt.tokenizer, 512);
    const model = LlamaModel.load(be, ckpt.config, ckpt.weights);
    const ours = await evaluate(model, examples);
    model.free();
    const theirs = oracle({ sequences: examples.map((e) => ({ ids: Array.from(e.ids), labels: Array.from(e.labels) })) });
    expectClose(ours.perExample, theirs);
    expect(ours.evalLoss).toBeCloseTo(theirs.reduce((a, b) => a + b, 0) / theirs.length, 4);
  });

  it('with a trained PEFT adapter on every projection, losses agree with the oracle', async () => {
    const recipe = recipeSchema.parse({
      epochs: 1, gradientAccumulation: 2, warmupSteps: 0, maxSeqLen: 128, optimizer: { lr: 2e-2 },
      lora: { targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    });
    const evalRows = rows(5, 2);
    const trained = await runEvaluation({
      checkpoint: ckpt, recipe, evalRows, evalSetHash: 'e', seed: 3, backend: be,
      trainRows: rows(8, 3).map((row, i) => ({ row, hash: String(i) })),
    });
    saveAdapter(join(dir, 'adapter'), trained.adapter!, ckpt.config);
    const { examples } = encodeChatRows(evalRows, ckpt.tokenizer, 128);
    const theirs = oracle({ adapter: join(dir, 'adapter'), sequences: examples.map((e) => ({ ids: Array.from(e.ids), labels: Array.from(e.labels) })) });
    expectClose(trained.perExample, theirs);
    // the adapter changed the model: the base model's losses differ
    const model = LlamaModel.load(be, ckpt.config, ckpt.weights);
    const base = await evaluate(model, examples);
    model.free();
    expect(Math.abs(base.perExample[0]! - theirs[0]!)).toBeGreaterThan(1e-3);
  });
});

describe('Qwen2 (q/k/v biases, ChatML)', () => {
  let qwen: Checkpoint;
  beforeAll(async () => {
    writePresetCheckpoint(join(dir, 'qwen2'), 'qwen2-tiny', { seed: 22, dtype: 'BF16' });
    qwen = await loadCheckpoint(join(dir, 'qwen2'));
  });

  it('the oracle renders and tokenizes rows as the engine does: chatml on Qwen2, llama3 on Llama (ids and labels, truncation)', () => {
    const evalRows = unicodeRows(8, 4);
    for (const [model, ckptOf, template] of [['qwen2', () => qwen, 'chatml'], ['model', () => ckpt, 'llama3']] as const) {
      for (const maxSeqLen of [512, 110, 60]) {
        const ours = evalRows.map((row) => encodeChat(row, ckptOf().tokenizer, maxSeqLen, template));
        if (maxSeqLen === 512) expect(ours.every((e) => e.ids.length < 512 && countTargets(e.labels) > 5)).toBe(true);
        expect(sequences(ours)).toEqual(oracleEncode(model, evalRows, template, maxSeqLen));
      }
    }
  });

  it('base-model per-example losses agree with the oracle to 1e-4 relative (untied head)', async () => {
    const { examples } = encodeChatRows(unicodeRows(6, 1), qwen.tokenizer, 512, 'chatml');
    const model = LlamaModel.load(be, qwen.config, qwen.weights);
    const ours = await evaluate(model, examples);
    model.free();
    expectClose(ours.perExample, oracle({ sequences: sequences(examples) }, 'qwen2'));
  });

  it('with a tied head (as Qwen2.5-1.5B), losses agree with the oracle', async () => {
    const config = { ...PRESETS['qwen2-tiny'], tieWordEmbeddings: true };
    const weights = initPresetWeights(config, 23);
    expect(weights.has('lm_head.weight')).toBe(false);
    mkdirSync(join(dir, 'qwen2-tied'));
    writeFileSync(join(dir, 'qwen2-tied', 'config.json'), JSON.stringify(toHfConfigJson(config)));
    writeSafetensors(join(dir, 'qwen2-tied', 'model.safetensors'), new Map([...weights].map(([n, t]) => [n, { dtype: 'F32' as const, ...t }])));
    const { examples } = encodeChatRows(rows(5, 5), qwen.tokenizer, 512, 'chatml');
    const model = LlamaModel.load(be, config, { get: (n) => weights.get(n)! });
    const ours = await evaluate(model, examples);
    model.free();
    expectClose(ours.perExample, oracle({ sequences: sequences(examples) }, 'qwen2-tied'));
  });

  it('with a PEFT adapter trained by a chatml recipe on every projection (LoRA on top of the biases), losses agree with the oracle', async () => {
    const recipe = recipeSchema.parse({
      chatTemplate: 'chatml', epochs: 1, gradientAccumulation: 2, warmupSteps: 0, maxSeqLen: 192, optimizer: { lr: 2e-2 },
      lora: { targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    });
    const evalRows = rows(5, 2);
    const trained = await runEvaluation({
      checkpoint: qwen, recipe, evalRows, evalSetHash: 'e', seed: 3, backend: be,
      trainRows: rows(8, 3).map((row, i) => ({ row, hash: String(i) })),
    });
    saveAdapter(join(dir, 'qwen2-adapter'), trained.adapter!, qwen.config);
    const { examples } = encodeChatRows(evalRows, qwen.tokenizer, 192, 'chatml');
    const theirs = oracle({ adapter: join(dir, 'qwen2-adapter'), sequences: sequences(examples) }, 'qwen2');
    expectClose(trained.perExample, theirs);
    const model = LlamaModel.load(be, qwen.config, qwen.weights);
    const base = await evaluate(model, examples);
    model.free();
    expect(Math.abs(base.perExample[0]! - theirs[0]!)).toBeGreaterThan(1e-3);
  });
});
