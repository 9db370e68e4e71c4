/**
 * The inputs of one scoring round (`scoreRound`), assembled from the chain view and the state DB:
 * one `SubmissionInput` per uid of the metagraph, with the reason for every zero the validator
 * found (bad commitment, dataset fault), contamination counts, overlaps with every dataset
 * committed in the competition (the copy index), and the stored per-example losses.
 */
import type { Commitment, Metagraph } from '../chain/chain.js';
import type { DatasetFingerprints, FingerprintIndex, IndexMatch } from '../dataset/index.js';
import { roundVerdict } from '../protocol/rounds.js';
import type { Overlap, SubmissionInput } from '../protocol/scoring.js';
import type { LoadedCompetition } from '../evaluation/competition.js';
import type { SubmissionRecord, ValidatorStore } from './store.js';

/** A uid's current commitment as recorded, with its parse verdict. */
export interface UidCommitment {
  uid: number;
  hotkey: string;
  commitment: Commitment;
  submission: SubmissionRecord;
  /** Set when the commitment does not parse or names another competition. */
  commitmentError?: string;
}

/** Overlap queries against the copy index, cached while the index does not change. */
export class OverlapCache {
  private generation = -1;
  private readonly byIdentity = new Map<string, IndexMatch[]>();

  constructor(private readonly index: FingerprintIndex) {}

  /** Stored datasets that `fp` overlaps (itself excluded). */
  matches(fp: DatasetFingerprints): IndexMatch[] {
    if (this.index.generation !== this.generation) {
      this.byIdentity.clear();
      this.generation = this.index.generation;
    }
    let m = this.byIdentity.get(fp.identity);
    if (!m) {
      m = this.index.query(fp, { excludeIds: [fp.identity] });
      this.byIdentity.set(fp.identity, m);
    }
    return m;
  }
}

/**
 * Build the round's submissions. `fingerprintsOf` gives an accepted dataset's fingerprints
 * (undefined when its file is not available right now: its overlaps are then left out).
 */
export function buildSubmissions(p: {
  metagraph: Metagraph;
  ownerHotkey: string;
  commitments: ReadonlyMap<string, UidCommitment>;
  store: ValidatorStore;
  competition: LoadedCompetition;
  /** The validator's compute identity key: an evaluation computed with another counts as not done. */
  compute: string;
  overlaps: OverlapCache;
  fingerprintsOf: (identity: string) => DatasetFingerprints | undefined;
  /**
   * Why a submission not taken in yet waits, if it does (its downloads did not match the commit
   * so far): it scores 0 this round with that reason rather than as "not evaluated yet".
   */
  waitingReason?: (submission: SubmissionRecord) => string | undefined;
}): SubmissionInput[] {
  const { metagraph: mg, store, competition } = p;
  const checks = store.datasetChecks(competition.key);
  const committers = committersOf(store, competition.competition.id);
  const out: SubmissionInput[] = [];
  for (const uid of mg.uids) {
    const hotkey = mg.hotkeys[uid]!;
    const input: SubmissionInput = { uid, hotkey, registrationBlock: mg.blockAtRegistration[uid] ?? 0, commitmentBlock: null };
    const c = hotkey === p.ownerHotkey ? undefined : p.commitments.get(hotkey);
    if (c) {
      input.commitmentBlock = c.commitment.block;
      const round = competition.round ? roundVerdict({ commitmentBlock: c.commitment.block, rounds: competition.round.rounds, scoring: competition.round.number, currentBlock: mg.block.number }) : null;
      if (round) input.roundError = round;
      if (c.commitmentError) input.commitmentError = c.commitmentError;
      else if (c.submission.reason) input.datasetError = c.submission.reason;
      else if (!c.submission.datasetIdentity) {
        const waiting = p.waitingReason?.(c.submission);
        if (waiting) input.evaluationError = waiting;
      }
      const identity = c.submission.datasetIdentity;
      if (identity && !input.datasetError) {
        const check = checks.get(identity);
        if (check) {
          input.rows = check.rows;
          input.contaminatedRows = check.contaminatedRows;
        }
        input.overlaps = overlapsOf(identity, p.fingerprintsOf(identity), p.overlaps, committers);
        const ev = store.getEvaluation(competition.key, identity);
        if (ev?.status === 'done' && ev.losses && ev.compute === p.compute) input.losses = ev.losses;
        else if (ev?.status === 'failed') input.evaluationError = ev.reason ?? 'the evaluation failed';
      }
    }
    out.push(input);
  }
  return out;
}

/** Every dataset committed in a competition, by identity → who committed it and when. */
export function committersOf(store: ValidatorStore, competitionId: string): Map<string, Array<{ uid: number; block: number }>> {
  const committers = new Map<string, Array<{ uid: number; block: number }>>();
  for (const s of store.competitionSubmissions(competitionId)) {
    if (!s.datasetIdentity) continue;
    const list = committers.get(s.datasetIdentity) ?? [];
    list.push({ uid: s.uid, block: s.block });
    committers.set(s.datasetIdentity, list);
  }
  return committers;
}

/** O(this dataset, j), and how many of j's rows it holds, for every committed dataset j it overlaps (identical data: O = 1). */
export function overlapsOf(
  identity: string,
  fp: DatasetFingerprints | undefined,
  cache: OverlapCache,
  committers: ReadonlyMap<string, Array<{ uid: number; block: number }>>,
): Overlap[] {
  const out: Overlap[] = [];
  // the same data committed by someone else: O = 1
  for (const who of committers.get(identity) ?? []) out.push({ uid: who.uid, block: who.block, fraction: 1 });
  if (fp) {
    for (const m of cache.matches(fp)) {
      const reverse = m.storedMatched === null ? {} : { otherMatched: m.storedMatched, otherRows: m.rows };
      for (const who of committers.get(m.identity) ?? []) out.push({ uid: who.uid, block: who.block, fraction: m.overlap, ...reverse });
    }
  }
  return out;
}
