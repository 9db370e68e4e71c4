/**
 * `flock eval`: the validators' evaluation, runnable by anyone — train a LoRA adapter with the
 * recipe on a dataset (unless --no-train), evaluate it on an eval set, print the losses and a
 * receipt. A progress bar (step, loss, tokens/s, ETA) is drawn on a terminal.
 */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { loadCheckpoint } from '../engine/checkpoint.js';
import { loadAdapter, saveAdapter } from '../engine/adapter.js';
import { BACKEND_KINDS, createBackend, PRECISIONS } from '../engine/backend/select.js';
import { runEvaluation } from '../engine/run.js';
import { validateDataset, rowHash } from '../dataset/index.js';
import { recipeSchema, type Recipe } from '../protocol/recipe.js';
import { FlockError, UsageError } from '../util/errors.js';
import { addJsonOption, expandHome, jsonSchema, nonNegativeInt, oneOf, parseNonNegativeInt, parsePositiveInt, positiveInt, text } from './options.js';
import { action } from './run.js';
import type { CommandContext } from './context.js';

const evalSchema = z.object({
  ...jsonSchema.shape,
  model: text, eval: text,
  /** a file; false with --no-train */
  train: z.union([z.boolean(), text], { error: 'must be a file, or false (--no-train)' }).optional(),
  recipe: text.optional(), adapter: text.optional(), saveAdapter: text.optional(),
  seed: nonNegativeInt, threads: positiveInt.optional(), backend: oneOf(BACKEND_KINDS), precision: oneOf(PRECISIONS).optional(),
});

/** Read a recipe file: a recipe object, or a competition.json whose `recipe` field is one. */
export function readRecipeFile(path: string): Recipe {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new FlockError(`cannot read the recipe ${path}: ${(err as Error).message}`, { hint: 'pass a JSON file with a recipe object (or a competition.json)' });
  }
  const candidate = json && typeof json === 'object' && 'recipe' in json ? (json as { recipe: unknown }).recipe : json;
  const parsed = recipeSchema.safeParse(candidate);
  if (!parsed.success) {
    throw new FlockError(`${path} is not a valid recipe`, {
      details: parsed.error.issues.slice(0, 20).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
      hint: 'every field is optional and defaults to recipe v1; fix or remove the fields named above',
    });
  }
  return parsed.data;
}

async function readRows(path: string, what: string) {
  const ds = await validateDataset(path);
  if (ds.errorCount > 0) {
    throw new FlockError(`the ${what} ${path} has ${ds.errorCount} problem(s)`, {
      details: ds.errors.slice(0, 20),
      hint: 'run `flock dataset check` on it for the full list',
    });
  }
  if (ds.rows.length === 0) throw new FlockError(`the ${what} ${path} has no rows`);
  return ds;
}

function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

/** A one-line progress bar on stderr (terminal only). */
function progressBar(enabled: boolean) {
  let last = 0;
  return {
    draw(label: string, done: number, total: number, extra: string, tokens: number, started: number) {
      if (!enabled) return;
      const now = performance.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const secs = (now - started) / 1000;
      const width = 24;
      const filled = Math.round((done / Math.max(1, total)) * width);
      const rate = tokens / Math.max(secs, 1e-9);
      const eta = done > 0 ? (secs / done) * (total - done) : NaN;
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${extra} ${rate.toFixed(0)} tok/s ETA ${formatDuration(eta)}\x1b[K`);
      if (done >= total) process.stderr.write('\n');
    },
  };
}

async function evalCommand(ctx: CommandContext<z.output<typeof evalSchema>>): Promise<number> {
  const o = ctx.opts;
  const noTrain = o.train === false; // commander: --no-train sets train to false
  const trainPath = typeof o.train === 'string' ? expandHome(o.train) : undefined;
  if (!noTrain && !trainPath) throw new UsageError('pass --train FILE to train an adapter, or --no-train to evaluate without training');
  const modelDir = expandHome(o.model);
  const recipe = o.recipe ? readRecipeFile(expandHome(o.recipe)) : recipeSchema.parse({});
  const checkpoint = await loadCheckpoint(modelDir);
  const evalSet = await readRows(expandHome(o.eval), 'eval set');
  const trainSet = trainPath ? await readRows(trainPath, 'training set') : undefined;
  const adapterDir = o.adapter ? expandHome(o.adapter) : undefined;
  const adapter = adapterDir ? loadAdapter(adapterDir, checkpoint.config) : undefined;
  const backend = await createBackend(o.backend, ctx.log, { threads: o.threads, precision: o.precision });
  const bar = progressBar(ctx.interactive && !o.json);
  // rates count from here (model upload and tokenization included: a few percent at most)
  const trainStarted = performance.now();
  let evalStarted = trainStarted;
  ctx.log.info('evaluating', { model: modelDir, evalRows: evalSet.rows.length, trainRows: trainSet?.rows.length ?? 0, backend: backend.name });
  const result = await runEvaluation({
    checkpoint,
    recipe,
    evalRows: evalSet.rows,
    evalSetHash: evalSet.identity,
    trainRows: noTrain ? undefined : trainSet!.rows.map((row) => ({ row, hash: rowHash(row) })),
    datasetHash: trainSet?.identity,
    adapter,
    baseModel: modelDir,
    seed: o.seed,
    backend,
    onTrainStep: (p) => {
      bar.draw('train', p.step, p.totalSteps, `loss ${p.loss.toFixed(4)}`, p.tokens, trainStarted);
      if (p.step === p.totalSteps) evalStarted = performance.now();
    },
    onEvalProgress: (p) => bar.draw('eval ', p.done, p.total, '', p.tokens, evalStarted),
  }).finally(() => backend.dispose());
  let savedTo: string | null = null;
  if (o.saveAdapter && result.adapter) {
    savedTo = expandHome(o.saveAdapter);
    saveAdapter(savedTo, result.adapter, checkpoint.config);
  } else if (o.saveAdapter) {
    ctx.log.warning('nothing to save: no adapter was trained or loaded');
  }
  const out = {
    evalLoss: result.evalLoss,
    perExample: result.perExample,
    droppedEval: result.droppedEval,
    trainTokens: result.trainTokens,
    trainSteps: result.trainSteps,
    evalTokens: result.evalTokens,
    seconds: result.seconds,
    trainTokensPerSecond: result.trainSeconds > 0 ? result.trainTokens / result.trainSeconds : null,
    evalTokensPerSecond: result.evalTokens / result.evalSeconds,
    adapterDir: savedTo,
    receipt: result.receipt,
  };
  if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else {
    const lines = [
      `eval loss ${result.evalLoss.toFixed(6)} over ${result.perExample.length} example(s)${result.droppedEval.length ? ` (${result.droppedEval.length} dropped: no target left after truncation)` : ''}`,
      result.trainSteps > 0 ? `trained ${result.trainSteps} step(s) on ${result.trainTokens} tokens (${out.trainTokensPerSecond!.toFixed(0)} tok/s)` : 'no training',
      `evaluated ${result.evalTokens} tokens (${out.evalTokensPerSecond.toFixed(0)} tok/s); ${result.seconds.toFixed(1)} s in all`,
      ...(savedTo ? [`adapter saved to ${savedTo} (${join(savedTo, 'adapter_model.safetensors')})`] : []),
      `receipt: model ${result.receipt.modelHash.slice(0, 16)}… dataset ${result.receipt.datasetHash?.slice(0, 16) ?? '-'}… eval ${result.receipt.evalSetHash.slice(0, 16)}… recipe ${result.receipt.recipeHash.slice(0, 16)}… compute: ${result.receipt.compute}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return 0;
}

/** Register `flock eval`. */
export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description('train a LoRA adapter on a dataset with the evaluation recipe and report its loss on an eval set')
    .requiredOption('--model <dir>', 'Hugging Face Llama checkpoint folder (config.json, *.safetensors, tokenizer.json)')
    .requiredOption('--eval <file>', 'evaluation set (JSONL chat rows)')
    .option('--train <file>', 'training dataset (JSONL chat rows)')
    .option('--no-train', 'evaluate without training (the base model, or --adapter)')
    .option('--recipe <file>', 'recipe JSON (or a competition.json); default recipe v1')
    .option('--adapter <dir>', 'start from this PEFT adapter (evaluated as is with --no-train)')
    .option('--save-adapter <dir>', 'write the trained adapter here in PEFT format')
    .addOption(new Option('--seed <n>', 'seed for shuffling, dropout and LoRA init').argParser(parseNonNegativeInt('--seed')).default(0))
    .addOption(new Option('--threads <n>', 'CPU threads (default: all cores)').argParser(parsePositiveInt('--threads')))
    .addOption(new Option('--backend <kind>', 'compute backend: cpu, webgpu (a GPU through WebGPU), auto (a hardware GPU if there is one, else cpu)').choices([...BACKEND_KINDS]).default('cpu'))
    .addOption(new Option('--precision <p>', 'WebGPU compute precision: f32, or f16 (f16 matrix-product inputs, f32 accumulation; needs shader-f16)').choices([...PRECISIONS]));
  addJsonOption(cmd);
  cmd.action(action(evalSchema, evalCommand));
}
