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
 * Where the finney metadata lives: a copy of finney's runtime metadata checked in beside
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

/** A hand-written SCALE codec for a hot storage value type (JS numbers/bigints/booleans/arrays). */
export interface FastCodec {
  decode(bytes: Uint8Array): unknown;
  encode(value: unknown): Uint8Array;
}

function readCompact(b: Uint8Array, o: number): [number, number] {
  const mode = b[o]! & 3;
  if (mode === 0) return [b[o]! >> 2, 1];
  if (mode === 1) return [(b[o]! | (b[o + 1]! << 8)) >> 2, 2];
  if (mode === 2) return [(b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) / 4 + b[o + 3]! * (1 << 22), 4];
  throw new Error('compact length too large');
}

function vecCodec(width: 1 | 2 | 8 | 4, kind: 'bool' | 'u16' | 'u64' | 'pair'): FastCodec {
  return {
    decode(b) {
      const [n, off] = readCompact(b, 0);
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const out: unknown[] = new Array(n);
      for (let i = 0, o = off; i < n; i++, o += width) {
        if (kind === 'bool') out[i] = b[o] === 1;
        else if (kind === 'u16') out[i] = v.getUint16(o, true);
        else if (kind === 'u64') out[i] = v.getBigUint64(o, true);
        else out[i] = [v.getUint16(o, true), v.getUint16(o + 2, true)];
      }
      return out;
    },
    encode(value) {
      const arr = value as unknown[];
      const head = compactToU8a(arr.length);
      const out = new Uint8Array(head.length + arr.length * width);
      out.set(head);
      const v = new DataView(out.buffer);
      arr.forEach((x, i) => {
        const o = head.length + i * width;
        if (kind === 'bool') out[o] = x ? 1 : 0;
        else if (kind === 'u16') v.setUint16(o, Number(x), true);
        else if (kind === 'u64') v.setBigUint64(o, BigInt(x as number | bigint), true);
        else { const [a, c] = x as [number, number]; v.setUint16(o, a, true); v.setUint16(o + 2, c, true); }
      });
      return out;
    },
  };
}

function intCodec(bytes: 2 | 4 | 8): FastCodec {
  return {
    decode(b) {
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      return bytes === 2 ? v.getUint16(0, true) : bytes === 4 ? v.getUint32(0, true) : v.getBigUint64(0, true);
    },
    encode(value) {
      const out = new Uint8Array(bytes);
      const v = new DataView(out.buffer);
      if (bytes === 2) v.setUint16(0, Number(value), true);
      else if (bytes === 4) v.setUint32(0, Number(value), true);
      else v.setBigUint64(0, BigInt(value as number | bigint), true);
      return out;
    },
  };
}

const FAST_CODECS: Record<string, FastCodec> = {
  'u16': intCodec(2), 'u32': intCodec(4), 'u64': intCodec(8),
  'Vec<bool>': vecCodec(1, 'bool'), 'Vec<u16>': vecCodec(2, 'u16'), 'Vec<u64>': vecCodec(8, 'u64'),
  'Vec<(u16,u16)>': vecCodec(4, 'pair'),
};
const fastCache = new Map<string, FastCodec | null>();

/**
 * The hand-written codec for a storage item whose value type is one of the hot simple types
 * (u16/u32/u64, Vec<bool|u16|u64|(u16,u16)>), or null. The epoch reads and writes thousands of
 * these; the generic registry codecs (BN-based) dominate its time otherwise.
 */
export function fastCodecOf(meta: RuntimeMeta, pallet: string, item: string): FastCodec | null {
  const key = `${pallet}.${item}`;
  let c = fastCache.get(key);
  if (c === undefined) {
    const t = entryOf(meta, pallet, item).meta.type;
    const def = meta.registry.lookup.getTypeDef(t.isPlain ? t.asPlain : t.asMap.value).type.replace(/\s/g, '');
    c = FAST_CODECS[def] ?? null;
    fastCache.set(key, c);
  }
  return c;
}
