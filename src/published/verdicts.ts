/**
 * What every validator's published results say about one hotkey (`flock miner status`): its loss,
 * win rate, weight and the reason for a zero, per validator, with the validators whose results
 * could not be read and why.
 */
import { fromWireNumber } from '../protocol/index.js';
import type { PublishedResults } from './read.js';

/** One validator's verdict on one hotkey, or why there is none. */
export type Verdict =
  | {
    validator: string; validatorUid: number | null; ok: true; repoId: string; revision: string; round: number; block: number; createdAt: string;
    /** Null when the document has no entry for the hotkey (not registered when the round was scored). */
    uid: number | null; evalLoss: number | null; baseLoss: number; winRate: number; weight: number; stage: string | null; reason: string | null;
  }
  | { validator: string; validatorUid: number | null; ok: false; reason: string };

export function verdictsFor(hotkey: string, results: readonly PublishedResults[]): Verdict[] {
  return results.map((r): Verdict => {
    if (!r.ok) return { validator: r.hotkey, validatorUid: r.uid, ok: false, reason: r.reason };
    const d = r.signed.document;
    const u = d.uids.find((x) => x.hotkey === hotkey);
    return {
      validator: r.hotkey, validatorUid: r.uid, ok: true, repoId: r.repoId, revision: r.revision, round: d.round, block: d.block, createdAt: d.createdAt,
      uid: u?.uid ?? null, evalLoss: u?.evalLoss == null ? null : fromWireNumber(u.evalLoss), baseLoss: fromWireNumber(d.base.evalLoss),
      winRate: u?.winRate ?? 0, weight: u?.weight ?? 0, stage: u ? u.stage : null,
      reason: u ? u.reason : 'this hotkey is not in the round (not registered, or registered after it was scored)',
    };
  });
}
