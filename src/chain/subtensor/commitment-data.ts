/**
 * Commitment fields (`pallet_commitments::Data`): `RawN` holds N bytes (N = UTF-8 byte length,
 * unlike the Python SDK, which counts characters). At most 128 bytes in one Raw field.
 */
import { FlockError } from '../../util/errors.js';

export const MAX_COMMITMENT_BYTES = 128;

/** The `CommitmentInfo` value for one Raw field holding `data` as UTF-8. */
export function commitmentInfo(data: string): { fields: Record<string, Uint8Array>[] } {
  const bytes = new TextEncoder().encode(data);
  if (bytes.length > MAX_COMMITMENT_BYTES) {
    throw new FlockError(`commitment is ${bytes.length} bytes; the chain stores at most ${MAX_COMMITMENT_BYTES}`, { hint: 'shorten it (repo ids and revisions count in UTF-8 bytes)' });
  }
  return { fields: [{ [`Raw${bytes.length}`]: bytes }] };
}

/** Minimal view of a decoded `Data` enum from @polkadot/types. */
interface DataEnum {
  type: string;
  value: { toU8a(isBare?: boolean): Uint8Array };
}

/** Raw bytes of a decoded `Data` field (empty for `None`). */
export function fieldBytes(field: DataEnum): Uint8Array {
  if (field.type === 'None') return new Uint8Array();
  if (/^Raw\d+$/.test(field.type)) return field.value.toU8a(true);
  // BigRaw is length-prefixed Bytes; hashes are fixed 32 bytes; bare form drops the prefix.
  return field.value.toU8a(true);
}

/** UTF-8 of bytes, replacing invalid sequences (a bad commitment must not throw). */
export function utf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}
