/**
 * `flock localnet`: the whole subnet on this machine, offline — devnet, local hub, owner, miners
 * with datasets of known quality, validators — for the given rounds; prints the leaderboard.
 */
import { Command, Option } from 'commander';
import { z } from 'zod';
import { runLocalnet } from '../localnet/localnet.js';
import { formatLocalnetReport } from '../localnet/report.js';
import { markLongRunning, type CommandContext } from './context.js';
import { addJsonOption, expandHome, flag, jsonSchema, nonNegativeInt, parseNonNegativeInt, parsePositiveInt, positiveInt, text } from './options.js';
import { action } from './run.js';

const localnetSchema = z.object({
  ...jsonSchema.shape,
  dir: text.optional(), miners: positiveInt.optional(), validators: positiveInt.optional(), rounds: positiveInt.optional(),
  quick: flag, threads: positiveInt.optional(), workers: nonNegativeInt.optional(),
});

async function localnetCommand(ctx: CommandContext<z.output<typeof localnetSchema>>): Promise<number> {
  const o = ctx.opts;
  const controller = new AbortController();
  const onSignal = () => {
    ctx.log.warning('stopping the local subnet (signal again to force)');
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const report = await runLocalnet({
      dir: o.dir ? expandHome(o.dir) : undefined,
      miners: o.miners, validators: o.validators, rounds: o.rounds,
      quick: o.quick, threads: o.threads, workers: o.workers, log: ctx.log, signal: controller.signal,
      onProgress: (m) => ctx.log.info(m),
    });
    if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else process.stdout.write(formatLocalnetReport(report));
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

export function register(program: Command): void {
  const cmd = program.command('localnet').description('run the whole subnet locally and offline (devnet, hub, owner, miners, validators) and print the leaderboard');
  cmd
    .addOption(new Option('--dir <dir>', 'working folder (chain, hub, wallets, datasets, validator state); a temporary folder by default'))
    .addOption(new Option('--miners <n>', 'miners: one per dataset kind by default (7)').argParser(parsePositiveInt('--miners')))
    .addOption(new Option('--validators <n>', 'validators (default 3, 2 with --quick)').argParser(parsePositiveInt('--validators')))
    .addOption(new Option('--rounds <n>', 'rounds of weights, one per epoch (default 3, 2 with --quick)').argParser(parsePositiveInt('--rounds')))
    .addOption(new Option('--quick', 'smaller evaluation set, datasets and recipe (a couple of minutes)'))
    .addOption(new Option('--threads <n>', 'CPU threads for training (default: all cores; with --workers, per worker: the cores shared among them)').argParser(parsePositiveInt('--threads')))
    .addOption(new Option('--workers <n>', 'train through the evaluation queue: starts redis-server (it must be installed) and n workers per validator').argParser(parseNonNegativeInt('--workers')));
  addJsonOption(cmd);
  markLongRunning(cmd);
  cmd.action(action(localnetSchema, localnetCommand));
}
