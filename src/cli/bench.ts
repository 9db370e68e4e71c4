/** `flock bench engine`: training and evaluation throughput of the engine on a preset model. */
import { Command, Option } from 'commander';
import { z } from 'zod';
import { benchmarkEngine } from '../engine/benchmark.js';
import { BACKEND_KINDS, PRECISIONS } from '../engine/backend/select.js';
import { addJsonOption, jsonSchema, oneOf, parsePositiveInt, positiveInt } from './options.js';
import { action } from './run.js';
import { WEIGHT_PRESETS } from '../engine/presets.js';
import type { CommandContext } from './context.js';

const engineSchema = z.object({
  ...jsonSchema.shape,
  preset: oneOf(WEIGHT_PRESETS), seqLen: positiveInt, accumulation: positiveInt, steps: positiveInt, evalSequences: positiveInt,
  threads: positiveInt.optional(), backend: oneOf(BACKEND_KINDS), precision: oneOf([...PRECISIONS, 'both']).optional(),
});

async function engine(ctx: CommandContext<z.output<typeof engineSchema>>): Promise<number> {
  const o = ctx.opts;
  // --precision both: one run per precision, printed one after the other
  for (const precision of o.precision === 'both' ? PRECISIONS : [o.precision]) {
    const r = await benchmarkEngine({
      preset: o.preset, seqLen: o.seqLen, accumulation: o.accumulation, steps: o.steps, evalSequences: o.evalSequences,
      threads: o.threads, backend: o.backend, log: ctx.log, ...(precision ? { precision } : {}),
    });
    if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else {
      const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
      process.stdout.write([
        `engine ${r.backend}${r.threads ? ` (${r.threads} threads)` : ''}, preset ${r.preset}, LoRA recipe v1, seq ${r.seqLen}, batch 1, accumulation ${r.accumulation}`,
        `  train ${r.trainTokensPerSecond.toFixed(0)} tok/s (${r.trainTokens} tokens in ${r.trainSeconds.toFixed(1)} s)`,
        `  eval  ${r.evalTokensPerSecond.toFixed(0)} tok/s (${r.evalTokens} tokens in ${r.evalSeconds.toFixed(1)} s)`,
        `  peak RSS ${mib(r.peakRssBytes)}, ${mib(r.peakRssBytes - r.baselineRssBytes)} above the ${mib(r.baselineRssBytes)} before loading (weights + activations + optimizer state: ${mib(r.modelBytes)})`,
        ...(r.peakGpuBytes !== undefined ? [`  peak GPU memory ${mib(r.peakGpuBytes)} (WebGPU buffer pool)`] : []),
        `  compute ${r.compute}`,
      ].join('\n') + '\n');
    }
  }
  return 0;
}

/** Register `flock bench …`. */
export function register(program: Command): void {
  const group = program.command('bench').description('benchmarks');
  const cmd = group
    .command('engine')
    .description('LoRA training and evaluation throughput (tokens/s) and peak memory of the training engine')
    .addOption(new Option('--preset <name>', 'model preset (llama-3.2-1b: the real shapes, random weights)').choices([...WEIGHT_PRESETS]).default('small'))
    .addOption(new Option('--seq-len <n>', 'tokens per sequence').argParser(parsePositiveInt('--seq-len')).default(256))
    .addOption(new Option('--accumulation <n>', 'sequences per optimizer step').argParser(parsePositiveInt('--accumulation')).default(8))
    .addOption(new Option('--steps <n>', 'optimizer steps to time').argParser(parsePositiveInt('--steps')).default(2))
    .addOption(new Option('--eval-sequences <n>', 'sequences to evaluate').argParser(parsePositiveInt('--eval-sequences')).default(8))
    .addOption(new Option('--threads <n>', 'CPU threads (default: all cores)').argParser(parsePositiveInt('--threads')))
    .addOption(new Option('--backend <kind>', 'compute backend: cpu, webgpu, auto (a hardware GPU if there is one, else cpu)').choices([...BACKEND_KINDS]).default('cpu'))
    .addOption(new Option('--precision <p>', 'WebGPU compute precision: f32, f16 (f16 matrix-product inputs, f32 accumulation), or both (one run each)').choices([...PRECISIONS, 'both']));
  addJsonOption(cmd);
  cmd.action(action(engineSchema, engine));
}
