/**
 * Commit-reveal v2: the commit is blake2b-256 of SCALE(`AccountId32`, `u16 netuid`,
 * `Vec<u16> uids`, `Vec<u16> values`, `Vec<u16> salt`, `u64 version_key`); the reveal sends the
 * same values and salt in a later epoch.
 */
import { compactToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a, decodeAddress } from '@polkadot/util-crypto';
import { randomBytes } from 'node:crypto';

function u16Le(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >> 8) & 0xff);
}

function vecU16(values: number[]): Uint8Array {
  return u8aConcat(compactToU8a(values.length), ...values.map(u16Le));
}

function u64Le(v: number | bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(v), true);
  return out;
}

export interface CommitHashParameters {
  /** The committing hotkey (SS58 address or 32-byte public key). */
  hotkey: string | Uint8Array;
  /** netuid index: the netuid itself for mechanism 0. */
  netuid: number;
  uids: number[];
  values: number[];
  salt: number[];
  versionKey: number | bigint;
}

/**
 * The commit hash the chain recomputes at reveal time.
 * @example commitHash({ hotkey: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY', netuid: 1, uids: [0, 1, 5], values: [65535, 32768, 1], salt: [1, 2, 3, 4, 5, 6, 7, 8], versionKey: 1000 })
 * // '0x345bbcac5e814a7f0df5b1522d60d61aca96acbed65fd9afcdfcb70cda046507'
 */
export function commitHash(p: CommitHashParameters): string {
  const account = typeof p.hotkey === 'string' ? decodeAddress(p.hotkey) : p.hotkey;
  const encoded = u8aConcat(account, u16Le(p.netuid), vecU16(p.uids), vecU16(p.values), vecU16(p.salt), u64Le(p.versionKey));
  return u8aToHex(blake2AsU8a(encoded, 256));
}

/** A fresh salt: 8 random u16, as the SDK makes. */
export function makeSalt(): number[] {
  const b = randomBytes(16);
  return Array.from({ length: 8 }, (_, i) => b.readUInt16LE(i * 2));
}
