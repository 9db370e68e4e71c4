/**
 * The devnet chain: genesis, a transaction pool, and block production. Each block runs the block
 * step (epochs) first, then a timestamp inherent, then the pool's transactions in order; it is
 * written to SQLite in one transaction with all its storage changes, so a block is never
 * half-applied, and a restart continues from the last block on disk.
 */
import { Keyring } from '@polkadot/keyring';
import { blake2AsHex, blake2AsU8a } from '@polkadot/util-crypto';
import { hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import type { Extrinsic, Header } from '@polkadot/types/interfaces';
import type { Logger } from '../../util/log.js';
import { silentLogger } from '../../util/log.js';
import { BlockStore, Overlay, compareBytes, type ChangeSet, type StoredBlock } from './store.js';
import { State } from './state.js';
import {
  encodeEvent, encodeEventRecord, encodeEventVec, loadRuntimeMeta, moduleError, storageKey,
  type EventPhase, type RuntimeMeta,
} from './metadata.js';
import { DispatchError, RAO_PER_TAO, type RuntimeContext } from './runtime.js';
import { decodeExtrinsic, InvalidTransaction, validateExtrinsic, type ChainView } from './extrinsic.js';
import { dispatch } from './dispatch.js';
import { blockStep } from './epoch.js';
import { deposit, getAccount, setAccount } from './pallets/balances.js';
import { addSubnet } from './pallets/subtensor.js';

/** Standard Substrate dev accounts, funded at genesis. */
export const DEV_ACCOUNTS = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'] as const;
/** Free balance of each dev account at genesis: 1,000,000 TAO. */
export const DEV_ENDOWMENT = 1_000_000n * RAO_PER_TAO;

/** Genesis parameters, fixed when the chain is created (kept in its database). */
export interface GenesisConfig {
  netuid: number;
  tempo: number;
  commitReveal: boolean;
  /** `WeightsSetRateLimit` in blocks (finney default 100). */
  weightsRateLimit: number;
  /** `Burn` (registration cost) in rao (default 1 TAO). */
  burn: string;
  maxAllowedUids: number;
  immunityPeriod: number;
  activityCutoff: number;
}

export const DEFAULT_GENESIS: GenesisConfig = {
  netuid: 1, tempo: 360, commitReveal: false, weightsRateLimit: 100, burn: String(RAO_PER_TAO),
  maxAllowedUids: 256, immunityPeriod: 5000, activityCutoff: 5000,
};

export interface ProducedBlock {
  number: number;
  hash: string;
  header: Header;
  changes: ChangeSet;
  /** Transaction hash → its index in the block, for the transactions included. */
  included: Map<string, number>;
  /** Transactions dropped from the pool (stale nonce). */
  dropped: string[];
}

interface PoolEntry {
  hash: string;
  hex: string;
  ext: Extrinsic;
  signer: string;
  nonce: number;
}

/** SS58 address of a dev account (`//Alice` …), sr25519. */
export function devAddress(name: string): string {
  return new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri(`//${name}`).address;
}

export class DevnetChain {
  readonly meta: RuntimeMeta;
  readonly store: BlockStore;
  readonly config: GenesisConfig;
  readonly genesisHash: string;
  private pool: PoolEntry[] = [];
  private readonly listeners = new Set<(b: ProducedBlock) => void>();
  private readonly submitListeners = new Set<() => void>();
  private lastTimestamp = 0;

  /** Open the chain in `dir` (in memory when absent), creating genesis with `genesis` if new. */
  constructor(dir: string | undefined, genesis: Partial<GenesisConfig> = {}, private readonly log: Logger = silentLogger) {
    this.meta = loadRuntimeMeta();
    this.store = new BlockStore(dir);
    const saved = this.store.getConfig('genesis');
    if (saved) {
      this.config = JSON.parse(saved) as GenesisConfig;
      const asked = { ...this.config, ...genesis };
      if (JSON.stringify(asked) !== JSON.stringify(this.config)) {
        this.log.warning('devnet state exists: keeping its genesis settings', { dir, kept: this.config });
      }
    } else {
      this.config = { ...DEFAULT_GENESIS, ...genesis };
      this.buildGenesis();
      this.store.setConfig('genesis', JSON.stringify(this.config));
    }
    this.genesisHash = this.store.block(0)!.hash;
  }

  private buildGenesis(): void {
    const overlay = new Overlay((k) => this.store.get(k));
    const state = new State(this.meta, overlay);
    const ctx: RuntimeContext = { meta: this.meta, state, block: 0, emit: () => {} };
    for (const name of DEV_ACCOUNTS) deposit(ctx, devAddress(name), DEV_ENDOWMENT);
    const alice = devAddress('Alice');
    addSubnet(ctx, {
      netuid: this.config.netuid, ownerColdkey: alice, ownerHotkey: alice, tempo: this.config.tempo,
      commitReveal: this.config.commitReveal, weightsRateLimit: this.config.weightsRateLimit,
      burn: BigInt(this.config.burn), maxAllowedUids: this.config.maxAllowedUids,
      immunityPeriod: this.config.immunityPeriod, activityCutoff: this.config.activityCutoff,
    });
    state.set('subtensorModule', 'totalIssuance', [], state.big('balances', 'totalIssuance'));
    const changes = overlay.changes();
    const header = this.meta.registry.createType('Header', {
      parentHash: new Uint8Array(32), number: 0, stateRoot: stateRoot(new Uint8Array(32), changes),
      extrinsicsRoot: blake2AsU8a(new Uint8Array(0)), digest: { logs: [] },
    });
    const hash = header.hash.toHex();
    state.set('system', 'blockHash', [0], hash);
    this.store.commitBlock({ number: 0, hash, header: header.toHex(), extrinsics: [] }, overlay.changes());
  }

  bestNumber(): number {
    return this.store.bestNumber();
  }

  bestHash(): string {
    return this.store.hashOf(this.bestNumber())!;
  }

  /** Hash of block `n`, if it exists. */
  blockHash(n: number): string | undefined {
    return this.store.hashOf(n);
  }

  /** A stored block by number or hash. */
  block(id: number | string): StoredBlock | undefined {
    return this.store.block(id);
  }

  header(id: number | string): Header | undefined {
    const header = this.store.headerOf(id);
    return header ? (this.meta.registry.createType('Header', header) as unknown as Header) : undefined;
  }

  /** Block number of a hash (best when undefined); throws for an unknown hash. */
  resolveAt(hash?: string | null): number {
    if (!hash) return this.bestNumber();
    const n = this.store.numberOf(hash);
    if (n === undefined) throw new Error(`Unknown block ${hash}`);
    return n;
  }

  /** Raw storage value (hex) at a block hash (best when absent). */
  readStorage(keyHex: string, at?: string | null): string | null {
    const v = this.store.get(hexToU8a(keyHex), this.resolveAt(at));
    return v ? u8aToHex(v) : null;
  }

  /** A state reader at the best block (for tests and tools). */
  state(): State {
    return new State(this.meta, new Overlay((k) => this.store.get(k)));
  }

  /** Next nonce of an account, counting its transactions waiting in the pool. */
  accountNextIndex(who: string): number {
    let nonce = getAccount(this.state(), who).nonce;
    const mine = this.pool.filter((t) => t.signer === who).map((t) => t.nonce).sort((a, b) => a - b);
    for (const n of mine) if (n === nonce) nonce++;
    return nonce;
  }

  private view(): ChainView {
    const best = this.bestNumber();
    const state = this.state();
    return {
      genesisHash: this.genesisHash,
      nextNumber: best + 1,
      blockHash: (n) => (n <= best ? this.store.hashOf(n) : undefined),
      accountNonce: (who) => getAccount(state, who).nonce,
    };
  }

  /** Validate and queue a transaction; returns its hash. Throws InvalidTransaction. */
  submit(hex: string): string {
    const ext = decodeExtrinsic(this.meta, hex);
    const { signer, nonce } = validateExtrinsic(this.meta, ext, this.view());
    const hash = blake2AsHex(hexToU8a(hex), 256);
    if (this.pool.some((t) => t.hash === hash)) throw new InvalidTransaction('Transaction Already Imported', 1013, 'Transaction Already Imported');
    if (this.pool.some((t) => t.signer === signer && t.nonce === nonce)) {
      throw new InvalidTransaction('Priority is too low: (0 vs 0)', 1014, 'Priority is too low');
    }
    this.pool.push({ hash, hex, ext, signer, nonce });
    for (const l of this.submitListeners) l();
    this.log.debug('transaction queued', { hash, signer, nonce, call: `${ext.method.section}.${ext.method.method}` });
    return hash;
  }

  /** Called after each accepted transaction (the node seals on demand from it). */
  onSubmit(listener: () => void): () => void {
    this.submitListeners.add(listener);
    return () => this.submitListeners.delete(listener);
  }

  pendingExtrinsics(): string[] {
    return this.pool.map((t) => t.hex);
  }

  onBlock(listener: (b: ProducedBlock) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Build, execute and store the next block; notify listeners. */
  produceBlock(): ProducedBlock {
    const number = this.bestNumber() + 1;
    const parent = this.store.block(number - 1)!;
    const parentHeader = this.meta.registry.createType('Header', parent.header) as unknown as Header;
    const overlay = new Overlay((k) => this.store.get(k));
    const state = new State(this.meta, overlay);
    const records: Uint8Array[] = [];
    let phase: EventPhase = 'initialization';
    let sink: Array<[string, string, unknown[]]> | null = null;
    const ctx: RuntimeContext = {
      meta: this.meta, state, block: number,
      emit: (pallet, name, fields) => {
        if (sink) sink.push([pallet, name, fields]);
        else records.push(encodeEventRecord(phase, encodeEvent(this.meta, pallet, name, fields)));
      },
    };
    const record = (pallet: string, name: string, fields: unknown[]) => ctx.emit(pallet, name, fields);

    // on_initialize
    state.set('system', 'number', [], number);
    state.set('system', 'parentHash', [], parent.hash);
    state.set('system', 'blockHash', [number - 1], parent.hash);
    blockStep(ctx, [this.config.netuid]);

    // Inherent: Timestamp.set
    const extrinsics: string[] = [];
    const now = Math.max(Date.now(), this.lastTimestamp + 1, state.num('timestamp', 'now') + 1);
    this.lastTimestamp = now;
    const tsCall = this.meta.registry.createType('Call', { callIndex: this.meta.decorated.tx['timestamp']!['set']!.callIndex, args: { now } });
    extrinsics.push(this.meta.registry.createType('Extrinsic', { method: tsCall }).toHex());
    state.set('timestamp', 'now', [], now);
    phase = { applyExtrinsic: 0 };
    record('System', 'ExtrinsicSuccess', [dispatchInfo('Mandatory', 'Yes')]);

    // Transactions, in pool order; a nonce gap keeps the rest of that sender's queue waiting.
    const included = new Map<string, number>();
    const dropped: string[] = [];
    const keep: PoolEntry[] = [];
    for (const tx of this.pool) {
      const account = getAccount(state, tx.signer);
      if (tx.nonce < account.nonce) { dropped.push(tx.hash); continue; }
      if (tx.nonce > account.nonce) { keep.push(tx); continue; }
      const index = extrinsics.length;
      extrinsics.push(tx.hex);
      included.set(tx.hash, index);
      phase = { applyExtrinsic: index };
      account.nonce += 1;
      setAccount(state, tx.signer, account);
      sink = [];
      try {
        state.transactional(() => dispatch(ctx, tx.signer, tx.ext.method));
        const events = sink;
        sink = null;
        for (const [p, n, f] of events) record(p, n, f);
        record('System', 'ExtrinsicSuccess', [dispatchInfo('Normal', 'No')]);
      } catch (err) {
        sink = null;
        record('System', 'ExtrinsicFailed', [this.dispatchError(err), dispatchInfo('Normal', 'No')]);
        if (!(err instanceof DispatchError)) this.log.error('devnet call crashed', { error: (err as Error).message });
        else this.log.debug('call failed', { error: err.message, signer: tx.signer });
      }
    }
    this.pool = keep;

    // Finalisation: events, header, one SQLite transaction.
    state.set('system', 'eventCount', [], records.length);
    overlay.put(storageKey(this.meta, 'system', 'events'), encodeEventVec(records));
    const changes = overlay.changes();
    const parentState = parentHeader.stateRoot.toU8a();
    const header = this.meta.registry.createType('Header', {
      parentHash: parent.hash, number, stateRoot: stateRoot(parentState, changes),
      extrinsicsRoot: blake2AsU8a(u8aConcat(...extrinsics.map((x) => hexToU8a(x)))), digest: { logs: [] },
    }) as unknown as Header;
    const hash = header.hash.toHex();
    this.store.commitBlock({ number, hash, header: header.toHex(), extrinsics }, changes);
    const produced: ProducedBlock = { number, hash, header, changes, included, dropped };
    for (const l of this.listeners) {
      try { l(produced); } catch (err) { this.log.error('block listener failed', { error: (err as Error).message }); }
    }
    return produced;
  }

  private dispatchError(err: unknown): unknown {
    if (err instanceof DispatchError && err.kind === 'Module') {
      const { index, error } = moduleError(this.meta, err.pallet!, err.errorName!);
      return { Module: { index, error: new Uint8Array([error, 0, 0, 0]) } };
    }
    if (err instanceof DispatchError && err.kind === 'BadOrigin') return { BadOrigin: null };
    if (err instanceof DispatchError && err.kind === 'CannotLookup') return { CannotLookup: null };
    return { Other: null };
  }

  close(): void {
    this.store.close();
  }
}

function dispatchInfo(cls: 'Normal' | 'Mandatory', paysFee: 'Yes' | 'No') {
  return { weight: { refTime: 0, proofSize: 0 }, class: cls, paysFee };
}

/** A stand-in state root: hash of the parent's root and this block's sorted changes. */
function stateRoot(parent: Uint8Array, changes: ChangeSet): Uint8Array {
  const keys = [...changes.keys()].sort((a, b) => compareBytes(hexToU8a(a), hexToU8a(b)));
  const parts: Uint8Array[] = [parent];
  for (const k of keys) { parts.push(hexToU8a(k)); parts.push(changes.get(k) ?? new Uint8Array([0xff])); }
  return blake2AsU8a(u8aConcat(...parts));
}
