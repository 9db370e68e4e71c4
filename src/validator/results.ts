/**
 * A scored round as a results document (src/protocol/results.ts): the round's per-uid verdict from
 * `scoreRound`, with each uid's commitment and the stored losses and receipt of what it was
 * evaluated on, and the base model's evaluation.
 */
import { toWireNumber, type PublishedReceipt, type PublishedUid, type ResultsDocument } from '../protocol/index.js';
import { RESULTS_FORMAT } from '../protocol/results.js';
import type { RoundResult } from '../protocol/scoring.js';
import type { LoadedCompetition } from '../evaluation/competition.js';
import type { UidCommitment } from './round.js';
import { BASE_EVALUATION, type EvaluationRecord, type ValidatorStore } from './store.js';

export interface RoundResultsInput {
  netuid: number;
  /** The validator's hotkey (SS58). */
  validator: string;
  competition: LoadedCompetition;
  /** The block the round's weights were set in, and its number in the state file. */
  block: number;
  roundId: number;
  compute: string;
  round: RoundResult;
  /** The commitments the round was scored on, by hotkey. */
  commitments: ReadonlyMap<string, UidCommitment>;
  store: ValidatorStore;
  now?: Date;
}

function receiptOf(e: EvaluationRecord | undefined): PublishedReceipt | null {
  return (e?.receipt as PublishedReceipt | null | undefined) ?? null;
}

/** The results document of a scored round (unsigned). */
export function buildRoundResults(o: RoundResultsInput): ResultsDocument {
  const key = o.competition.key;
  const evaluation = (identity: string | null) => {
    if (!identity) return undefined;
    const e = o.store.getEvaluation(key, identity);
    return e?.status === 'done' && e.compute === o.compute ? e : undefined;
  };
  const base = evaluation(BASE_EVALUATION);
  if (!base?.losses || base.evalLoss === null) throw new TypeError('a round is only scored after the base model was evaluated');
  const uids: PublishedUid[] = o.round.perUid.map((u) => {
    const c = o.commitments.get(u.hotkey);
    const sub = c?.submission;
    const identity = sub?.datasetIdentity ?? null;
    const e = u.evalLoss !== undefined ? evaluation(identity) : undefined;
    return {
      uid: u.uid, hotkey: u.hotkey,
      commitment: c ? c.commitment.data : null, commitmentBlock: c ? c.commitment.block : null,
      repoId: sub?.repoId ?? null, revision: sub?.revision ?? null, datasetIdentity: identity,
      evalLoss: e?.evalLoss != null ? toWireNumber(e.evalLoss) : null, losses: e?.losses ? Array.from(e.losses, toWireNumber) : null,
      winRate: u.winRate, score: u.score, weight: u.weight,
      stage: u.weight > 0 ? null : (u.stage ?? null), reason: u.weight > 0 ? null : (u.reason ?? null),
      receipt: receiptOf(e),
    };
  });
  return {
    format: RESULTS_FORMAT, netuid: o.netuid, validator: o.validator,
    competition: {
      id: o.competition.competition.id, repoId: o.competition.pointer.repoId, revision: o.competition.pointer.revision,
      ...(o.competition.round ? { sealedRound: o.competition.round.number } : {}),
    },
    block: o.block, round: o.roundId, compute: o.compute, createdAt: (o.now ?? new Date()).toISOString(),
    base: { evalLoss: toWireNumber(base.evalLoss), losses: Array.from(base.losses, toWireNumber), receipt: receiptOf(base) },
    uids,
  };
}
