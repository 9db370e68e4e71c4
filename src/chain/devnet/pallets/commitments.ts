/**
 * The Commitments pallet on the devnet: `set_commitment(netuid, info)` by a hotkey registered on
 * the subnet, at most 3 fields, and the space-per-epoch limit (`max(100, bytes)` of `MaxSpace` per
 * (netuid, hotkey) per epoch index).
 */
import type { Codec } from '@polkadot/types/types';
import { fail, type RuntimeContext } from '../runtime.js';
import { epochIndex, uidOf } from './subtensor.js';

const MAX_FIELDS = 3;
const MIN_SPACE = 100;
/** `MaxSpace` when the storage item is unset (the runtime's configured default). */
const DEFAULT_MAX_SPACE = 3100;

/** Bytes a `Data` field counts for (its payload; hashes 32). */
function fieldBytes(field: Codec): number {
  const u8a = field.toU8a();
  const tag = u8a[0]!;
  if (tag === 0) return 0;
  if (tag >= 1 && tag <= 129) return tag - 1;
  if (tag >= 130 && tag <= 133) return 32;
  return Math.max(0, u8a.length - 1);
}

/** `Commitments.set_commitment(netuid, info)`. */
export function setCommitment(ctx: RuntimeContext, who: string, netuid: number, info: Codec): void {
  const s = ctx.state;
  if (uidOf(s, netuid, who) === undefined) fail('Commitments', 'AccountNotAllowedCommit');
  const fields = (info as unknown as { get(k: string): Codec[] & Codec }).get('fields');
  if (fields.length > MAX_FIELDS) fail('Commitments', 'TooManyFieldsInCommitmentInfo');
  const required = Math.max(MIN_SPACE, fields.reduce((a: number, f: Codec) => a + fieldBytes(f), 0));
  const tempo = s.num('subtensorModule', 'tempo', [netuid]);
  const epoch = epochIndex(ctx.block, netuid, tempo);
  const used = s.get('commitments', 'usedSpaceOf', [netuid, who])?.toJSON() as { lastEpoch: number; usedSpace: number } | undefined;
  const usedNow = used && Number(used.lastEpoch) === epoch ? Number(used.usedSpace) : 0;
  const maxSpace = s.has('commitments', 'maxSpace') ? s.num('commitments', 'maxSpace') : DEFAULT_MAX_SPACE;
  if (usedNow + required > maxSpace) fail('Commitments', 'SpaceLimitExceeded');
  s.set('commitments', 'usedSpaceOf', [netuid, who], { lastEpoch: epoch, usedSpace: usedNow + required });
  s.set('commitments', 'commitmentOf', [netuid, who], { deposit: 0, block: ctx.block, info });
  s.set('commitments', 'lastCommitment', [netuid, who], ctx.block);
  ctx.emit('Commitments', 'Commitment', [netuid, who]);
}
