/**
 * The finney runtime metadata, loaded once, and the typed helpers the devnet builds on: storage keys
 * and values, calls, events and module errors are all encoded with the real metadata's types, so an
 * unmodified `@polkadot/api` client decodes what the devnet writes exactly as it decodes finney.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TypeRegistry, Metadata } from '@polkadot/types';
import { expandMetadata } from '@polkadot/types/metadata';
import type { DecoratedMeta } from '@polkadot/types/metadata/decorate/types';
import type { Codec } from '@polkadot/types/types';
import { compactStripLength, compactToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { FlockError } from '../../util/errors.js';

/**
 * Where the finney metadata lives: a copy of shared/chain/finney-metadata.scale checked in beside
 * this module (src/ and dist/ are both three levels below the package root, so one path serves both).
 */
export function defaultMetadataPath(): string {
  const env = process.env['FLOCK_FINNEY_METADATA'];
  if (env) return env;
  return fileURLToPath(new URL('../../../src/chain/devnet/finney-metadata.scale', import.meta.url));
}

export interface RuntimeMeta {
  registry: TypeRegistry;
  metadata: Metadata;
  decorated: DecoratedMeta;
  /** `state_getMetadata` answer: the metadata bytes (with the `meta` magic) as hex. */
  metadataHex: string;
  /** The runtime version from the `System.Version` constant, as JSON for `state_getRuntimeVersion`. */
  runtimeVersion: Record<string, unknown>;
  specVersion: number;
  transactionVersion: number;
}

/**
 * finney's own signed extensions (SudoTransactionExtension, CheckShieldedTxValidity,
 * SubtensorTransactionExtension, DrandPriority) all carry `()` in the extrinsic and the payload.
 * Clients may pass this as `signedExtensions` to `ApiPromise.create` to silence its warning.
 */
export const FINNEY_USER_EXTENSIONS = {
  SudoTransactionExtension: { extrinsic: {}, payload: {} },
  CheckShieldedTxValidity: { extrinsic: {}, payload: {} },
  SubtensorTransactionExtension: { extrinsic: {}, payload: {} },
  DrandPriority: { extrinsic: {}, payload: {} },
};

const cache = new Map<string, RuntimeMeta>();

/** Load (once per path) the finney metadata and a registry typed by it. */
export function loadRuntimeMeta(path = defaultMetadataPath()): RuntimeMeta {
  const hit = cache.get(path);
  if (hit) return hit;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw new FlockError(`cannot read the finney metadata at ${path}`, {
      cause, hint: 'set FLOCK_FINNEY_METADATA to the path of finney-metadata.scale',
    });
  }
  const registry = new TypeRegistry();
  const metadata = new Metadata(registry, new Uint8Array(bytes));
  // finney's extra signed extensions (Sudo…, CheckShieldedTxValidity, SubtensorTransactionExtension,
  // DrandPriority) all have `()` payloads: declare them so the registry does not warn.
  registry.setMetadata(metadata, undefined, FINNEY_USER_EXTENSIONS);
  const decorated = expandMetadata(registry, metadata);
  const version = (decorated.consts['system']!['version'] as Codec).toJSON() as Record<string, unknown>;
  const meta: RuntimeMeta = {
    registry, metadata, decorated,
    metadataHex: u8aToHex(new Uint8Array(bytes)),
    runtimeVersion: version,
    specVersion: Number(version['specVersion']),
    transactionVersion: Number(version['transactionVersion']),
  };
  cache.set(path, meta);
  return meta;
}

/** The decorated storage entry `pallet.item` (camelCase names, as in `api.query`). */
function entryOf(meta: RuntimeMeta, pallet: string, item: string) {
  const entry = meta.decorated.query[pallet]?.[item];
  if (!entry) throw new Error(`storage item ${pallet}.${item} is not in the finney metadata`);
  return entry;
}

/** Storage key of `pallet.item(...keys)` as bytes (hashers from the metadata). */
export function storageKey(meta: RuntimeMeta, pallet: string, item: string, keys: unknown[] = []): Uint8Array {
  const entry = entryOf(meta, pallet, item);
  // The decorated function returns the key with a compact length prefix (it is `Bytes` underneath).
  return compactStripLength(entry(...keys))[1];
}

/** Key prefix shared by every entry of a map (`twox128(pallet) ++ twox128(item)`). */
export function storagePrefix(meta: RuntimeMeta, pallet: string, item: string): Uint8Array {
  return entryOf(meta, pallet, item).keyPrefix();
}

/** The registry type name of a storage item's value. */
export function valueTypeOf(meta: RuntimeMeta, pallet: string, item: string): string {
  const t = entryOf(meta, pallet, item).meta.type;
  const id = t.isPlain ? t.asPlain : t.asMap.value;
  return meta.registry.createLookupType(id);
}

/** The metadata's default value bytes of a storage item (what a read of a missing key gives). */
export function fallbackOf(meta: RuntimeMeta, pallet: string, item: string): Uint8Array | null {
  const m = entryOf(meta, pallet, item).meta;
  return m.modifier.isOptional ? null : m.fallback.toU8a(true);
}

/** SCALE-encode a JS value as the value type of a storage item. */
export function encodeValue(meta: RuntimeMeta, pallet: string, item: string, value: unknown): Uint8Array {
  return meta.registry.createType(valueTypeOf(meta, pallet, item), value).toU8a();
}

/** Decode the bytes of a storage item's value. */
export function decodeValue(meta: RuntimeMeta, pallet: string, item: string, bytes: Uint8Array): Codec {
  return meta.registry.createType(valueTypeOf(meta, pallet, item), bytes);
}

/** Index of a pallet in the runtime (e.g. SubtensorModule → 7). */
export function palletIndex(meta: RuntimeMeta, pallet: string): number {
  const p = meta.metadata.asLatest.pallets.find((x) => x.name.toString() === pallet);
  if (!p) throw new Error(`pallet ${pallet} is not in the finney metadata`);
  return p.index.toNumber();
}

/** `(pallet index, error index)` of a module error, e.g. `('SubtensorModule', 'SettingWeightsTooFast')`. */
export function moduleError(meta: RuntimeMeta, pallet: string, name: string): { index: number; error: number } {
  const section = pallet.charAt(0).toLowerCase() + pallet.slice(1);
  const err = meta.decorated.errors[section]?.[name];
  if (!err) throw new Error(`error ${pallet}.${name} is not in the finney metadata`);
  return { index: palletIndex(meta, pallet), error: err.meta.index.toNumber() };
}

/**
 * SCALE bytes of one runtime event `pallet.name(...fields)`: pallet index, variant index, then each
 * field encoded with its metadata type. Field values are positional.
 */
export function encodeEvent(meta: RuntimeMeta, pallet: string, name: string, fields: unknown[]): Uint8Array {
  const section = pallet.charAt(0).toLowerCase() + pallet.slice(1);
  const ev = meta.decorated.events[section]?.[name];
  if (!ev) throw new Error(`event ${pallet}.${name} is not in the finney metadata`);
  const defs = ev.meta.fields;
  if (defs.length !== fields.length) throw new Error(`event ${pallet}.${name} takes ${defs.length} fields, got ${fields.length}`);
  const parts = defs.map((f, i) => meta.registry.createType(meta.registry.createLookupType(f.type), fields[i]).toU8a());
  return u8aConcat(new Uint8Array([palletIndex(meta, pallet), ev.meta.index.toNumber()]), ...parts);
}

/** Phase of an event record. */
export type EventPhase = { applyExtrinsic: number } | 'finalization' | 'initialization';

/** SCALE bytes of one `FrameSystemEventRecord` (phase, event, no topics). */
export function encodeEventRecord(phase: EventPhase, event: Uint8Array): Uint8Array {
  let phaseBytes: Uint8Array;
  if (phase === 'finalization') phaseBytes = new Uint8Array([1]);
  else if (phase === 'initialization') phaseBytes = new Uint8Array([2]);
  else {
    phaseBytes = new Uint8Array(5);
    phaseBytes[0] = 0;
    new DataView(phaseBytes.buffer).setUint32(1, phase.applyExtrinsic, true);
  }
  return u8aConcat(phaseBytes, event, compactToU8a(0));
}

/** `Vec<EventRecord>` bytes from encoded records. */
export function encodeEventVec(records: Uint8Array[]): Uint8Array {
  return u8aConcat(compactToU8a(records.length), ...records);
}
