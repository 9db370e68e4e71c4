/**
 * Scoring v1 cost: one `scoreRound` over a full subnet (256 uids, every one evaluated, M
 * evaluation examples), and the u16 emit. Prints figures; run with `npx tsx bench/scoring.ts`.
 */
import { DEFAULT_SCORING_CONSTANTS, scoreRound, toU16Weights, type SubmissionInput } from '../src/protocol/scoring.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

for (const [uids, m] of [[64, 1000], [256, 1000], [256, 5000]] as const) {
  const r = rng(uids * m);
  const base = Float64Array.from({ length: m }, () => 2 + r());
  const submissions: SubmissionInput[] = Array.from({ length: uids }, (_, uid) => {
    // worst case: each later dataset beats every earlier one by > ε_end, so none is filtered
    // and all uids·(uids−1)/2 paired tests run
    const keep = 0.98 * 0.994 ** uid;
    return {
      uid,
      hotkey: `hk${uid}`,
      registrationBlock: 1,
      commitmentBlock: 10 + uid,
      rows: 1000,
      contaminatedRows: 0,
      losses: base.map((l) => l * keep + 0.01 * (r() - 0.5)),
    };
  });
  const inputs = { currentBlock: 5000, ownerUid: 0, baseLosses: base, submissions, previous: [], constants: DEFAULT_SCORING_CONSTANTS };
  scoreRound(inputs); // warm-up
  const runs = 5;
  const t0 = process.hrtime.bigint();
  let res = scoreRound(inputs);
  for (let k = 1; k < runs; k++) res = scoreRound({ ...inputs, previous: res.smoothed });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / runs;
  const emitted = toU16Weights(res.weights);
  const competing = res.perUid.filter((u) => u.stage === undefined || u.stage === 'smoothing').length;
  console.log(`scoreRound: ${uids} uids × ${m} examples: ${ms.toFixed(1)} ms/round (${competing} competing, ${emitted.uids.length} non-zero u16 weights)`);
}
