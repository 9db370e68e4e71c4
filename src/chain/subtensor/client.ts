/**
 * The subtensor client: an `@polkadot/api` connection plus the endpoint, timeouts and a logger.
 * Actions are plain functions over it (`getMetagraph(client, { netuid })`); `SubtensorChain`
 * binds them into the project's `Chain` interface.
 *
 * Connections: the WebSocket provider reconnects by itself; every request first waits (up to the
 * connect timeout) for a live connection, so a node that restarts is picked up again, and a node
 * that stays away gives a `ChainConnectionError` instead of a hang.
 */
import { ApiPromise, WsProvider } from '@polkadot/api';
import type { ApiDecoration } from '@polkadot/api/types';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Codec } from '@polkadot/types/types';
import { FlockError } from '../../util/errors.js';
import { silentLogger, type Logger } from '../../util/log.js';
import type { Signer } from '../chain.js';
import { ChainConnectionError, ChainTimeoutError } from './errors.js';
import { routeLibraryLogs } from './library-logs.js';
import { GENESIS_HASHES, redactEndpoint } from './network.js';

export interface SubtensorClient {
  api: ApiPromise;
  provider: WsProvider;
  /** Endpoint with credentials stripped (for messages). */
  endpoint: string;
  /** Per-request timeout. */
  timeoutMs: number;
  /** How long a request waits for a dropped connection to come back. */
  connectTimeoutMs: number;
  /** How long a transaction may take to reach a block. */
  txTimeoutMs: number;
  log: Logger;
  /** Set by `closeClient`: a deliberate disconnect is not reported as a lost connection. */
  closed: boolean;
  /** Ends the routing of @polkadot's console lines to `log` (library-logs.ts). */
  unrouteLogs: () => void;
}

export interface CreateSubtensorClientParameters {
  /** ws:// or wss:// URL (see `resolveEndpoint`). */
  endpoint: string;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  /** Initial connection and reconnection wait (default 20 s). */
  connectTimeoutMs?: number;
  /** Inclusion wait for transactions (default 120 s). */
  txTimeoutMs?: number;
  /** Delay between reconnection attempts (default 1 s). */
  retryDelayMs?: number;
  log?: Logger;
}
export type CreateSubtensorClientReturnType = SubtensorClient;
export type CreateSubtensorClientErrorType = ChainConnectionError;

// Subtensor's own transaction extensions carry no data; naming them keeps the api from warning.
const EMPTY_EXTENSION = { extrinsic: {}, payload: {} };
const SUBTENSOR_EXTENSIONS = {
  SudoTransactionExtension: EMPTY_EXTENSION,
  CheckShieldedTxValidity: EMPTY_EXTENSION,
  SubtensorTransactionExtension: EMPTY_EXTENSION,
  DrandPriority: EMPTY_EXTENSION,
};

/** Race a promise against a timer. */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Connect to a subtensor node and wait until its metadata is loaded.
 * RPC: chain_getBlockHash, state_getRuntimeVersion, state_getMetadata (via ApiPromise).
 * @example const client = await createSubtensorClient({ endpoint: 'ws://127.0.0.1:9944' })
 */
export async function createSubtensorClient(p: CreateSubtensorClientParameters): Promise<SubtensorClient> {
  const endpoint = redactEndpoint(p.endpoint);
  const timeoutMs = p.timeoutMs ?? 30_000;
  const connectTimeoutMs = p.connectTimeoutMs ?? 20_000;
  const log = p.log ?? silentLogger;
  const unrouteLogs = routeLibraryLogs(log);
  const provider = new WsProvider(p.endpoint, p.retryDelayMs ?? 1000, {}, timeoutMs);
  const api = new ApiPromise({ provider, noInitWarn: true, signedExtensions: SUBTENSOR_EXTENSIONS });
  let lastError: unknown;
  const offError = provider.on('error', (e: unknown) => { lastError = e; });
  try {
    await withTimeout(api.isReadyOrError, connectTimeoutMs, () => new ChainConnectionError(endpoint, `no answer within ${connectTimeoutMs} ms${lastError ? ` (${describe(lastError)})` : ''}`));
  } catch (err) {
    await api.disconnect().catch(() => undefined);
    unrouteLogs();
    if (err instanceof ChainConnectionError) throw err;
    throw new ChainConnectionError(endpoint, describe(err), { cause: err });
  } finally {
    offError();
  }
  const client: SubtensorClient = {
    api, provider, endpoint, timeoutMs, connectTimeoutMs, txTimeoutMs: p.txTimeoutMs ?? 120_000, log, closed: false, unrouteLogs,
  };
  // one line when the connection drops and one when it is back, however many reconnect attempts lie between
  let down = false;
  provider.on('disconnected', () => {
    if (client.closed || down) return;
    down = true;
    log.warning(`lost the connection to ${endpoint}; reconnecting`);
  });
  provider.on('connected', () => {
    if (!down) return;
    down = false;
    log.info(`the connection to ${endpoint} is back`);
  });
  log.debug(`connected to ${endpoint}`, {
    chain: api.runtimeChain.toString(), spec: api.runtimeVersion.specVersion.toNumber(),
    network: GENESIS_HASHES[api.genesisHash.toHex()] ?? 'other',
  });
  return client;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}

const CONNECTION_FAILURE = /WebSocket is not connected|disconnected from|Abnormal Closure|ECONNREFUSED|socket hang up|Normal Closure/i;

/** Wait until the provider is connected (it reconnects by itself), or throw ChainConnectionError. */
export async function ensureConnected(client: SubtensorClient): Promise<void> {
  if (client.provider.isConnected) return;
  await withTimeout(
    new Promise<void>((resolve) => {
      const off = client.provider.on('connected', () => { off(); resolve(); });
      if (client.provider.isConnected) { off(); resolve(); }
    }),
    client.connectTimeoutMs,
    () => new ChainConnectionError(client.endpoint, `the connection dropped and did not come back within ${client.connectTimeoutMs} ms`),
  );
  // The api reloads metadata on reconnect; wait for it before querying.
  await withTimeout(client.api.isReady, client.connectTimeoutMs, () => new ChainTimeoutError(client.endpoint, 'reloading metadata after reconnect', client.connectTimeoutMs));
}

/**
 * Run one chain read with the connection check, the timeout, and connection errors turned into
 * ChainConnectionError. Actions wrap their RPC work in this.
 */
export async function request<T>(client: SubtensorClient, what: string, fn: () => Promise<T>): Promise<T> {
  await ensureConnected(client);
  try {
    return await withTimeout(fn(), client.timeoutMs, () => new ChainTimeoutError(client.endpoint, what, client.timeoutMs));
  } catch (err) {
    if (err instanceof FlockError) throw err;
    const message = describe(err);
    if (CONNECTION_FAILURE.test(message)) throw new ChainConnectionError(client.endpoint, `${what} failed: ${message}`, { cause: err });
    throw new FlockError(`${what} failed: ${message}`, { cause: err, hint: `node: ${client.endpoint}` });
  }
}

/** A storage entry by pallet and item name, checked against the node's metadata. */
export function storage(at: ApiPromise | ApiDecoration<'promise'>, pallet: string, item: string) {
  const entry = at.query[pallet]?.[item];
  if (!entry) throw new FlockError(`the node's runtime has no storage ${pallet}.${item}`, { hint: 'is this a subtensor node?' });
  return entry;
}

/** Whether the node's runtime has a storage item. */
export function hasStorage(at: ApiPromise | ApiDecoration<'promise'>, pallet: string, item: string): boolean {
  return Boolean(at.query[pallet]?.[item]);
}

/** An integer codec (u16…u128) as a number. */
export function num(c: Codec): number {
  return Number(c.toString());
}

/** An integer codec as a bigint. */
export function big(c: Codec): bigint {
  return BigInt(c.toString());
}

/** A Vec<uN> as numbers. */
export function nums(c: Codec): number[] {
  return (c as unknown as Codec[]).map(num);
}

/** A Vec<bool> as booleans. */
export function bools(c: Codec): boolean[] {
  return (c as unknown as Codec[]).map((b) => b.toString() === 'true');
}

/** The keyring pair of a signer, or a clear error for public-only keys. */
export function signerPair(signer: Signer): KeyringPair {
  if ('sign' in signer && typeof signer.sign === 'function') return signer as KeyringPair;
  const pair = (signer as { pair?: KeyringPair }).pair;
  if (!pair) throw new FlockError(`key ${signer.address} has no secret here (public only), so it cannot sign`, { hint: 'load the hotkey or coldkey file itself, not its pub.txt' });
  return pair;
}

/** An SS58 address of a signer. */
export function signerAddress(signer: Signer): string {
  return signer.address;
}

/** Close the connection. */
export async function closeClient(client: SubtensorClient): Promise<void> {
  client.closed = true;
  await client.api.disconnect().catch(() => undefined);
  client.unrouteLogs();
}
