/**
 * `flock dashboard [--port N] [--host H]`: the public dashboard of a subnet (src/dashboard/),
 * reading only the chain and the validators' published results on the hub; serves until Ctrl-C.
 */
import { Command, Option } from 'commander';
import { z } from 'zod';
import { startDashboard } from '../dashboard/index.js';
import { connectFromFlags, hubClientFromFlags } from './clients.js';
import { markLongRunning, type CommandContext } from './context.js';
import {
  addHubOptions, addNetuidOption, addSubtensorOptions, expandHome, hubSchema, nonNegativeInt, parseNonNegativeInt, parsePositiveInt, positiveInt, subtensorSchema, text,
} from './options.js';
import { action } from './run.js';

const dashboardSchema = z.object({
  ...subtensorSchema.shape, ...hubSchema.shape,
  netuid: nonNegativeInt, port: nonNegativeInt, host: text, resultsEvery: positiveInt, cacheDir: text.optional(),
});

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(signal);
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

async function dashboardCommand(ctx: CommandContext<z.output<typeof dashboardSchema>>): Promise<number> {
  const o = ctx.opts;
  // a dashboard should come up when the hub is slow: fewer retries and a shorter timeout than downloads
  const hub = await hubClientFromFlags(ctx, { cacheDir: o.cacheDir ? expandHome(o.cacheDir) : undefined, retries: 1, timeoutMs: 15_000 });
  const chain = await connectFromFlags(ctx, { retryMs: 2000 });
  const dashboard = await startDashboard({ chain, hub, netuid: o.netuid, host: o.host, port: o.port, log: ctx.log, resultsEveryMs: o.resultsEvery * 1000 });
  process.stdout.write(`dashboard of subnet ${o.netuid} on ${dashboard.url}\n`);
  ctx.log.info(`dashboard on ${dashboard.url} (Ctrl-C stops it)`);
  await untilSignal();
  ctx.log.info('dashboard stopping');
  await dashboard.close();
  await chain.close();
  return 0;
}

export function register(program: Command): void {
  const cmd = program.command('dashboard').description("serve a subnet's public dashboard: leaderboard, miners, validators, competition, from the chain and the published results");
  addSubtensorOptions(cmd);
  addNetuidOption(cmd);
  addHubOptions(cmd);
  cmd
    .addOption(new Option('--port <n>', 'HTTP port (0: any free port)').default(8090).argParser(parseNonNegativeInt('--port')))
    .addOption(new Option('--host <host>', 'address to listen on (0.0.0.0: every interface)').default('127.0.0.1'))
    .addOption(new Option('--results-every <s>', 'seconds between checks of the results repos and the competition (the chain is read every block)').default(60).argParser(parsePositiveInt('--results-every')))
    .addOption(new Option('--cache-dir <dir>', 'Hugging Face cache folder (default $HF_HUB_CACHE or ~/.cache/huggingface/hub)'));
  markLongRunning(cmd);
  cmd.action(action(dashboardSchema, dashboardCommand));
}
