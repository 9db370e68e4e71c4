/**
 * `flock model init|inspect`: make small Llama checkpoints in Hugging Face layout (for tests,
 * benchmarks and the local subnet) and check that a model folder loads (config, tensor layout,
 * tokenizer, hash).
 */
import { Command, Option } from 'commander';
import { z } from 'zod';
import { loadCheckpoint } from '../engine/checkpoint.js';
import { WEIGHT_PRESETS, writePresetCheckpoint } from '../engine/presets.js';
import type { FloatDtype } from '../engine/safetensors.js';
import { addJsonOption, expandHome, flag, jsonSchema, nonNegativeInt, oneOf, parseNonNegativeInt, parsePositiveInt, positiveInt } from './options.js';
import { action } from './run.js';
import type { CommandContext } from './context.js';

/** `--dtype` as written on the command line → the safetensors dtype. */
const DTYPES = { bf16: 'BF16', f32: 'F32', f16: 'F16' } as const satisfies Record<string, FloatDtype>;
const DTYPE_NAMES = ['bf16', 'f32', 'f16'] as const;

const initSchema = z.object({
  ...jsonSchema.shape,
  preset: oneOf(WEIGHT_PRESETS), seed: nonNegativeInt, dtype: oneOf(DTYPE_NAMES).transform((d) => DTYPES[d]),
  maxShardSize: positiveInt.optional(), force: flag,
});

function print(ctx: CommandContext<{ json: boolean }>, json: unknown, text: string[]): void {
  if (ctx.opts.json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  else process.stdout.write(`${text.join('\n')}\n`);
}

function init(ctx: CommandContext<z.output<typeof initSchema>>, dirArg: string): number {
  const dir = expandHome(dirArg);
  const { preset, dtype, seed } = ctx.opts;
  const written = writePresetCheckpoint(dir, preset, { seed, dtype, force: ctx.opts.force, maxShardBytes: ctx.opts.maxShardSize });
  const c = written.config;
  ctx.log.debug('model written', { dir, preset, seed });
  print(ctx, { dir, preset, seed, dtype, parameters: written.parameters, files: written.files, config: c }, [
    `wrote the ${preset} ${c.modelType === 'qwen2' ? 'Qwen2' : 'Llama'} checkpoint (${written.parameters.toLocaleString('en-US')} parameters, ${dtype}, seed ${seed}) to ${dir}`,
    `  hidden ${c.hiddenSize}, ${c.numLayers} layers, ${c.numHeads} heads / ${c.numKvHeads} KV heads, intermediate ${c.intermediateSize}, vocab ${c.vocabSize}`,
    ...written.files.map((f) => `  ${f}`),
  ]);
  return 0;
}

async function inspect(ctx: CommandContext<z.output<typeof jsonSchema>>, dirArg: string): Promise<number> {
  const dir = expandHome(dirArg);
  const ckpt = await loadCheckpoint(dir);
  const names = ckpt.weights.names();
  const dtypes = [...new Set(names.map((n) => ckpt.weights.info(n).dtype))];
  const parameters = names.reduce((s, n) => s + ckpt.weights.info(n).shape.reduce((p, d) => p * d, 1), 0);
  const c = ckpt.config;
  print(ctx, {
    dir, hash: ckpt.hash, config: c, files: ckpt.files, tensors: names.length, parameters, dtypes, ignored: ckpt.ignored,
    tokenizer: { vocabSize: ckpt.tokenizer.vocabSize, llama3: ckpt.tokenizer.llama3, chatml: ckpt.tokenizer.chatml },
  }, [
    `${dir}: ${c.modelType === 'qwen2' ? 'Qwen2' : 'Llama'}, ${parameters.toLocaleString('en-US')} parameters in ${names.length} tensors (${dtypes.join(', ')}), ${ckpt.files.length} file(s)`,
    `  hidden ${c.hiddenSize}, ${c.numLayers} layers, ${c.numHeads} heads / ${c.numKvHeads} KV heads (head_dim ${c.headDim}), intermediate ${c.intermediateSize}, vocab ${c.vocabSize}`,
    `  rope_theta ${c.ropeTheta}${c.ropeScaling ? `, llama3 scaling ×${c.ropeScaling.factor}` : ''}, tied embeddings: ${c.tieWordEmbeddings ? 'yes' : 'no'}`,
    `  tokenizer: ${ckpt.tokenizer.vocabSize} ids, chat templates: ${[ckpt.tokenizer.llama3 ? `llama3 (<|eot_id|> = ${ckpt.tokenizer.llama3.eotId})` : '', ckpt.tokenizer.chatml ? `chatml (<|im_end|> = ${ckpt.tokenizer.chatml.imEnd})` : ''].filter(Boolean).join(', ')}`,
    ...(ckpt.ignored.length > 0 ? [`  unused tensors: ${ckpt.ignored.join(', ')}`] : []),
    `  hash ${ckpt.hash}`,
  ]);
  return 0;
}

/** Register `flock model …`. */
export function register(program: Command): void {
  const group = program.command('model').description('make small Llama checkpoints and inspect model folders');

  const initCmd = group.command('init').argument('<dir>', 'folder to write (created if needed)')
    .description('write a Llama or Qwen2 checkpoint in Hugging Face layout (config.json, model.safetensors, byte-level tokenizer.json with the Llama 3 or Qwen2 special tokens)')
    .addOption(new Option('--preset <name>', 'model shape').choices([...WEIGHT_PRESETS]).default('tiny'))
    .addOption(new Option('--seed <n>', 'seed of the random weights').argParser(parseNonNegativeInt('--seed')).default(0))
    .addOption(new Option('--dtype <dtype>', 'storage dtype of the weights').choices([...DTYPE_NAMES]).default('bf16'))
    .addOption(new Option('--max-shard-size <bytes>', 'split the weights into shards of at most this size (writes model.safetensors.index.json)')
      .argParser(parsePositiveInt('--max-shard-size')))
    .option('--force', 'write into a folder that is not empty', false);
  addJsonOption(initCmd).action(action(initSchema, init));

  const inspectCmd = group.command('inspect').argument('<dir>', 'model folder')
    .description('load a model folder as the engine does (config, every tensor\'s shape, tokenizer) and print its summary and hash');
  addJsonOption(inspectCmd).action(action(jsonSchema, inspect));
}
