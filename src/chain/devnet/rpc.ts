/**
 * The devnet's JSON-RPC server over WebSocket: the Substrate methods `@polkadot/api` calls
 * (docs/devnet.md, "RPC methods") with their subscriptions, answered from a DevnetChain. Unknown methods get
 * JSON-RPC error -32601 ("Method not found"); refused transactions Substrate's 1010-style errors.
 */
import { WebSocketServer, WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { compactToU8a, hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import type { Logger } from '../../util/log.js';
import type { DevnetChain, ProducedBlock } from './chain.js';
import { InvalidTransaction } from './extrinsic.js';
import { storageKey } from './metadata.js';

interface RpcRequest { jsonrpc?: string; id?: number | string | null; method?: string; params?: unknown[] }

class RpcError extends Error {
  constructor(readonly code: number, message: string, readonly data?: unknown) { super(message); }
}

type Params = unknown[];

/** Largest request accepted (a JSON-RPC message or HTTP body). */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/** Longest wait after inclusion before a watched transaction is reported finalized. */
const FINALITY_FALLBACK_MS = 2000;
/** Finality reported this long after the client read the inclusion block's events. */
const FINALITY_AFTER_EVENTS_MS = 300;
type Handler = (params: Params, conn: Connection) => unknown;

/** Pub/sub method → [notification method, unsubscribe method]. */
const SUBSCRIPTIONS: Record<string, [string, string[]]> = {
  chain_subscribeNewHeads: ['chain_newHead', ['chain_unsubscribeNewHeads', 'chain_unsubscribeNewHead']],
  chain_subscribeNewHead: ['chain_newHead', ['chain_unsubscribeNewHeads', 'chain_unsubscribeNewHead']],
  subscribe_newHead: ['chain_newHead', ['unsubscribe_newHead']],
  chain_subscribeAllHeads: ['chain_allHead', ['chain_unsubscribeAllHeads']],
  chain_subscribeFinalizedHeads: ['chain_finalizedHead', ['chain_unsubscribeFinalizedHeads']],
  chain_subscribeFinalisedHeads: ['chain_finalizedHead', ['chain_unsubscribeFinalisedHeads']],
  state_subscribeRuntimeVersion: ['state_runtimeVersion', ['state_unsubscribeRuntimeVersion']],
  state_subscribeStorage: ['state_storage', ['state_unsubscribeStorage']],
  author_submitAndWatchExtrinsic: ['author_extrinsicUpdate', ['author_unwatchExtrinsic']],
};

class Connection {
  private nextId = 1;
  /** Subscription id → what to do on a new block (null: a one-shot). */
  readonly subs = new Map<string, { method: string; onBlock?: (b: ProducedBlock) => void }>();
  /** Notifications to send once the reply that carries their subscription id has gone out. */
  readonly afterReply: Array<() => void> = [];
  /** Block hash → what to do once this connection has read `System.Events` at that block. */
  private readonly eventsReadHooks = new Map<string, Array<() => void>>();

  onEventsRead(blockHash: string, fn: () => void): void {
    const list = this.eventsReadHooks.get(blockHash) ?? [];
    list.push(fn);
    this.eventsReadHooks.set(blockHash, list);
  }

  /** Called for each storage read: a read of the events at a watched block releases its hooks after the reply. */
  storageRead(keys: string[], at: string | undefined, eventsKey: string): void {
    if (!at || this.eventsReadHooks.size === 0 || !keys.some((k) => k.toLowerCase() === eventsKey)) return;
    const hooks = this.eventsReadHooks.get(at.toLowerCase());
    if (!hooks) return;
    this.eventsReadHooks.delete(at.toLowerCase());
    this.afterReply.push(...hooks);
  }
  /** null for an HTTP request: it can make no subscription. */
  constructor(readonly socket: WebSocket | null) {}

  newSubscription(method: string, onBlock?: (b: ProducedBlock) => void): string {
    if (!this.socket) throw new RpcError(-32090, 'Subscriptions are not available over HTTP; connect over WebSocket');
    const id = `devnet-${this.nextId++}`;
    this.subs.set(id, { method, onBlock });
    return id;
  }

  notify(id: string, result: unknown): void {
    const sub = this.subs.get(id);
    if (!sub || !this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(JSON.stringify({ jsonrpc: '2.0', method: sub.method, params: { subscription: id, result } }));
  }
}

export interface RpcServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Start serving `chain` on `host:port` (port 0 = a free port). */
export async function startRpcServer(chain: DevnetChain, opts: { host: string; port: number; version: string; log: Logger }): Promise<RpcServer> {
  const { log } = opts;
  const connections = new Set<Connection>();
  const handlers = makeHandlers(chain, opts.version);

  const unlisten = chain.onBlock((b) => {
    for (const c of connections) for (const sub of c.subs.values()) sub.onBlock?.(b);
  });

  // One port for both: WebSocket upgrades (subscriptions) and plain HTTP POST requests (curl, scripts).
  const http = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-type': 'text/plain' }).end('POST a JSON-RPC request, or connect over WebSocket\n');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => { size += c.length; if (size <= MAX_REQUEST_BYTES) chunks.push(c); });
    req.on('end', () => {
      let body: unknown;
      try {
        if (size > MAX_REQUEST_BYTES) throw new Error('too large');
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }));
        return;
      }
      const conn = new Connection(null); // no subscriptions over HTTP
      const reply = Array.isArray(body) ? body.map((r) => handle(r as RpcRequest, conn)) : handle(body as RpcRequest, conn);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, opts.host, () => { http.off('error', reject); resolve(); });
  });
  // Attached once listening, so a busy port rejects above instead of erroring inside `ws`.
  const wss = new WebSocketServer({ server: http, maxPayload: MAX_REQUEST_BYTES });
  wss.on('error', (err) => log.error('websocket server error', { error: err.message }));
  wss.on('connection', (socket) => {
    const conn = new Connection(socket);
    connections.add(conn);
    socket.on('close', () => connections.delete(conn));
    socket.on('error', () => connections.delete(conn));
    socket.on('message', (data) => {
      let req: RpcRequest | RpcRequest[];
      try {
        req = JSON.parse(data.toString()) as RpcRequest | RpcRequest[];
      } catch {
        socket.send(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }));
        return;
      }
      const answer = (r: RpcRequest) => handle(r, conn);
      const reply = Array.isArray(req) ? req.map(answer) : answer(req);
      // A subscription's first notification must follow the reply carrying its id.
      socket.send(JSON.stringify(reply));
      for (const fn of conn.afterReply.splice(0)) fn();
    });
  });

  function handle(req: RpcRequest, conn: Connection): unknown {
    const id = req.id ?? null;
    const method = req.method ?? '';
    const params = Array.isArray(req.params) ? req.params : [];
    try {
      if (log.isLevelEnabled('trace')) log.trace('rpc', { method });
      const unsub = Object.values(SUBSCRIPTIONS).find(([, names]) => names.includes(method));
      if (unsub) return { jsonrpc: '2.0', id, result: conn.subs.delete(String(params[0])) };
      const h = handlers[method];
      if (!h) throw new RpcError(-32601, `Method not found: ${method}`);
      return { jsonrpc: '2.0', id, result: h(params, conn) ?? null };
    } catch (err) {
      if (err instanceof RpcError) return { jsonrpc: '2.0', id, error: { code: err.code, message: err.message, ...(err.data !== undefined ? { data: err.data } : {}) } };
      if (err instanceof InvalidTransaction) return { jsonrpc: '2.0', id, error: { code: err.code, message: err.message, data: err.data } };
      log.debug('rpc error', { method, error: (err as Error).message });
      return { jsonrpc: '2.0', id, error: { code: -32602, message: (err as Error).message } };
    }
  }

  const port = (http.address() as AddressInfo).port;
  return {
    port,
    url: `ws://${opts.host}:${port}`,
    close: async () => {
      unlisten();
      for (const c of connections) c.socket?.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function headerJson(chain: DevnetChain, id: number | string): unknown {
  const h = chain.header(id);
  if (!h) return null;
  const j = h.toJSON() as Record<string, unknown>;
  return { ...j, number: `0x${Number(j['number']).toString(16)}` };
}

function makeHandlers(chain: DevnetChain, version: string): Record<string, Handler> {
  const meta = chain.meta;
  const runtimeVersion = { ...meta.runtimeVersion, stateVersion: 1 };
  const eventsKey = u8aToHex(storageKey(meta, 'system', 'events')).toLowerCase();
  const at = (p: unknown) => (typeof p === 'string' && p ? p : undefined);
  const blockNumberParam = (p: unknown): number => (typeof p === 'string' ? Number.parseInt(p, p.startsWith('0x') ? 16 : 10) : Number(p));

  /**
   * Open a subscription of `method`: `first` results go out right after the reply carrying its id;
   * `onBlock(id)` builds what runs on each new block (it needs the id, which exists only once created).
   */
  const subscribe = (method: string, conn: Connection, first: unknown[] | null, onBlock?: (id: string) => (b: ProducedBlock) => void): string => {
    const notification = SUBSCRIPTIONS[method]![0];
    let perBlock: ((b: ProducedBlock) => void) | undefined;
    const id = conn.newSubscription(notification, onBlock ? (b) => perBlock?.(b) : undefined);
    perBlock = onBlock?.(id);
    if (first) conn.afterReply.push(() => { for (const r of first) conn.notify(id, r); });
    return id;
  };
  const headSub = (method: string) => (_p: Params, conn: Connection) =>
    subscribe(method, conn, [headerJson(chain, chain.bestNumber())], (id) => (b) => conn.notify(id, headerJson(chain, b.number)));

  const handlers: Record<string, Handler> = {
    rpc_methods: () => ({ version: 1, methods: [...new Set([...Object.keys(handlers), ...Object.values(SUBSCRIPTIONS).flatMap(([, u]) => u)])].sort() }),
    system_chain: () => 'FLock Devnet',
    system_name: () => 'flock-devnet',
    system_version: () => version,
    system_chainType: () => 'Development',
    system_properties: () => ({ ss58Format: 42, tokenDecimals: 9, tokenSymbol: 'TAO' }),
    system_health: () => ({ peers: 0, isSyncing: false, shouldHavePeers: false }),
    system_localPeerId: () => '12D3KooWFLockDevnet',
    system_nodeRoles: () => ['Authority'],
    system_peers: () => [],
    system_syncState: () => ({ startingBlock: 0, currentBlock: chain.bestNumber(), highestBlock: chain.bestNumber() }),
    system_accountNextIndex: (p) => chain.accountNextIndex(String(p[0])),
    chain_getBlockHash: (p) => {
      if (p[0] === undefined || p[0] === null) return chain.bestHash();
      if (Array.isArray(p[0])) return p[0].map((n) => chain.blockHash(blockNumberParam(n)) ?? null);
      return chain.blockHash(blockNumberParam(p[0])) ?? null;
    },
    chain_getHead: () => chain.bestHash(),
    chain_getFinalizedHead: () => chain.bestHash(),
    chain_getFinalisedHead: () => chain.bestHash(),
    chain_getHeader: (p) => headerJson(chain, at(p[0]) ?? chain.bestNumber()),
    chain_getBlock: (p) => {
      const b = chain.block(at(p[0]) ?? chain.bestNumber());
      return b ? { block: { header: headerJson(chain, b.number), extrinsics: b.extrinsics }, justifications: null } : null;
    },
    chain_subscribeNewHeads: headSub('chain_subscribeNewHeads'),
    chain_subscribeNewHead: headSub('chain_subscribeNewHead'),
    subscribe_newHead: headSub('subscribe_newHead'),
    chain_subscribeAllHeads: headSub('chain_subscribeAllHeads'),
    chain_subscribeFinalizedHeads: headSub('chain_subscribeFinalizedHeads'),
    chain_subscribeFinalisedHeads: headSub('chain_subscribeFinalisedHeads'),
    state_getRuntimeVersion: (p) => { chain.resolveAt(at(p[0])); return runtimeVersion; },
    chain_getRuntimeVersion: () => runtimeVersion,
    state_subscribeRuntimeVersion: (_p, conn) => subscribe('state_subscribeRuntimeVersion', conn, [runtimeVersion]),
    state_getMetadata: (p) => { chain.resolveAt(at(p[0])); return meta.metadataHex; },
    state_getStorage: (p, conn) => { conn.storageRead([String(p[0])], at(p[1]), eventsKey); return chain.readStorage(String(p[0]), at(p[1])); },
    state_getStorageAt: (p, conn) => { conn.storageRead([String(p[0])], at(p[1]), eventsKey); return chain.readStorage(String(p[0]), at(p[1])); },
    state_getStorageHash: (p) => { const v = chain.readStorage(String(p[0]), at(p[1])); return v ? u8aToHex(blake2(v)) : null; },
    state_getStorageSize: (p) => { const v = chain.readStorage(String(p[0]), at(p[1])); return v ? (v.length - 2) / 2 : null; },
    state_queryStorageAt: (p, conn) => {
      const keys = (p[0] as string[]) ?? [];
      const hash = at(p[1]) ?? chain.bestHash();
      conn.storageRead(keys, at(p[1]), eventsKey);
      return [{ block: hash, changes: keys.map((k) => [k, chain.readStorage(k, hash)]) }];
    },
    state_getKeysPaged: (p) => {
      const atN = chain.resolveAt(at(p[3]));
      const start = typeof p[2] === 'string' && p[2] ? hexToU8a(p[2]) : undefined;
      return chain.store.keysPaged(hexToU8a(String(p[0] ?? '0x')), Math.min(Number(p[1] ?? 1000), 1000), start, atN).map((k) => u8aToHex(k));
    },
    state_getKeys: (p) => chain.store.keysPaged(hexToU8a(String(p[0] ?? '0x')), 100_000, undefined, chain.resolveAt(at(p[1]))).map((k) => u8aToHex(k)),
    state_subscribeStorage: (p, conn) => {
      const keys = Array.isArray(p[0]) && p[0].length ? (p[0] as string[]).map((k) => k.toLowerCase()) : null;
      const best = chain.bestHash();
      const first = keys ? [{ block: best, changes: keys.map((k) => [k, chain.readStorage(k)]) }] : null;
      return subscribe('state_subscribeStorage', conn, first, (id) => (b) => {
        const changed = keys ? keys.filter((k) => b.changes.has(k)) : [...b.changes.keys()];
        if (changed.length) conn.notify(id, { block: b.hash, changes: changed.map((k) => [k, b.changes.get(k) ? u8aToHex(b.changes.get(k)!) : null]) });
      });
    },
    state_call: (p) => stateCall(chain, String(p[0]), String(p[1] ?? '0x')),
    payment_queryInfo: () => ({ weight: { refTime: 0, proofSize: 0 }, class: 'normal', partialFee: '0' }),
    payment_queryFeeDetails: () => ({ inclusionFee: null }),
    author_pendingExtrinsics: () => chain.pendingExtrinsics(),
    author_submitExtrinsic: (p) => chain.submit(String(p[0])),
    author_submitAndWatchExtrinsic: (p, conn) => {
      const hash = chain.submit(String(p[0]));
      let timer: NodeJS.Timeout | undefined;
      const finalize = (subId: string, block: string) => {
        if (timer) clearTimeout(timer);
        if (!conn.subs.has(subId)) return;
        conn.notify(subId, { finalized: block });
        conn.subs.delete(subId);
      };
      const id = subscribe('author_submitAndWatchExtrinsic', conn, ['ready'], (subId) => (b) => {
        if (b.included.has(hash)) {
          conn.notify(subId, { inBlock: b.hash });
          // @polkadot/api drops an inBlock status whose events it is still fetching when
          // `finalized` arrives, so finality is reported FINALITY_AFTER_EVENTS_MS after this
          // connection has read the block's events (or FINALITY_FALLBACK_MS after inclusion).
          conn.onEventsRead(b.hash, () => {
            if (timer) clearTimeout(timer);
            timer = setTimeout(() => finalize(subId, b.hash), FINALITY_AFTER_EVENTS_MS);
            timer.unref();
          });
          timer = setTimeout(() => finalize(subId, b.hash), FINALITY_FALLBACK_MS);
          timer.unref();
        } else if (b.dropped.includes(hash)) {
          conn.notify(subId, 'invalid');
          conn.subs.delete(subId);
        }
      });
      return id;
    },
  };
  return handlers;
}

function blake2(hex: string): Uint8Array {
  return blake2AsU8a(hexToU8a(hex), 256);
}

/** SCALE bytes (hex) of `value` as the output type the metadata gives runtime API `Api_method`. */
function runtimeApiOutput(chain: DevnetChain, method: string, value: unknown): string {
  const [apiName, ...rest] = method.split('_');
  const methodName = rest.join('_');
  const api = chain.meta.metadata.asLatest.apis.find((a) => a.name.toString() === apiName);
  const m = api?.methods.find((x) => x.name.toString() === methodName);
  if (!m) throw new RpcError(-32000, `runtime API ${method} is not in the metadata`);
  return chain.meta.registry.createType(chain.meta.registry.createLookupType(m.output), value).toHex();
}

/** The runtime API calls the devnet answers through `state_call` (fees are always zero). */
function stateCall(chain: DevnetChain, method: string, data: string): string {
  const r = chain.meta.registry;
  switch (method) {
    case 'Metadata_metadata_versions':
      return r.createType('Vec<u32>', [14, 15, 16]).toHex();
    case 'Metadata_metadata_at_version': {
      const bytes = hexToU8a(chain.meta.metadataHex);
      return u8aToHex(u8aConcat(new Uint8Array([1]), compactToU8a(bytes.length), bytes));
    }
    case 'Metadata_metadata': {
      const bytes = hexToU8a(chain.meta.metadataHex);
      return u8aToHex(u8aConcat(compactToU8a(bytes.length), bytes));
    }
    case 'TransactionPaymentApi_query_info':
    case 'TransactionPaymentCallApi_query_call_info':
      return runtimeApiOutput(chain, method, { weight: { refTime: 0, proofSize: 0 }, class: 'Normal', partialFee: 0 });
    case 'TransactionPaymentApi_query_fee_details':
    case 'TransactionPaymentCallApi_query_call_fee_details':
      return runtimeApiOutput(chain, method, { inclusionFee: null, tip: 0 });
    case 'AccountNonceApi_account_nonce': {
      const who = r.createType('AccountId32', hexToU8a(data)).toString();
      return u8aToHex(r.createType('u32', chain.accountNextIndex(who)).toU8a()); // SCALE is little-endian; toHex() is not
    }
    default:
      throw new RpcError(-32000, `Client error: Execution failed: runtime API ${method} is not implemented by the devnet`);
  }
}
