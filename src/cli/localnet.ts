/**
 * `flock localnet`: the whole subnet on this machine, offline — devnet, local hub, owner, miners
 * with datasets of known quality, validators — for the given rounds; prints the leaderboard.
 */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { z } from 'zod';
import { runLocalnet, type LocalnetReport, type LocalnetServeContext } from '../localnet/localnet.js';
import { formatLocalnetReport } from '../localnet/report.js';
import { markLongRunning, type CommandContext } from './context.js';
import { addJsonOption, expandHome, flag, jsonSchema, nonNegativeInt, parseNonNegativeInt, parsePositiveInt, positiveInt, text } from './options.js';
import { action } from './run.js';

const localnetSchema = z.object({
  ...jsonSchema.shape,
  dir: text.optional(), miners: positiveInt.optional(), validators: positiveInt.optional(), rounds: positiveInt.optional(),
  quick: flag, threads: positiveInt.optional(), workers: nonNegativeInt.optional(),
  serve: flag, port: nonNegativeInt, host: text,
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
  const print = (report: LocalnetReport) => {
    if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else process.stdout.write(formatLocalnetReport(report));
  };
  let printed = false;
  try {
    const report = await runLocalnet({
      dir: o.dir ? expandHome(o.dir) : undefined,
      miners: o.miners, validators: o.validators, rounds: o.rounds,
      quick: o.quick, threads: o.threads, workers: o.workers, log: ctx.log, signal: controller.signal,
      onProgress: (m) => ctx.log.info(m),
      serve: o.serve ? async (served) => {
        print(served.report);
        printed = true;
        await serveDashboard(ctx, served, { port: o.port, host: o.host });
      } : undefined,
    });
    if (!printed) print(report);
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/**
 * `--serve`: the dashboard over the running local subnet until Ctrl-C, with a block every 12 s
 * so the chain moves as a live one does.
 */
async function serveDashboard(ctx: CommandContext, served: LocalnetServeContext, o: { port: number; host: string }): Promise<void> {
  const [{ startDashboard }, { HubClient }] = await Promise.all([import('../dashboard/index.js'), import('../hub/index.js')]);
  const hub = new HubClient({ hubUrl: served.hubUrl, cacheDir: join(served.report.dir, 'cache', 'dashboard'), retries: 0 });
  const dashboard = await startDashboard({ chain: served.chain, hub, netuid: served.report.netuid, port: o.port, host: o.host, log: ctx.log, resultsEveryMs: 2000 });
  process.stdout.write(`\ndashboard: ${dashboard.url}\nthe subnet keeps running (devnet ${served.report.chain}, hub ${served.report.hub}); Ctrl-C stops it\n`);
  const ticker = setInterval(() => void served.devnet.produceBlocks(1).catch(() => undefined), 12_000);
  try {
    await new Promise<void>((resolve) => {
      if (!served.signal || served.signal.aborted) return resolve();
      served.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    clearInterval(ticker);
    await dashboard.close();
  }
}

export function register(program: Command): void {
  const cmd = program.command('localnet').description('run the whole subnet locally and offline (devnet, hub, owner, miners, validators) and print the leaderboard');
  cmd
    .addOption(new Option('--dir <dir>', 'working folder (chain, hub, wallets, datasets, validator state); a temporary folder by default'))
    .addOption(new Option('--miners <n>', 'miners: one per dataset kind by default (7)').argParser(parsePositiveInt('--miners')))
    .addOption(new Option('--validators <n>', 'validators (default 3, 2 with --quick)').argParser(parsePositiveInt('--validators')))
    .addOption(new Option('--rounds <n>', 'sealed evaluation rounds, each revealed after its window and scored over one epoch (default 3, 2 with --quick; at least 2)').argParser(parsePositiveInt('--rounds')))
    .addOption(new Option('--quick', 'smaller evaluation set, datasets and recipe (a couple of minutes)'))
    .addOption(new Option('--threads <n>', 'CPU threads for training (default: all cores; with --workers, per worker: the cores shared among them)').argParser(parsePositiveInt('--threads')))
    .addOption(new Option('--workers <n>', 'train through the evaluation queue: starts redis-server (it must be installed) and n workers per validator').argParser(parseNonNegativeInt('--workers')))
    .addOption(new Option('--serve', 'after the rounds, keep the subnet running and serve the dashboard until Ctrl-C'))
    .addOption(new Option('--port <n>', 'dashboard port with --serve (0: any free port)').default(8090).argParser(parseNonNegativeInt('--port')))
    .addOption(new Option('--host <host>', 'dashboard address with --serve').default('127.0.0.1'));
  addJsonOption(cmd);
  markLongRunning(cmd);
  cmd.action(action(localnetSchema, localnetCommand));
}
