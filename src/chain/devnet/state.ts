/**
 * Typed access to runtime storage for the devnet's pallets: `state.get('subtensorModule', 'tempo',
 * [netuid])` reads through the block's overlay and decodes with the metadata's type (falling back
 * to the metadata default), `state.set(...)` encodes and writes. Storage is the only state there is,
 * laid out exactly as on finney.
 */
import type { Codec } from '@polkadot/types/types';
import { u8aEq } from '@polkadot/util';
import type { Overlay } from './store.js';
import { decodeValue, encodeValue, fallbackOf, fastCodecOf, storageKey, type RuntimeMeta } from './metadata.js';

export class State {
  constructor(readonly meta: RuntimeMeta, public overlay: Overlay) {}

  /** Raw bytes at a storage item, or null when absent (no default applied). */
  raw(pallet: string, item: string, keys: unknown[] = []): Uint8Array | null {
    return this.overlay.get(storageKey(this.meta, pallet, item, keys));
  }

  has(pallet: string, item: string, keys: unknown[] = []): boolean {
    return this.raw(pallet, item, keys) !== null;
  }

  /** Decoded value (metadata default when absent); undefined for an absent `Option` item. */
  get(pallet: string, item: string, keys: unknown[] = []): Codec | undefined {
    const bytes = this.raw(pallet, item, keys) ?? fallbackOf(this.meta, pallet, item);
    return bytes === null ? undefined : decodeValue(this.meta, pallet, item, bytes);
  }

  /** The value as plain JS through a fast codec, when the item has one (else undefined). */
  private fast(pallet: string, item: string, keys: unknown[]): { value: unknown } | undefined {
    const codec = fastCodecOf(this.meta, pallet, item);
    if (!codec) return undefined;
    const bytes = this.raw(pallet, item, keys) ?? fallbackOf(this.meta, pallet, item);
    return { value: bytes === null ? undefined : codec.decode(bytes) };
  }

  /** A numeric item as a JS number (u8…u64 that fit in 2^53). */
  num(pallet: string, item: string, keys: unknown[] = []): number {
    const f = this.fast(pallet, item, keys);
    if (f) return f.value === undefined ? 0 : Number(f.value);
    const v = this.get(pallet, item, keys);
    return v === undefined ? 0 : Number(v.toString());
  }

  /** A numeric item as a bigint (balances). */
  big(pallet: string, item: string, keys: unknown[] = []): bigint {
    const f = this.fast(pallet, item, keys);
    if (f) return f.value === undefined ? 0n : BigInt(f.value as number | bigint);
    const v = this.get(pallet, item, keys);
    return v === undefined ? 0n : BigInt(v.toString());
  }

  bool(pallet: string, item: string, keys: unknown[] = []): boolean {
    return Boolean(this.get(pallet, item, keys)?.toJSON());
  }

  /** `Vec<uN>` or `Vec<bool>` as numbers (bools as 0/1). */
  numVec(pallet: string, item: string, keys: unknown[] = []): number[] {
    const f = this.fast(pallet, item, keys);
    const list = f ? (f.value as unknown[] | undefined) : (this.get(pallet, item, keys)?.toJSON() as unknown[] | undefined);
    if (!list) return [];
    return list.map((x) => (typeof x === 'boolean' ? (x ? 1 : 0) : Number(x)));
  }

  /** `Vec<(u16, u16)>` (weights, bonds) as pairs. */
  pairs(pallet: string, item: string, keys: unknown[] = []): Array<[number, number]> {
    const f = this.fast(pallet, item, keys);
    const list = f ? f.value : this.get(pallet, item, keys)?.toJSON();
    return (list as Array<[number, number]> | undefined) ?? [];
  }

  /** Write a JS value (encoded with the item's type); unchanged values are not rewritten. */
  set(pallet: string, item: string, keys: unknown[], value: unknown): void {
    const key = storageKey(this.meta, pallet, item, keys);
    const codec = fastCodecOf(this.meta, pallet, item);
    const bytes = codec ? codec.encode(value) : encodeValue(this.meta, pallet, item, value);
    const old = this.overlay.get(key);
    if (old && u8aEq(old, bytes)) return;
    this.overlay.put(key, bytes);
  }

  remove(pallet: string, item: string, keys: unknown[] = []): void {
    const key = storageKey(this.meta, pallet, item, keys);
    if (this.overlay.get(key) !== null) this.overlay.put(key, null);
  }

  /** Run `fn` in a nested layer kept only if it does not throw (a failed call leaves no trace). */
  transactional<T>(fn: () => T): T {
    const parent = this.overlay;
    const child = parent.child();
    this.overlay = child;
    try {
      const out = fn();
      child.commitInto(parent);
      return out;
    } finally {
      this.overlay = parent;
    }
  }
}
