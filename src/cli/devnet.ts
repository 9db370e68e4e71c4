/**
 * `flock devnet`: run a local node that speaks subtensor's JSON-RPC (typed by the finney metadata)
 * with dev accounts //Alice…//Ferdie funded and one subnet owned by //Alice. Runs until interrupted.
 */
import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { z } from 'zod';
import { startDevnet } from '../chain/devnet/index.js';
import { expandHome, flag, nonNegativeInt, parseNonNegativeInt, parsePositiveInt, positiveInt, text } from './options.js';
import { action } from './run.js';
import { markLongRunning } from './context.js';

const devnetSchema = z.object({
  port: nonNegativeInt, host: text, dir: text.optional(), blockTime: nonNegativeInt, tempo: positiveInt, netuid: positiveInt,
  commitReveal: flag, weightsRateLimit: nonNegativeInt,
});

export function register(program: Command): void {
  const cmd = program.command('devnet')
    .description('run a local subtensor-compatible node (finney metadata, dev accounts, one subnet) until interrupted')
    .addOption(new Option('--port <port>', 'WebSocket JSON-RPC port (0 = any free port)').argParser(parseNonNegativeInt('--port')).default(9944))
    .addOption(new Option('--host <host>', 'address to listen on').default('127.0.0.1'))
    .addOption(new Option('--dir <dir>', 'folder for the chain state (SQLite); in memory when absent'))
    .addOption(new Option('--block-time <ms>', 'milliseconds between blocks (0 = a block per submitted transaction)').argParser(parseNonNegativeInt('--block-time')).default(12000))
    .addOption(new Option('--tempo <n>', 'subnet tempo in blocks (new chains only)').argParser(parsePositiveInt('--tempo')).default(360))
    .addOption(new Option('--netuid <n>', 'the subnet\'s netuid (new chains only)').argParser(parsePositiveInt('--netuid')).default(1))
    .addOption(new Option('--commit-reveal', 'enable commit/reveal v2 of weights (new chains only)').default(false))
    .addOption(new Option('--weights-rate-limit <blocks>', 'WeightsSetRateLimit (new chains only)').argParser(parseNonNegativeInt('--weights-rate-limit')).default(100))
    .action(action(devnetSchema, async (ctx) => {
      const o = ctx.opts;
      const devnet = await startDevnet({
        port: o.port,
        host: o.host,
        dir: o.dir ? resolve(expandHome(o.dir)) : undefined,
        blockTimeMs: o.blockTime,
        tempo: o.tempo,
        netuid: o.netuid,
        commitReveal: o.commitReveal,
        weightsRateLimit: o.weightsRateLimit,
        log: ctx.log,
      });
      process.stdout.write(`${devnet.url}\n`);
      await new Promise<void>((done) => {
        const stop = () => { ctx.log.info('devnet stopping'); void devnet.close().then(done); };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      return 0;
    }));
  markLongRunning(cmd);
}
