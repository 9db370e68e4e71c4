/**
 * `flock validator run|status`: the validator loop (commitments → training → weights), and the
 * leaderboard as this validator last scored it, read from its state DB alone (no chain needed).
 */
import { Command, Option } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { SubtensorChain } from '../chain/index.js';
import { FingerprintIndex } from '../dataset/index.js';
import type { Backend } from '../engine/backend/backend.js';
import { BACKEND_KINDS, createBackend, parseBackendKind, PRECISIONS } from '../engine/backend/select.js';
import { AdapterCache } from '../evaluation/adapter-cache.js';
import { DEFAULT_QUEUE_NAME, EvaluationQueue } from '../evaluation/queue.js';
import { DEFAULT_QUEUE_DEPTH } from '../validator/remote-evaluations.js';
import { defaultResultsRepo, ResultsPublisher } from '../validator/publisher.js';
import type { HubClient } from '../hub/index.js';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Logger } from '../util/log.js';
import { errorMessage, FlockError, UsageError } from '../util/errors.js';
import { printable } from '../util/terminal-text.js';
import { startMetricsServer } from '../validator/metrics.js';
import { formatLeaderboard, readStatus } from '../validator/status.js';
import { openStore } from '../validator/store.js';
import { Validator } from '../validator/validator.js';
import { connectFromFlags, hubClientFromFlags, subtensorEndpoint, walletFromFlags } from './clients.js';
import { markLongRunning, type CommandContext } from './context.js';
import {
  addHubOptions, addJsonOption, addNetuidOption, addSubtensorOptions, addWalletOptions, expandHome, flag, hubSchema, jsonSchema,
  nonNegativeInt, oneOf, parseNonNegativeInt, parsePositiveInt, positiveInt, subtensorSchema, text, walletSchema,
} from './options.js';
import { action } from './run.js';

const runSchema = z.object({
  ...walletSchema.shape, ...subtensorSchema.shape, ...hubSchema.shape,
  netuid: nonNegativeInt, stateDir: text.optional(), backend: oneOf(BACKEND_KINDS), precision: oneOf(PRECISIONS).optional(), threads: positiveInt.optional(),
  cacheDir: text.optional(), adapterDir: text.optional(), metricsPort: nonNegativeInt.optional(), metricsHost: text, once: flag, rounds: positiveInt.optional(),
  blockSeconds: positiveInt, pollMs: positiveInt.optional(), retryMs: positiveInt,
  queue: text.optional(), queueName: text, queueDepth: positiveInt,
  'results.repo': text.optional(), publish: flag,
});
const statusSchema = z.object({ ...walletSchema.shape, ...jsonSchema.shape, netuid: nonNegativeInt.optional(), stateDir: text.optional() });

/** Default state folder, beside Bittensor's own per-neuron folders. */
export function defaultStateDir(wallet: string, hotkey: string, netuid: number | string): string {
  return join(homedir(), '.bittensor', 'miners', wallet, hotkey, `netuid${netuid}`, 'flock-validator');
}

const DB_FILE = 'validator.sqlite';
const INDEX_FILE = 'fingerprints.sqlite';
/** Trained adapters kept for datasets evaluated again (next round's evaluation set), in the state folder. */
const ADAPTER_DIR = 'adapters';

async function runCommand(ctx: CommandContext<z.output<typeof runSchema>>): Promise<number> {
  const o = ctx.opts;
  const log = ctx.log;
  const { netuid, retryMs: retryBaseMs, backend: backendKind } = o;
  const walletName = o['wallet.name'];
  const hotkeyName = o['wallet.hotkey'];
  const stateDir = expandHome(o.stateDir ?? defaultStateDir(walletName, hotkeyName, netuid));
  const hotkey = await (await walletFromFlags(o)).getHotkey();
  if (!hotkey.pair) throw new FlockError(`the hotkey of wallet "${walletName}" has no secret half`, { hint: 'a validator signs weights with its hotkey: restore the full hotkey file' });

  const endpoint = subtensorEndpoint(ctx);
  const store = openStore(join(stateDir, DB_FILE));
  if (store.requeuedOnOpen > 0) log.warning(`${store.requeuedOnOpen} evaluation(s) interrupted by a stop were put back in the queue`);
  const index = FingerprintIndex.open(join(stateDir, INDEX_FILE));
  const hub = await hubClientFromFlags(ctx, { cacheDir: o.cacheDir ? expandHome(o.cacheDir) : undefined });
  let backend: Backend | undefined;
  let queue: EvaluationQueue | undefined;
  if (o.queue) {
    queue = await EvaluationQueue.connect({ url: o.queue, name: o.queueName, log });
    log.info(`validator ${hotkey.address} on netuid ${netuid}: evaluations go through the queue`, { state: stateDir, hub: hub.hubUrl, chain: endpoint, queueDepth: o.queueDepth });
  } else {
    log.info(`validator ${hotkey.address} on netuid ${netuid}`, { state: stateDir, hub: hub.hubUrl, chain: endpoint, backend: backendKind });
    backend = await createBackend(backendKind, log, { threads: o.threads, precision: o.precision });
  }
  // with --queue the workers train, and keep their own adapters
  const adapters = queue ? undefined : new AdapterCache({ dir: o.adapterDir ? expandHome(o.adapterDir) : join(stateDir, ADAPTER_DIR), log });
  let chain: SubtensorChain | undefined;
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  let validator: Validator | undefined;
  let publisher: ResultsPublisher | undefined;
  const onSignal = () => {
    log.warning('stopping after the current step (signal again to force)');
    validator?.stop();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    chain = await connectFromFlags(ctx, { endpoint, retryMs: retryBaseMs });
    publisher = o.publish ? await resultsPublisher({ hub, chain, netuid, pair: hotkey.pair, repo: o['results.repo'], log }) : undefined;
    validator = new Validator({
      publisher,
      chain, hub, store, index, netuid, signer: hotkey, log,
      ...(queue ? { queue, queueDepth: o.queueDepth } : { backend, adapters }),
      blockSeconds: o.blockSeconds, retryBaseMs, pollMs: o.pollMs,
    });
    if (o.metricsPort !== undefined) {
      metricsServer = await startMetricsServer(validator.metrics, o.metricsPort, o.metricsHost);
      log.info(`metrics on ${metricsServer.url}`);
    }
    const passes = await validator.run({ once: o.once, rounds: o.rounds });
    const last = passes[passes.length - 1];
    if (last) log.info('validator stopped', { passes: passes.length, queued: last.queued, weights: last.weights?.status ?? 'none' });
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await metricsServer?.close();
    await validator?.close();
    publisher?.close();
    await chain?.close().catch(() => undefined);
    backend?.dispose();
    await queue?.close();
    index.close();
    store.close();
  }
}

/**
 * The publisher of this validator's round results, or undefined (with a warning saying why) when
 * the hub client has no token or cannot say whose it is.
 */
async function resultsPublisher(o: { hub: HubClient; chain: SubtensorChain; netuid: number; pair: KeyringPair; repo?: string; log: Logger }): Promise<ResultsPublisher | undefined> {
  const { hub, log } = o;
  if (!hub.hasToken) {
    log.warning('round results are not published: set HF_TOKEN to a token that may create and write dataset repos (or pass --no-publish to say so)');
    return undefined;
  }
  let repo = o.repo;
  if (!repo) {
    try {
      repo = defaultResultsRepo((await hub.whoAmI()).name, o.netuid, o.pair.address);
    } catch (err) {
      log.warning(`round results are not published: the hub cannot say whose token this is (${errorMessage(err)}); pass --results.repo OWNER/NAME`);
      return undefined;
    }
  }
  log.info(`each round's signed results go to the dataset repo ${repo}`);
  return new ResultsPublisher({ hub, chain: o.chain, netuid: o.netuid, pair: o.pair, repoId: repo, log });
}

async function statusCommand(ctx: CommandContext<z.output<typeof statusSchema>>): Promise<number> {
  const o = ctx.opts;
  const { netuid, stateDir: dir } = o;
  if (!dir && netuid === undefined) throw new UsageError('pass --state-dir, or --netuid (with --wallet.name/--wallet.hotkey) to use the default state folder');
  const stateDir = expandHome(dir ?? defaultStateDir(o['wallet.name'], o['wallet.hotkey'], netuid!));
  const store = openStore(join(stateDir, DB_FILE), { readonly: true });
  try {
    const status = readStatus(store);
    // miners' text (commitments, reasons) escaped: in JSON as \u escapes, so the values parse back unchanged
    if (o.json) process.stdout.write(`${printable(JSON.stringify(status, null, 2), { json: true, newlines: true })}\n`);
    else process.stdout.write(formatLeaderboard(status));
    return 0;
  } finally {
    store.close();
  }
}

function addStateDirOption(cmd: Command): Command {
  return cmd.addOption(new Option('--state-dir <dir>', 'validator state folder (SQLite state, copy index); default ~/.bittensor/miners/<wallet>/<hotkey>/netuid<N>/flock-validator').env('FLOCK_VALIDATOR_STATE_DIR'));
}

export function register(program: Command): void {
  const group = program.command('validator').description('run a validator: judge committed datasets by training on them, set weights');

  const run = group.command('run').description('the validator loop: sync, download + check datasets, train + evaluate, score, set weights once per epoch');
  addWalletOptions(run);
  addSubtensorOptions(run);
  addNetuidOption(run);
  addHubOptions(run);
  addStateDirOption(run);
  run
    .addOption(new Option('--backend <kind>', 'compute backend: cpu | webgpu | auto').default('cpu').argParser((v) => parseBackendKind(v)))
    .addOption(new Option('--precision <p>', 'WebGPU compute precision: f32, or f16 (f16 matrix-product inputs, f32 accumulation; needs shader-f16)').choices([...PRECISIONS]))
    .addOption(new Option('--threads <n>', 'CPU backend threads (default: all cores)').argParser(parsePositiveInt('--threads')))
    .addOption(new Option('--queue <url>', 'evaluate on workers (`flock worker`) through Redis at redis://HOST:PORT instead of in this process (rediss:// for TLS, redis://:PASSWORD@HOST:PORT)').env('FLOCK_QUEUE'))
    .addOption(new Option('--queue-name <name>', 'base name of the queues, as the workers\'').default(DEFAULT_QUEUE_NAME))
    .addOption(new Option('--queue-depth <n>', 'evaluation jobs in flight at most with --queue').default(DEFAULT_QUEUE_DEPTH).argParser(parsePositiveInt('--queue-depth')))
    .addOption(new Option('--cache-dir <dir>', 'Hugging Face cache folder (default $HF_HUB_CACHE or ~/.cache/huggingface/hub)'))
    .addOption(new Option('--adapter-dir <dir>', 'folder of trained adapters kept so a dataset is not trained again for the next round (default <state-dir>/adapters; without --queue)'))
    .addOption(new Option('--results.repo <owner/name>', "the hub dataset repo each round's signed results are published to (default <token's user>/flock-results-<netuid>-<hotkey[0:8]>)"))
    .addOption(new Option('--no-publish', "do not publish round results (nor point the hotkey's commitment to them)"))
    .addOption(new Option('--metrics-port <port>', 'serve Prometheus metrics on http://host:port/metrics').argParser(parseNonNegativeInt('--metrics-port')))
    .addOption(new Option('--metrics-host <host>', 'interface for the metrics server').default('127.0.0.1'))
    .addOption(new Option('--once', 'one pass (sync, evaluate the queue, score, set weights), then exit'))
    .addOption(new Option('--rounds <n>', 'exit after setting weights this many times').argParser(parsePositiveInt('--rounds')))
    .addOption(new Option('--block-seconds <s>', 'seconds per block, to keep time to set weights').default(12).argParser(parsePositiveInt('--block-seconds')))
    .addOption(new Option('--poll-ms <ms>', 'wait between passes when idle (default: one block)').argParser(parsePositiveInt('--poll-ms')))
    .addOption(new Option('--retry-ms <ms>', 'first retry delay after a fault (doubles up to 60 s)').default(2000).argParser(parsePositiveInt('--retry-ms')));
  markLongRunning(run);
  run.action(action(runSchema, runCommand));

  const status = group.command('status').description("the leaderboard as this validator last scored it (reads only the state DB)");
  addWalletOptions(status);
  addNetuidOption(status);
  addStateDirOption(status);
  addJsonOption(status);
  status.action(action(statusSchema, statusCommand));
}
