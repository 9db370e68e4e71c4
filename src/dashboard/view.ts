/**
 * What the pages show, derived once per snapshot version: validators with their chain figures,
 * their latest verdicts by uid and their distance from consensus; and the leaderboard rows.
 */
import { fromWireNumber, type PublishedUid } from '../protocol/index.js';
import { consensusDistances } from './consensus.js';
import { zeroReason, type Snapshot, type ValidatorResults } from './source.js';

export interface ValidatorView {
  hotkey: string;
  uid: number | null;
  stake: number;
  validatorTrust: number;
  dividends: number;
  permit: boolean;
  results: ValidatorResults;
  /** The latest document's entries by uid (only those still held by the same hotkey). */
  byUid: Map<number, PublishedUid>;
  /** L1 distance of its normalised weights from the stake-weighted mean (null: no weights). */
  distance: number | null;
}

export interface Verdict {
  validator: ValidatorView;
  entry: PublishedUid | null;
  evalLoss: number | null;
  weight: number;
  /** Why the weight is zero (null when positive). */
  reason: string | null;
}

export interface LeaderRow {
  uid: number;
  hotkey: string;
  coldkey: string;
  incentive: number;
  emission: number;
  stake: number;
  commitment: string | null;
  commitmentBlock: number | null;
  /** A validator's hotkey (its commitment is a results pointer), or the subnet owner's. */
  role: 'miner' | 'validator' | 'owner';
  /** Stake-weighted mean of the validators' normalised published weights. */
  consensusWeight: number;
  verdicts: Verdict[];
}

export interface View {
  version: number;
  /** Validators with a results pointer, by stake (largest first). */
  validators: ValidatorView[];
  rows: LeaderRow[];
  /** Validators whose latest results were read and verified. */
  readCount: number;
}

function verdictOf(v: ValidatorView, uid: number): Verdict {
  const entry = v.byUid.get(uid) ?? null;
  if (!entry) return { validator: v, entry, evalLoss: null, weight: 0, reason: v.results.latest ? 'not in this validator\'s latest round' : null };
  return {
    validator: v, entry, evalLoss: entry.evalLoss === null ? null : fromWireNumber(entry.evalLoss), weight: entry.weight,
    reason: entry.weight > 0 ? null : zeroReason(entry.stage, entry.reason) ?? 'weight 0',
  };
}

export function buildView(s: Snapshot): View {
  const mg = s.chain?.metagraph;
  const uidOf = new Map(mg?.hotkeys.map((h, uid) => [h, uid]) ?? []);
  const validators: ValidatorView[] = [...s.results.values()].map((results) => {
    const uid = uidOf.get(results.hotkey) ?? null;
    const byUid = new Map<number, PublishedUid>();
    for (const u of results.latest?.document.uids ?? []) if (mg?.hotkeys[u.uid] === u.hotkey) byUid.set(u.uid, u);
    return {
      hotkey: results.hotkey, uid, results, byUid, distance: null,
      stake: uid === null ? 0 : mg!.stake[uid] ?? 0, validatorTrust: uid === null ? 0 : mg!.validatorTrust[uid] ?? 0,
      dividends: uid === null ? 0 : mg!.dividends[uid] ?? 0, permit: uid === null ? false : mg!.validatorPermit[uid] ?? false,
    };
  });
  validators.sort((a, b) => b.stake - a.stake || (a.uid ?? Infinity) - (b.uid ?? Infinity));
  const { consensus, distance } = consensusDistances(validators.filter((v) => v.results.latest).map((v) => ({
    hotkey: v.hotkey, stake: v.stake, weights: new Map([...v.byUid.values()].map((u) => [u.uid, u.weight])),
  })));
  for (const v of validators) v.distance = distance.get(v.hotkey) ?? null;
  const validatorKeys = new Set(validators.map((v) => v.hotkey));
  const owner = s.chain?.subnet.ownerHotkey;
  const rows: LeaderRow[] = (mg?.hotkeys ?? []).map((hotkey, uid) => {
    const c = s.chain!.commitments.get(hotkey);
    return {
      uid, hotkey, coldkey: mg!.coldkeys[uid] ?? '', incentive: mg!.incentive[uid] ?? 0, emission: mg!.emission[uid] ?? 0, stake: mg!.stake[uid] ?? 0,
      commitment: c?.data ?? null, commitmentBlock: c?.block ?? null,
      role: hotkey === owner ? 'owner' : validatorKeys.has(hotkey) ? 'validator' : 'miner',
      consensusWeight: consensus.get(uid) ?? 0, verdicts: validators.filter((v) => v.results.latest).map((v) => verdictOf(v, uid)),
    };
  });
  rows.sort((a, b) => b.incentive - a.incentive || b.consensusWeight - a.consensusWeight || a.uid - b.uid);
  return { version: s.version, validators, rows, readCount: validators.filter((v) => v.results.latest).length };
}
