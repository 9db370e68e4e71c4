import { describe, expect, it } from 'vitest';
import { canonicalRow, fingerprintRows, overlap, twoWayOverlap, type CanonicalRow } from '../../src/dataset/index.js';
import {
  DEFAULT_SCORING_CONSTANTS,
  DEFAULT_SCORING_CONSTANTS as C,
  DEFAULT_SCORING_CONSTANTS_V2 as C2,
  copyVerdict,
  epsilonAt,
  judgeCopy,
  trainingVerdict,
  unreadableDatasetVerdict,
  laterBeatsEarlier,
  meanLoss,
  scoreRound,
  smoothWeights,
  softmax,
  toU16Weights,
  type Overlap,
  type RoundInputs,
  type SubmissionInput,
} from '../../src/protocol/scoring.js';
import { makeRows, recased, respaced, shuffled } from '../dataset/synthetic.js';

const M = 200;

/** Deterministic uniform numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const baseRand = rng(1);
const BASE = Array.from({ length: M }, () => 2 + baseRand());

/** Losses of a dataset that lowers every example's loss by `gain` (fraction), plus noise. */
function lossesFor(gain: number, seed: number, noise = 0.01): number[] {
  const r = rng(seed);
  return BASE.map((l) => Math.max(0, l * (1 - gain) + noise * (r() - 0.5)));
}

function sub(uid: number, block: number, losses: number[] | null, extra: Partial<SubmissionInput> = {}): SubmissionInput {
  return { uid, hotkey: `hk${uid}`, registrationBlock: 1, commitmentBlock: block, rows: 1000, contaminatedRows: 0, losses, ...extra };
}

function round(submissions: SubmissionInput[], extra: Partial<RoundInputs> = {}): ReturnType<typeof scoreRound> {
  return scoreRound({ currentBlock: 1000, ownerUid: 0, baseLosses: BASE, submissions, previous: [], constants: C, ...extra });
}

function weightOf(res: ReturnType<typeof scoreRound>, uid: number): number {
  return res.weights.find((w) => w.uid === uid)?.weight ?? 0;
}

describe('step functions', () => {
  it('ε decays linearly from ε_start to ε_end over T blocks', () => {
    expect(epsilonAt(100, 100, C)).toBeCloseTo(0.02, 12);
    expect(epsilonAt(100 + 10_800, 100, C)).toBeCloseTo(0.0125, 12);
    expect(epsilonAt(100 + 21_600, 100, C)).toBeCloseTo(0.005, 12);
    expect(epsilonAt(100 + 99_999, 100, C)).toBeCloseTo(0.005, 12);
  });

  it('the paired test needs the mean gain beyond ε and beyond noise', () => {
    const a = lossesFor(0.05, 2);
    expect(laterBeatsEarlier(lossesFor(0.1, 3), a, 0.02, C.z)).toBe(true);
    expect(laterBeatsEarlier(lossesFor(0.06, 3), a, 0.02, C.z)).toBe(false);
    expect(() => laterBeatsEarlier([1, 2], [1], 0.02, C.z)).toThrow(RangeError);
  });

  it('softmax sums to 1 and favours higher win rates', () => {
    const r = softmax([1, 0.5, 0], 0.08);
    expect(r.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(r[0]).toBeGreaterThan(r[1]!);
    expect(r[1]).toBeGreaterThan(r[2]!);
  });

  it('max-upscales to u16 with round-half-away like the chain', () => {
    expect(toU16Weights([{ uid: 2, weight: 0.25 }, { uid: 1, weight: 0.5 }, { uid: 3, weight: 0.25 }])).toEqual({
      uids: [1, 2, 3],
      values: [65535, 32768, 32768], // 32767.5 rounds away from zero
    });
    expect(toU16Weights([{ uid: 1, weight: 0 }])).toEqual({ uids: [], values: [] });
    expect(toU16Weights([{ uid: 1, weight: 1 }, { uid: 2, weight: 1e-9 }])).toEqual({ uids: [1], values: [65535] });
  });

  it('emits values the chain keeps unchanged (its own max-upscale is then the identity)', () => {
    const r = rng(5);
    const weights = Array.from({ length: 40 }, (_, uid) => ({ uid, weight: r() ** 3 }));
    const { values } = toU16Weights(weights);
    const max = Math.max(...values);
    // the chain's max-weight check, on the u16 values we send
    expect(values.map((v) => Math.round((v * 65535) / max))).toEqual(values);
    expect(max).toBe(65535);
  });

  it('smoothing resets a recycled uid and drops tiny weights', () => {
    const next = smoothWeights(
      [{ uid: 1, hotkey: 'old', weight: 1 }],
      [{ uid: 1, hotkey: 'new', score: 0 }, { uid: 2, hotkey: 'b', score: 1 }],
      0.2,
      1e-4,
    );
    expect(next).toEqual([{ uid: 1, hotkey: 'new', weight: 0 }, { uid: 2, hotkey: 'b', weight: 1 }]);
  });
});

describe('scoring v1 properties', () => {
  const field = (): SubmissionInput[] => [
    sub(1, 100, lossesFor(0.05, 11)),
    sub(2, 200, lossesFor(0.1, 12)),
    sub(3, 300, lossesFor(0.2, 13)),
    sub(4, 400, lossesFor(0.15, 14)),
    sub(5, 500, lossesFor(0.3, 15)),
  ];

  it('weights sum to 1, are deterministic and do not depend on input order', () => {
    const a = round(field());
    const b = round(field().reverse());
    expect(a).toEqual(b);
    expect(a.weights.reduce((s, w) => s + w.weight, 0)).toBeCloseTo(1, 12);
    // the best dataset wins the most
    expect(weightOf(a, 5)).toBeGreaterThan(weightOf(a, 3));
    expect(weightOf(a, 3)).toBeGreaterThan(weightOf(a, 1));
  });

  it('permuting uids permutes the weights', () => {
    const perm = new Map([[1, 9], [2, 4], [3, 7], [4, 1], [5, 2]]);
    const a = round(field());
    const b = round(field().map((s) => ({ ...s, uid: perm.get(s.uid)!, hotkey: s.hotkey })));
    for (const [from, to] of perm) expect(weightOf(b, to)).toBeCloseTo(weightOf(a, from), 12);
  });

  it('ties in block go to the lower uid, whatever the labels', () => {
    const same = lossesFor(0.1, 21);
    const res = round([sub(7, 100, same), sub(3, 100, same)]);
    expect(res.perUid.find((u) => u.uid === 3)!.stage).toBeUndefined();
    expect(res.perUid.find((u) => u.uid === 7)!.stage).toBe('competitive_filter');
  });

  it('copies of every kind committed later score 0 and leave the original unaffected', () => {
    const others = [sub(2, 150, lossesFor(0.08, 31)), sub(9, 600, lossesFor(0.12, 32))];
    const original = sub(1, 100, lossesFor(0.1, 30));
    const alone = round([original, ...others]);
    // overlaps as the dataset toolkit measures them: fraction of the copy's rows found in uid 1's
    const copies = [
      sub(3, 200, lossesFor(0.1, 30), { overlaps: [{ uid: 1, block: 100, fraction: 1 }] }), // exact copy
      sub(4, 210, lossesFor(0.1, 33), { overlaps: [{ uid: 1, block: 100, fraction: 1 }] }), // shuffled rows
      sub(5, 220, lossesFor(0.1, 34), { overlaps: [{ uid: 1, block: 100, fraction: 1 }] }), // re-cased / re-spaced
      // 10% rows changed, and a better loss than the original: still a copy
      sub(6, 230, lossesFor(0.2, 35), { overlaps: [{ uid: 1, block: 100, fraction: 0.9 }] }),
    ];
    const original2 = { ...original, overlaps: copies.map((c) => ({ uid: c.uid, block: c.commitmentBlock!, fraction: 1 })) };
    const withCopies = round([original2, ...others, ...copies]);
    for (const c of copies) {
      const u = withCopies.perUid.find((p) => p.uid === c.uid)!;
      expect(u.weight).toBe(0);
      expect(u.stage).toBe('copy');
      expect(u.reason).toMatch(/uid 1/);
    }
    for (const uid of [1, 2, 9]) {
      expect(weightOf(withCopies, uid)).toBeCloseTo(weightOf(alone, uid), 12);
      expect(withCopies.perUid.find((p) => p.uid === uid)!.winRate).toBe(alone.perUid.find((p) => p.uid === uid)!.winRate);
    }
  });

  it('an overlap below the copy threshold, or with a later dataset, is not a copy', () => {
    const res = round([
      sub(1, 100, lossesFor(0.1, 40), { overlaps: [{ uid: 2, block: 200, fraction: 1 }] }),
      sub(2, 200, lossesFor(0.2, 41), { overlaps: [{ uid: 1, block: 100, fraction: 0.49 }] }),
    ]);
    expect(res.perUid.map((u) => u.stage)).not.toContain('copy');
    expect(res.perUid.find((u) => u.uid === 2)!.stage).toBeUndefined();
  });

  it('a dataset better by less than ε does not take the earlier one’s wins; once ε decays it does', () => {
    const a = sub(1, 1000, lossesFor(0.1, 50, 0.001));
    // later, ~1.2% lower loss than a: beyond ε_end (0.5%) but inside fresh ε (2%)
    const b = sub(2, 1100, BASE.map((l, x) => a.losses![x]! * 0.988));
    const fresh = round([a, b], { currentBlock: 1200 });
    expect(fresh.perUid.find((u) => u.uid === 1)!.winRate).toBe(1);
    expect(fresh.perUid.find((u) => u.uid === 2)!.winRate).toBe(0);
    expect(weightOf(fresh, 1)).toBeGreaterThan(weightOf(fresh, 2));
    const decayed = round([a, b], { currentBlock: 1000 + 30_000 });
    expect(decayed.perUid.find((u) => u.uid === 2)!.winRate).toBe(1);
  });

  it('a gain within the noise does not take wins', () => {
    const aLosses = lossesFor(0.1, 60, 0.01);
    const a = sub(1, 100, aLosses);
    const r = rng(61);
    // 5% lower on average, but with noise far larger than the gain
    const noise = aLosses.map(() => 4 * (r() - 0.5));
    const bias = meanLoss(noise);
    const noisy = aLosses.map((l, x) => Math.max(0, l * 0.95 + noise[x]! - bias));
    expect(meanLoss(noisy)).toBeLessThan(0.97 * meanLoss(aLosses));
    const res = round([a, sub(2, 200, noisy)], { currentBlock: 100 + 50_000 });
    const b = res.perUid.find((u) => u.uid === 2)!;
    expect(b.stage).toBe('smoothing'); // it competes (passed the filter) …
    expect(b.winRate).toBe(0); // … but its gain is not significant
    // the same gain without the noise wins
    const clean = round([a, sub(2, 200, aLosses.map((l) => l * 0.95))], { currentBlock: 100 + 50_000 });
    expect(clean.perUid.find((u) => u.uid === 2)!.winRate).toBe(1);
  });

  it('every zero carries a reason a miner can read', () => {
    const good = lossesFor(0.1, 70);
    const res = round([
      { uid: 1, hotkey: 'hk1', registrationBlock: 5, commitmentBlock: null },
      sub(2, 200, good, { commitmentError: 'revision "main" is not a commit SHA' }),
      sub(3, 50, good, { registrationBlock: 60 }),
      sub(4, 200, good, { datasetError: 'line 3: turns must alternate user/assistant' }),
      sub(5, 200, good, { rows: 100, contaminatedRows: 2 }),
      sub(6, 200, null),
      sub(7, 200, [1, 2, 3]),
      sub(8, 200, BASE.map((l) => l * 0.995)),
      sub(9, 100, good),
      sub(10, 300, good.map((l) => l * 0.999)),
      sub(11, 200, good, { evaluationError: 'training diverged (loss NaN at step 12)' }),
    ]);
    const stages = Object.fromEntries(res.perUid.map((u) => [u.uid, u.stage]));
    expect(stages).toEqual({
      1: 'no_commitment',
      2: 'commitment',
      3: 'commitment',
      4: 'dataset',
      5: 'contamination',
      6: 'not_evaluated',
      7: 'evaluation',
      8: 'base_hurdle',
      9: undefined,
      10: 'competitive_filter',
      11: 'evaluation',
    });
    for (const u of res.perUid) {
      if (u.weight === 0 || u.score === 0) expect(u.reason, `uid ${u.uid}`).toMatch(/\w{3,}/);
    }
    expect(res.perUid.find((u) => u.uid === 3)!.reason).toMatch(/registration/);
    expect(res.perUid.find((u) => u.uid === 5)!.reason).toMatch(/2 of 100 rows/);
    expect(res.perUid.find((u) => u.uid === 10)!.reason).toMatch(/uid 9/);
    expect(res.weights).toEqual([{ uid: 9, weight: 1 }]);
  });

  it('burns to the owner uid when nothing is left', () => {
    const res = round([sub(1, 100, BASE.slice()), { uid: 2, hotkey: 'x', registrationBlock: 1, commitmentBlock: null }], { ownerUid: 0 });
    expect(res.burned).toBe(true);
    expect(res.weights).toEqual([{ uid: 0, weight: 1 }]);
    expect(toU16Weights(res.weights)).toEqual({ uids: [0], values: [65535] });
  });

  it('smooths across rounds and resets a uid whose hotkey changed', () => {
    const first = round(field());
    // same field, but uid 5's slot was recycled to a new hotkey that has not committed yet
    const next = field().map((s) => (s.uid === 5 ? { uid: 5, hotkey: 'new', registrationBlock: 900, commitmentBlock: null } : s));
    const second = round(next, { previous: first.smoothed });
    expect(weightOf(second, 5)).toBe(0);
    expect(second.weights.reduce((s, w) => s + w.weight, 0)).toBeCloseTo(1, 12);
    // without the recycle, W moves only α of the way toward the new round
    const steady = round(field(), { previous: first.smoothed });
    for (const w of first.weights) expect(weightOf(steady, w.uid)).toBeCloseTo(w.weight, 12);
  });

  it('rejects malformed round inputs loudly (caller bugs, not miner faults)', () => {
    expect(() => round([sub(1, 100, null), sub(1, 200, null)])).toThrow(/twice/);
    expect(() => scoreRound({ currentBlock: 1, ownerUid: 0, baseLosses: [], submissions: [], previous: [], constants: C })).toThrow(RangeError);
  });
});

describe('copies measured on real datasets by the dataset toolkit', () => {
  const original = makeRows(101, 200, 300);
  const replaced = makeRows(202, 20, 300); // 10% new rows
  const copies: Record<string, CanonicalRow[]> = {
    exact: original.map((r) => ({ ...r })),
    shuffled: shuffled(original, 9),
    recasedRespaced: respaced(recased(original, 7), 8).map((r) => canonicalRow(r.system, r.conversations)),
    tenPercentChanged: [...replaced, ...original.slice(20)],
  };
  const unrelated = makeRows(303, 200, 300);
  const fp = (rows: CanonicalRow[]) => fingerprintRows(rows.map((r) => canonicalRow(r.system, r.conversations)));
  const fpOriginal = fp(original);

  it('scores every kind of later copy 0, naming the original, and leaves the original unaffected', () => {
    const origLosses = lossesFor(0.1, 80);
    const others = [sub(2, 150, lossesFor(0.08, 81)), sub(9, 600, lossesFor(0.12, 82))];
    const fpUnrelated = fp(unrelated);
    const names = Object.keys(copies);
    const copySubs = names.map((name, k) => {
      const f = fp(copies[name]!);
      const o = overlap(f, fpOriginal).overlap;
      // every copy also "overlaps" the unrelated dataset a little, which must not matter
      const u = overlap(f, fpUnrelated).overlap;
      // copies get the original's losses or better: without the copy rule they would take wins
      return sub(3 + k, 200 + 10 * k, origLosses.map((l) => l * (1 - 0.03 * k)), {
        overlaps: [{ uid: 1, block: 100, fraction: o }, { uid: 9, block: 600, fraction: u }],
      });
    });
    const originalSub = sub(1, 100, origLosses, {
      overlaps: copySubs.map((c, k) => ({ uid: c.uid, block: c.commitmentBlock!, fraction: overlap(fpOriginal, fp(copies[names[k]!]!)).overlap })),
    });
    const alone = round([sub(1, 100, origLosses), ...others]);
    const withCopies = round([originalSub, ...others, ...copySubs]);
    for (const c of copySubs) {
      const u = withCopies.perUid.find((p) => p.uid === c.uid)!;
      expect(c.overlaps![0]!.fraction).toBeGreaterThanOrEqual(0.5);
      expect(u.weight).toBe(0);
      expect(u.stage).toBe('copy');
      expect(u.reason).toMatch(/uid 1,/);
    }
    for (const uid of [1, 2, 9]) expect(weightOf(withCopies, uid)).toBeCloseTo(weightOf(alone, uid), 12);
    // the rule is what stops them: the same copies without overlaps would take weight
    const unchecked = round([sub(1, 100, origLosses), ...others, ...copySubs.map((c) => ({ ...c, overlaps: [] }))]);
    expect(copySubs.some((c) => weightOf(unchecked, c.uid) > 0)).toBe(true);
  });

  it('an unrelated dataset is not a copy', () => {
    const o = overlap(fp(unrelated), fpOriginal).overlap;
    expect(o).toBeLessThan(DEFAULT_SCORING_CONSTANTS.copyThreshold);
    const res = round([sub(1, 100, lossesFor(0.1, 83)), sub(2, 200, lossesFor(0.2, 84), { overlaps: [{ uid: 1, block: 100, fraction: o }] })]);
    expect(res.perUid.find((u) => u.uid === 2)!.stage).toBeUndefined();
  });
});

describe('copies by containment (protocol 2)', () => {
  const fp = (rows: CanonicalRow[]) => fingerprintRows(rows.map((r) => canonicalRow(r.system, r.conversations)));
  /** Copy evidence of `later` against `earlier`, committed by `uid` at `block`, as the toolkit measures it. */
  const evidence = (later: CanonicalRow[], earlier: CanonicalRow[], uid: number, block: number): Overlap => {
    const o = twoWayOverlap(fp(later), fp(earlier));
    return { uid, block, fraction: o.overlap, otherMatched: o.otherMatched, otherRows: o.otherRows };
  };
  const original = makeRows(501, 300, 300);
  // the dilution attack: the original's whole dataset plus twice as many new rows, shuffled
  const diluted = shuffled([...original, ...makeRows(502, 600, 300)], 5);
  const origLosses = lossesFor(0.1, 90);
  // training on the original's rows and more: a better loss than the original
  const copierLosses = lossesFor(0.13, 91);

  it('the diluted copy holds all of the original: O = 1/3, C = 1', () => {
    const e = evidence(diluted, original, 1, 100);
    expect(e.fraction).toBeCloseTo(1 / 3, 12);
    expect(e.otherMatched).toBe(300);
    expect(e.otherRows).toBe(300);
  });

  it('protocol 2 scores the diluted copy 0 as a copy, with a reason naming the original and both shares', () => {
    const copier = sub(2, 200, copierLosses, { overlaps: [evidence(diluted, original, 1, 100)] });
    const res = round([sub(1, 100, origLosses), copier], { constants: C2 });
    const u = res.perUid.find((p) => p.uid === 2)!;
    expect(u.stage).toBe('copy');
    expect(u.weight).toBe(0);
    expect(u.reason).toMatch(/^copy: it holds 300 of the 300 rows \(100%\) of the dataset of uid 1, committed earlier \(block 100, this one 200\)/);
    expect(u.reason).toContain('only 33.33% of its own rows match');
    expect(u.reason).toContain(`at least ${C2.containmentMinRows} of them`);
    expect(res.perUid.find((p) => p.uid === 1)!.stage).toBeUndefined();
    expect(weightOf(res, 1)).toBe(1);
  });

  it('protocol 1 keeps its behaviour: the same diluted copy is not a copy and takes the original’s wins', () => {
    const copier = sub(2, 200, copierLosses, { overlaps: [evidence(diluted, original, 1, 100)] });
    const res = round([sub(1, 100, origLosses), copier]);
    expect(res.perUid.find((p) => p.uid === 2)!.stage).toBeUndefined();
    expect(weightOf(res, 2)).toBeGreaterThan(weightOf(res, 1));
    // its reason for a real copy is word for word the one protocol 1 always gave
    const v = copyVerdict(3, 300, [{ uid: 1, block: 100, fraction: 0.75, otherMatched: 300, otherRows: 300 }], C);
    expect(v).toEqual({ stage: 'copy', reason: 'copy: 75% of its rows match the dataset of uid 1, committed earlier (block 100, this one 300); at least 50% counts as a copy' });
  });

  it('honest: two datasets that each drew a few rows from the same public source are not copies', () => {
    const source = makeRows(503, 30, 300);
    const a = shuffled([...source, ...makeRows(504, 270, 300)], 6);
    const b = shuffled([...source, ...makeRows(505, 370, 300)], 7);
    const e = evidence(b, a, 1, 100);
    expect(e.otherMatched).toBe(30);
    const res = round([sub(1, 100, origLosses), sub(2, 200, copierLosses, { overlaps: [e] })], { constants: C2 });
    expect(res.perUid.find((p) => p.uid === 2)!.stage).toBeUndefined();
  });

  it('honest: a small early dataset inside a large later one is not a copy below the minimum count; at it, it is', () => {
    const big = makeRows(506, 1000, 200);
    const small = big.slice(0, C2.containmentMinRows - 1); // e.g. the first rows of a public dataset
    const e = evidence(big, small, 1, 100);
    expect(e.otherMatched! / e.otherRows!).toBe(1);
    const f = judgeCopy(e, C2, 'the earlier dataset');
    expect(f).toMatchObject({ copy: false, by: null });
    expect(f.reason).toContain(`${C2.containmentMinRows - 1} held rows are under the ${C2.containmentMinRows}`);
    expect(copyVerdict(2, 200, [e], C2)).toBeNull();
    const atMin = evidence(big, big.slice(0, C2.containmentMinRows), 1, 100);
    expect(copyVerdict(2, 200, [atMin], C2)?.stage).toBe('copy');
    // half of an earlier dataset is enough; less is not
    const half = evidence(big.slice(0, 800), [...big.slice(200, 400), ...makeRows(507, 200, 200)], 1, 100);
    expect(half.otherMatched).toBe(200);
    expect(judgeCopy(half, C2, 'x').by).toBe('containment');
    const under = evidence(big.slice(0, 800), [...big.slice(201, 400), ...makeRows(508, 201, 200)], 1, 100);
    expect(judgeCopy(under, C2, 'x').copy).toBe(false);
  });

  it('the reverse direction, unmeasured, leaves only the own-rows rule; a later dataset is never the source', () => {
    expect(copyVerdict(2, 200, [{ uid: 1, block: 100, fraction: 0.34 }], C2)).toBeNull();
    expect(judgeCopy({ fraction: 0.34 }, C2, 'x').reason).toContain('not measured');
    expect(copyVerdict(1, 100, [{ uid: 2, block: 200, fraction: 1, otherMatched: 900, otherRows: 900 }], C2)).toBeNull();
    expect(copyVerdict(1, 100, [{ uid: 1, block: 50, fraction: 1 }], C2)).toBeNull(); // its own earlier commitment
  });

  it('names the earliest source, and the verdict does not depend on the order of the evidence', () => {
    const overlaps: Overlap[] = [
      { uid: 5, block: 150, fraction: 0.9 },
      { uid: 4, block: 120, fraction: 0.2, otherMatched: 200, otherRows: 300 },
      { uid: 4, block: 120, fraction: 0.6 },
      { uid: 7, block: 90, fraction: 0.1, otherMatched: 20, otherRows: 20 }, // too few held rows
    ];
    const v = copyVerdict(9, 300, overlaps, C2)!;
    expect(v.reason).toBe('copy: 60% of its rows match the dataset of uid 4, committed earlier (block 120, this one 300); at least 50% counts as a copy');
    for (let k = 0; k < 8; k++) expect(copyVerdict(9, 300, shuffled(overlaps, 40 + k), C2)).toEqual(v);
  });

  it('contamination is judged before copies, as scoreRound does', () => {
    const e = { uid: 2, block: 200, rows: 900, contaminatedRows: 90, overlaps: [evidence(diluted, original, 1, 100)] };
    expect(trainingVerdict(e, C2)?.stage).toBe('contamination');
    expect(trainingVerdict({ ...e, contaminatedRows: 0 }, C2)?.stage).toBe('copy');
    expect(trainingVerdict({ ...e, contaminatedRows: 0 }, C)).toBeNull();
  });
});

describe('scoring on random inputs', () => {
  it('never throws, sums to 1, and gives every zero a reason', () => {
    const r = rng(99);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(r() * 12);
      const subs: SubmissionInput[] = [];
      for (let uid = 1; uid <= n; uid++) {
        const pick = r();
        const block = Math.floor(r() * 500);
        const losses =
          pick < 0.1 ? null
          : pick < 0.15 ? [Number.NaN, ...BASE.slice(1)]
          : pick < 0.2 ? BASE.slice(0, 10)
          : lossesFor(r() * 0.3 - 0.05, trial * 100 + uid, r() * 0.5);
        subs.push({
          uid,
          hotkey: `hk${uid}`,
          registrationBlock: Math.floor(r() * 100),
          commitmentBlock: r() < 0.1 ? null : block,
          commitmentError: r() < 0.05 ? 'unparsable' : undefined,
          datasetError: r() < 0.05 ? 'invalid' : undefined,
          rows: 100,
          contaminatedRows: r() < 0.1 ? Math.floor(r() * 5) : 0,
          overlaps: r() < 0.2 ? [{ uid: 1 + Math.floor(r() * n), block: Math.floor(r() * 500), fraction: r() }] : [],
          losses,
        });
      }
      const previous = r() < 0.5 ? [{ uid: 1, hotkey: r() < 0.5 ? 'hk1' : 'old', weight: 1 }] : [];
      const res = round(subs, { currentBlock: Math.floor(r() * 30_000), previous });
      const total = res.weights.reduce((s, w) => s + w.weight, 0);
      expect(total).toBeCloseTo(1, 9);
      for (const w of res.weights) expect(w.weight).toBeGreaterThan(0);
      for (const u of res.perUid) if (u.weight === 0 || u.score === 0) expect(u.reason, `trial ${trial} uid ${u.uid}`).toBeTruthy();
      expect(round(subs, { currentBlock: 0, previous }).weights.length).toBeGreaterThan(0);
    }
  });
});

describe('unreadableDatasetVerdict (commit before publish)', () => {
  const reason = 'the dataset repo miners/a does not exist on the hub (deleted, renamed or private)';
  it('protocol 2: waits until publishWindowBlocks after the commitment, then scores 0 saying how long it waited', () => {
    const c = { publishWindowBlocks: 100 };
    expect(unreadableDatasetVerdict({ commitmentBlock: 50, currentBlock: 60, reason }, c)).toEqual({
      kind: 'wait', untilBlock: 150, reason: `not readable yet (${reason}); it may be published until block 150, 100 blocks after its commitment`,
    });
    expect(unreadableDatasetVerdict({ commitmentBlock: 50, currentBlock: 150, reason }, c).kind).toBe('wait');
    const late = unreadableDatasetVerdict({ commitmentBlock: 50, currentBlock: 151, reason }, c);
    expect(late).toEqual({ kind: 'final', reason: `${reason}, and still so 101 blocks after its commitment at block 50; a dataset must be readable within 100 blocks of its commitment` });
  });
  it('protocol 1: scores 0 at once with the hub\'s reason', () => {
    expect(unreadableDatasetVerdict({ commitmentBlock: 50, currentBlock: 51, reason }, {})).toEqual({ kind: 'final', reason });
  });
});
