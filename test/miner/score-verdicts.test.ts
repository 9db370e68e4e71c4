/**
 * The miner's preview and the validator judge alike: given the same datasets, the preview's
 * evidence (`previewEvidence`, measured pairwise) equals what the validator gathers through its
 * fingerprint index (`overlapsOf`), and the verdict the preview shows is the one the validator's
 * round (`scoreRound`) and its intake (`trainingVerdict`) give, reason for reason.
 */
import { describe, expect, it } from 'vitest';
import { contamination, FingerprintIndex, fingerprintRows, type CanonicalRow, type DatasetFingerprints } from '../../src/dataset/index.js';
import { previewEvidence, type CommittedFingerprints } from '../../src/miner/score.js';
import {
  DEFAULT_SCORING_CONSTANTS, DEFAULT_SCORING_CONSTANTS_V2, scoreRound, trainingVerdict, type Overlap, type ScoringConstants, type SubmissionInput,
} from '../../src/protocol/index.js';
import { OverlapCache, overlapsOf } from '../../src/validator/round.js';
import { makeRows, recased, shuffled, wordEdited } from '../dataset/synthetic.js';

const evalRows = makeRows(700, 40, 300);
const original = makeRows(701, 150, 300);
const other = makeRows(702, 200, 300);
const publicRows = makeRows(703, 12, 300);
const fp = (rows: CanonicalRow[]) => fingerprintRows(rows);
const evalFp = fp(evalRows);

/** Datasets committed before the one judged: uid, block, rows. */
const committedRows: Array<{ uid: number; block: number; rows: CanonicalRow[] }> = [
  { uid: 1, block: 100, rows: original },
  { uid: 2, block: 110, rows: [...other, ...publicRows] },
];

/** The datasets a miner might be about to commit (as uid 9, at block 200). */
const candidates: Record<string, CanonicalRow[]> = {
  diluted: shuffled([...original, ...makeRows(704, 300, 300)], 3),
  rewordedCopy: shuffled(recased(wordEdited(original, 0.05)), 4),
  contaminated: [...makeRows(705, 100, 300), ...evalRows.slice(0, 5)],
  honestWithPublicRows: [...makeRows(706, 300, 300), ...publicRows],
  fresh: makeRows(707, 200, 300),
  sameAsOriginal: original.map((r) => ({ ...r })),
};

/** What the validator gathers: its fingerprint index holds every committed dataset by identity. */
function validatorOverlaps(mine: DatasetFingerprints, committed: CommittedFingerprints[]): Overlap[] {
  const index = FingerprintIndex.open(':memory:');
  try {
    const committers = new Map<string, Array<{ uid: number; block: number }>>();
    for (const c of committed) {
      index.add(c.fingerprints.identity, c.fingerprints);
      committers.set(c.fingerprints.identity, [...(committers.get(c.fingerprints.identity) ?? []), { uid: c.uid, block: c.block }]);
    }
    index.add(mine.identity, mine);
    return overlapsOf(mine.identity, mine, new OverlapCache(index), committers);
  } finally {
    index.close();
  }
}

const byUid = (o: readonly Overlap[]) => [...o].sort((a, b) => a.uid - b.uid);

describe.each([
  ['protocol 1', DEFAULT_SCORING_CONSTANTS],
  ['protocol 2', DEFAULT_SCORING_CONSTANTS_V2],
] as Array<[string, ScoringConstants]>)('preview and validator agree (%s)', (_name, constants) => {
  const committed: CommittedFingerprints[] = committedRows.map((c) => ({ uid: c.uid, block: c.block, fingerprints: fp(c.rows) }));

  it.each(Object.keys(candidates))('%s: the same evidence and the same verdict and reason', (name) => {
    const mine = fp(candidates[name]!);
    const preview = previewEvidence({ fingerprints: mine, evalFingerprints: evalFp, committed, uid: 9, block: 200 });
    const fromIndex = validatorOverlaps(mine, committed);
    if (name === 'sameAsOriginal') {
      // the validator knows identical data by its identity (O = 1) without measuring the reverse
      expect(fromIndex).toEqual([{ uid: 1, block: 100, fraction: 1 }]);
      expect(byUid(preview.overlaps).map((o) => [o.uid, o.fraction])).toEqual([[1, 1]]);
    } else {
      expect(byUid(preview.overlaps)).toEqual(byUid(fromIndex));
    }
    // the validator's own counts, as its intake makes them
    const validatorEvidence = {
      uid: 9, block: 200, rows: mine.rows, contaminatedRows: contamination(mine, evalFp).contaminatedRows.length, overlaps: fromIndex,
    };
    expect(preview.rows).toBe(validatorEvidence.rows);
    expect(preview.contaminatedRows).toBe(validatorEvidence.contaminatedRows);
    const previewVerdict = trainingVerdict(preview, constants);
    expect(previewVerdict).toEqual(trainingVerdict(validatorEvidence, constants));

    // the round the validator scores: the same zero, word for word (or none before step 5)
    const losses = Array.from({ length: 8 }, (_, x) => 1 + x / 10);
    const sub = (uid: number, block: number, extra: Partial<SubmissionInput> = {}): SubmissionInput => ({
      uid, hotkey: `hk${uid}`, registrationBlock: 1, commitmentBlock: block, rows: 100, contaminatedRows: 0, losses: losses.map((l) => l * 0.9), ...extra,
    });
    const res = scoreRound({
      currentBlock: 300, ownerUid: 0, baseLosses: losses, previous: [], constants,
      submissions: [sub(1, 100), sub(2, 110), sub(9, 200, { rows: validatorEvidence.rows, contaminatedRows: validatorEvidence.contaminatedRows, overlaps: fromIndex, losses: losses.map((l) => l * 0.8) })],
    });
    const nine = res.perUid.find((u) => u.uid === 9)!;
    if (previewVerdict) expect({ stage: nine.stage, reason: nine.reason }).toEqual(previewVerdict);
    else expect(['copy', 'contamination']).not.toContain(nine.stage);
  });

  it('the verdicts are the ones each case is there for', () => {
    const verdict = (name: string) => trainingVerdict(previewEvidence({ fingerprints: fp(candidates[name]!), evalFingerprints: evalFp, committed, uid: 9, block: 200 }), constants);
    expect(verdict('rewordedCopy')?.stage).toBe('copy');
    expect(verdict('sameAsOriginal')?.stage).toBe('copy');
    expect(verdict('contaminated')?.stage).toBe('contamination');
    expect(verdict('honestWithPublicRows')).toBeNull();
    expect(verdict('fresh')).toBeNull();
    // dilution: a copy only where the protocol counts containment
    expect(verdict('diluted')?.stage ?? null).toBe(constants.containmentMinRows === undefined ? null : 'copy');
  });
});
