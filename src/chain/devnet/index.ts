/**
 * The devnet node: a local chain that speaks subtensor's JSON-RPC, typed by the finney metadata, so
 * the same client code (and an unmodified `@polkadot/api`) talks to it and to finney.
 *
 * @example
 * const devnet = await startDevnet({ port: 0, tempo: 10 });
 * const api = await ApiPromise.create({ provider: new WsProvider(devnet.url) });
 * console.log((await api.query.subtensorModule.tempo(1)).toNumber()); // 10
 * await devnet.close();
 */
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../util/log.js';
import { silentLogger } from '../../util/log.js';
import { DevnetChain, DEV_ACCOUNTS, devAddress, type GenesisConfig } from './chain.js';
import { startRpcServer } from './rpc.js';
import { isEpochBlock } from './epoch.js';
import { FlockError } from '../../util/errors.js';

export { DevnetChain, DEV_ACCOUNTS, devAddress, DEFAULT_GENESIS, DEV_ENDOWMENT } from './chain.js';
export { FINNEY_USER_EXTENSIONS, loadRuntimeMeta, defaultMetadataPath } from './metadata.js';
export { yumaEpoch } from './yuma.js';

export interface DevnetOptions {
  /** TCP port; 0 = a free port (default 9944). */
  port?: number;
  host?: string;
  /** Folder for the SQLite state; a temporary in-memory chain when absent. */
  dir?: string;
  /** Block time in ms; 0 = blocks only on demand (`produceBlocks`, and one per submitted transaction unless `sealOnSubmit` is false). Default 12 000. */
  blockTimeMs?: number;
  /** With `blockTimeMs` 0: seal a block as soon as a transaction arrives (default true). */
  sealOnSubmit?: boolean;
  /** Subnet tempo (default 360). */
  tempo?: number;
  /** The subnet's netuid (default 1). */
  netuid?: number;
  /** `CommitRevealWeightsEnabled` (default false). */
  commitReveal?: boolean;
  /** `WeightsSetRateLimit` in blocks (default 100). */
  weightsRateLimit?: number;
  /** `ImmunityPeriod` in blocks (default 5000). */
  immunityPeriod?: number;
  /** `MaxAllowedUids` (default 256). */
  maxAllowedUids?: number;
  /** `ActivityCutoff` in blocks (default 5000). */
  activityCutoff?: number;
  log?: Logger;
}

export interface Devnet {
  /** `ws://host:port` */
  url: string;
  port: number;
  /** The chain itself (state reads for tests and tools). */
  chain: DevnetChain;
  /** Produce `n` blocks now (default 1), including waiting transactions. */
  produceBlocks(n?: number): Promise<void>;
  bestNumber(): number;
  close(): Promise<void>;
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}

/** Start a devnet node: genesis (or the state in `dir`), a block producer and the JSON-RPC server. */
export async function startDevnet(opts: DevnetOptions = {}): Promise<Devnet> {
  await cryptoWaitReady();
  const log = opts.log ?? silentLogger;
  const genesis: Partial<GenesisConfig> = {};
  if (opts.tempo !== undefined) genesis.tempo = opts.tempo;
  if (opts.netuid !== undefined) genesis.netuid = opts.netuid;
  if (opts.commitReveal !== undefined) genesis.commitReveal = opts.commitReveal;
  if (opts.weightsRateLimit !== undefined) genesis.weightsRateLimit = opts.weightsRateLimit;
  if (opts.immunityPeriod !== undefined) genesis.immunityPeriod = opts.immunityPeriod;
  if (opts.maxAllowedUids !== undefined) genesis.maxAllowedUids = opts.maxAllowedUids;
  if (opts.activityCutoff !== undefined) genesis.activityCutoff = opts.activityCutoff;
  const chain = new DevnetChain(opts.dir, genesis, log);
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 9944;
  const server = await startRpcServer(chain, { host, port, version: packageVersion(), log }).catch((err: unknown) => {
    chain.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new FlockError(`port ${port} on ${host} is already in use`, { hint: 'stop the other node or pick another port (--port 0 = any free port)', cause: err });
    }
    throw err;
  });
  const blockTimeMs = opts.blockTimeMs ?? 12_000;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const produce = () => {
    if (closed) return;
    const b = chain.produceBlock();
    log.debug('block', { number: b.number, hash: b.hash, extrinsics: b.included.size });
    const { netuid, tempo } = chain.config;
    if (isEpochBlock(b.number, netuid, tempo)) log.info('epoch', { netuid, block: b.number, next: b.number + tempo + 1 });
  };
  // Timer and seal-on-submit blocks: a failure is logged, never an uncaught exception (the block
  // was not written: it is one SQLite transaction).
  const produceLogged = () => {
    try { produce(); } catch (err) { log.error('block production failed', { error: (err as Error).message }); }
  };
  if (blockTimeMs > 0) timer = setInterval(produceLogged, blockTimeMs);
  let sealPending = false;
  const unseal = blockTimeMs === 0 && (opts.sealOnSubmit ?? true)
    ? chain.onSubmit(() => {
      if (sealPending) return;
      sealPending = true;
      setImmediate(() => { sealPending = false; produceLogged(); });
    })
    : () => {};
  log.info(`devnet listening on ${server.url}`, {
    netuid: chain.config.netuid, tempo: chain.config.tempo, best: chain.bestNumber(), owner: devAddress(DEV_ACCOUNTS[0]),
  });
  return {
    url: server.url,
    port: server.port,
    chain,
    async produceBlocks(n = 1) {
      for (let i = 0; i < n; i++) {
        produce();
        // Let subscribers see each block before the next.
        if (i % 16 === 15) await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setImmediate(r));
    },
    bestNumber: () => chain.bestNumber(),
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      unseal();
      await server.close();
      chain.close();
    },
  };
}
