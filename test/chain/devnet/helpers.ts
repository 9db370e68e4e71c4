/** Shared set-up for the devnet tests: a devnet on a free port and a plain @polkadot/api client. */
import { ApiPromise, WsProvider, Keyring } from '@polkadot/api';
import WebSocket from 'ws';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { KeyringPair } from '@polkadot/keyring/types';
import { startDevnet, type Devnet, type DevnetOptions } from '../../../src/chain/devnet/index.js';
import type { DevnetChain } from '../../../src/chain/devnet/chain.js';
import { DispatchError, type RuntimeContext } from '../../../src/chain/devnet/runtime.js';

export interface Harness {
  devnet: Devnet;
  api: ApiPromise;
  keyring: Keyring;
  close(): Promise<void>;
}

/** A devnet with blocks on demand (one per transaction) and an unmodified ApiPromise on it. */
export async function startHarness(opts: DevnetOptions = {}): Promise<Harness> {
  const devnet = await startDevnet({ port: 0, blockTimeMs: 0, tempo: 10, ...opts });
  const api = await ApiPromise.create({ provider: new WsProvider(devnet.url), noInitWarn: true, throwOnConnect: true });
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  return {
    devnet, api, keyring,
    async close() {
      await api.disconnect();
      await devnet.close();
    },
  };
}

export interface TxOutcome {
  blockHash: string;
  /** `section.name` of the module error, or undefined on success. */
  error?: string;
  events: string[];
}

/** Sign, submit and wait for inclusion; module errors are decoded as `@polkadot/api` users see them. */
export function send(api: ApiPromise, tx: SubmittableExtrinsic<'promise'>, signer: KeyringPair): Promise<TxOutcome> {
  return new Promise((resolve, reject) => {
    tx.signAndSend(signer, (result) => {
      // @polkadot/api may skip the inBlock status when finality follows quickly: take either.
      if (!result.status.isInBlock && !result.status.isFinalized) return;
      let error: string | undefined;
      if (result.dispatchError) {
        if (result.dispatchError.isModule) {
          const m = api.registry.findMetaError(result.dispatchError.asModule);
          error = `${m.section}.${m.name}`;
        } else error = result.dispatchError.type;
      }
      const blockHash = result.status.isInBlock ? result.status.asInBlock : result.status.asFinalized;
      resolve({ blockHash: blockHash.toHex(), error, events: result.events.map((e) => `${e.event.section}.${e.event.method}`) });
    }).catch(reject);
  });
}

/** A storage item as JSON (`api.query[section][item](...args).toJSON()`), untyped as our tests read it. */
export async function query(api: ApiPromise, section: string, item: string, ...args: unknown[]): Promise<any> {
  const fn = api.query[section]?.[item];
  if (!fn) throw new Error(`no storage item ${section}.${item}`);
  return ((await fn(...args)) as { toJSON(): unknown }).toJSON();
}

/** A numeric storage item as a bigint. */
export async function queryBig(api: ApiPromise, section: string, item: string, ...args: unknown[]): Promise<bigint> {
  return BigInt(((await api.query[section]![item]!(...args)) as { toString(): string }).toString());
}

/** Free balance of an account, in rao. */
export async function freeBalance(api: ApiPromise, who: string): Promise<bigint> {
  const acc = (await api.query.system!.account!(who)).toJSON() as { data: { free: number | string } };
  return BigInt(acc.data.free);
}

/** Block number of a block hash. */
export async function blockNumber(api: ApiPromise, hash: string): Promise<number> {
  return (await api.rpc.chain.getHeader(hash)).number.toNumber();
}

/**
 * A runtime context over an in-memory chain's best state, for calling pallet functions directly.
 * Writes stay in the context's overlay (never committed); `events` collects what calls emit.
 */
export function runtimeAt(chain: DevnetChain, block: number): RuntimeContext & { events: string[] } {
  const events: string[] = [];
  return { meta: chain.meta, state: chain.state(), block, events, emit: (p, n) => { events.push(`${p}.${n}`); } };
}

/** The `pallet.name` of the DispatchError `fn` throws (undefined when it succeeds). */
export function dispatchErrorOf(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof DispatchError) return err.message;
    throw err;
  }
}

/** One raw JSON-RPC request over a fresh socket. */
export function rawRequest(url: string, method: string, params: unknown[] = []): Promise<{ result?: unknown; error?: { code: number; message: string; data?: string } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('open', () => ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })));
    ws.on('message', (data) => { ws.close(); resolve(JSON.parse(data.toString())); });
    ws.on('error', reject);
  });
}
