import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  competitionRounds, competitionSeed, deriveSeed, evalSetCommitment, latestRevealedRound, parseCompetition, roundAt, roundSchedule, roundsProblem, roundsStepProblem,
  roundVerdict, scoreRound, DEFAULT_SCORING_CONSTANTS_V2, type Round,
} from '../../src/protocol/index.js';

const hash = (s: string) => createHash('sha256').update(s).digest('hex');
const minimal = { protocol: 2, id: '1', baseModel: { repo: 'meta-llama/Llama-3.2-1B', revision: 'a'.repeat(40) } };
const r1: Round = { opens: 100, closes: 200, evalSha256: hash('set 1'), evalFile: 'eval-round-1.jsonl' };
const r2: Round = { opens: 200, closes: 300, evalSha256: hash('set 2') };

describe('competition.json rounds', () => {
  it('parses a sealed competition and keeps a protocol-2 file without rounds as it was', () => {
    const sealed = parseCompetition({ ...minimal, rounds: [r1, r2] });
    expect(sealed.ok && competitionRounds(sealed.value)).toEqual([r1, r2]);
    const open = parseCompetition(minimal);
    expect(open.ok && 'rounds' in open.value).toBe(false);
    expect(open.ok && competitionRounds(open.value)).toEqual([]);
  });

  it.each([
    ['under protocol 1', { ...minimal, protocol: 1, rounds: [r2] }, /rounds/],
    ['no rounds', { ...minimal, rounds: [] }, /rounds/],
    ['a window that closes before it opens', { ...minimal, rounds: [{ ...r2, closes: 200 }] }, /rounds\.0\.closes: closes must be after opens/],
    ['overlapping windows', { ...minimal, rounds: [r1, { ...r2, opens: 150 }] }, /round 2 opens at block 150, before round 1 closes \(block 200\)/],
    ['a reused set', { ...minimal, rounds: [r1, { ...r2, evalSha256: r1.evalSha256 }] }, /reuses an earlier round's evaluation set/],
    ['a reused file name', { ...minimal, rounds: [r1, { ...r2, evalFile: r1.evalFile }] }, /names the file of an earlier round/],
    ['a hash that is not SHA-256 hex', { ...minimal, rounds: [{ ...r2, evalSha256: 'ABC' }] }, /64 lowercase hex/],
    ['a path as the revealed file', { ...minimal, rounds: [{ ...r2, evalFile: '../secret' }] }, /rounds\.0\.evalFile/],
    ['an unknown key', { ...minimal, rounds: [{ ...r2, salt: 'x' }] }, /rounds\.0/],
    ['a fractional block', { ...minimal, rounds: [{ ...r2, opens: 1.5 }] }, /rounds\.0\.opens/],
    ['a block past u32', { ...minimal, rounds: [{ ...r2, closes: 2 ** 32 }] }, /rounds\.0\.closes/],
  ])('refuses %s with the reason', (_what, input, reason) => {
    const r = parseCompetition(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

describe('the evaluation set commitment', () => {
  it('is the SHA-256 of the file bytes, as sha256sum prints it', () => {
    const bytes = Buffer.from('{"conversations":[]}\n');
    expect(evalSetCommitment(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(evalSetCommitment(Buffer.from('{"conversations":[]}\r\n'))).not.toBe(evalSetCommitment(bytes));
  });
});

describe('windows and verdicts', () => {
  const rounds = [r1, r2];
  it('places a block in the window that holds it, opens inclusive and closes exclusive', () => {
    expect(roundAt(rounds, 99)).toBeNull();
    expect(roundAt(rounds, 100)).toBe(1);
    expect(roundAt(rounds, 199)).toBe(1);
    expect(roundAt(rounds, 200)).toBe(2);
    expect(roundAt(rounds, 300)).toBeNull();
  });

  it('lets a commitment take part in its round and every later one, never an earlier one', () => {
    expect(roundVerdict({ commitmentBlock: 150, rounds, scoring: 1 })).toBeNull();
    expect(roundVerdict({ commitmentBlock: 150, rounds, scoring: 2 })).toBeNull();
    const later = roundVerdict({ commitmentBlock: 250, rounds, scoring: 1 });
    expect(later?.stage).toBe('not_evaluated');
    expect(later?.reason).toMatch(/takes part from round 2 .*closes at block 300/);
    // past the window with no reveal: the reason says whose move it is
    expect(roundVerdict({ commitmentBlock: 250, rounds, scoring: 1, currentBlock: 320 })?.reason).toMatch(
      /round 2's window closed at block 300, 20 block\(s\) ago, and the owner has not revealed a set matching its commitment yet$/,
    );
  });

  it('zeroes a commitment outside every window as a commitment fault that says what to do', () => {
    const outside = roundVerdict({ commitmentBlock: 50, rounds, scoring: 1 });
    expect(outside?.stage).toBe('commitment');
    expect(outside?.reason).toMatch(/outside every round's submission window .*round 1: blocks 100–199, round 2: blocks 200–299.*commit again while a round is open/);
  });

  it('is applied by scoreRound at step 1', () => {
    const roundError = roundVerdict({ commitmentBlock: 250, rounds, scoring: 1 })!;
    const r = scoreRound({
      currentBlock: 260, ownerUid: 0, baseLosses: [2, 2], previous: [], constants: DEFAULT_SCORING_CONSTANTS_V2,
      submissions: [
        { uid: 0, hotkey: 'owner', registrationBlock: 0, commitmentBlock: null },
        { uid: 1, hotkey: 'a', registrationBlock: 1, commitmentBlock: 150, rows: 10, contaminatedRows: 0, losses: [1, 1] },
        { uid: 2, hotkey: 'b', registrationBlock: 1, commitmentBlock: 250, rows: 10, contaminatedRows: 0, losses: [0.5, 0.5], roundError },
      ],
    });
    expect(r.perUid[2]).toMatchObject({ weight: 0, stage: 'not_evaluated', reason: roundError.reason });
    expect(r.perUid[1]!.weight).toBe(1);
  });
});

describe('rounds across revisions', () => {
  it('accepts rounds added and revealed', () => {
    expect(roundsProblem([{ ...r1, evalFile: undefined }], [r1, r2])).toBeNull();
    expect(roundsProblem([r1, r2], [r1, { ...r2, evalFile: 'eval-round-2.jsonl' }])).toBeNull();
  });

  it.each([
    ['a round dropped (an older revision)', [r1, r2], [r1], /lists 1 round\(s\) where the revision before listed 2/],
    ['a window moved', [r1], [{ ...r1, closes: 250 }], /round 1's window changed from blocks 100–199 to 100–249/],
    ['a set swapped', [r1], [{ ...r1, evalSha256: hash('other') }], /round 1's evaluation set commitment changed/],
    ['a reveal taken back', [r1], [{ ...r1, evalFile: undefined }], /round 1 was revealed as eval-round-1.jsonl and is now sealed again/],
  ])('refuses %s', (_what, previous, next, reason) => {
    expect(roundsProblem(previous as Round[], next as Round[])).toMatch(reason);
  });
});

describe('one revision after the next', () => {
  it('accepts a round opened sealed and a reveal, refuses a round published already revealed', () => {
    expect(roundsStepProblem([], [{ ...r1, evalFile: undefined }])).toBeNull();
    expect(roundsStepProblem([{ ...r1, evalFile: undefined }], [r1, r2])).toBeNull();
    expect(roundsStepProblem([], [r1])).toMatch(/round 1 is published already revealed \(eval-round-1\.jsonl\): a round's set must be sealed when the round opens/);
    expect(roundsStepProblem([r1], [r1, { ...r2, evalFile: 'eval-round-2.jsonl' }])).toMatch(/^round 2 is published already revealed/);
    // and everything roundsProblem refuses
    expect(roundsStepProblem([r1], [{ ...r1, evalSha256: hash('other') }])).toMatch(/commitment changed/);
  });
});

describe('the schedule', () => {
  it('says which window is open, what waits for a reveal and what is scored', () => {
    const rounds = [r1, { ...r2 }, { opens: 300, closes: 400, evalSha256: hash('set 3') }];
    expect(roundSchedule(rounds, 250)).toEqual({
      open: { round: 2, opens: 200, closes: 300, blocksLeft: 50 }, next: { round: 3, opens: 300, closes: 400 }, awaitingReveal: [], scoring: 1, rounds: 3,
    });
    expect(roundSchedule(rounds, 310)).toMatchObject({ open: { round: 3 }, next: null, awaitingReveal: [2], scoring: 1 });
    expect(roundSchedule(rounds, 500)).toMatchObject({ open: null, next: null, awaitingReveal: [2, 3], scoring: 1 });
    expect(latestRevealedRound([{ ...r1, evalFile: undefined }])).toBeNull();
  });
});

describe('the seed of a sealed competition', () => {
  it('comes from the first round, so every revision and round trains with the same seed', () => {
    const a = parseCompetition({ ...minimal, rounds: [{ ...r1, evalFile: undefined }] });
    const b = parseCompetition({ ...minimal, rounds: [r1, r2] });
    if (!a.ok || !b.ok) throw new Error('parse');
    expect(competitionSeed(a.value, 'b'.repeat(40))).toEqual(competitionSeed(b.value, 'c'.repeat(40)));
    expect(competitionSeed(a.value, 'b'.repeat(40))).toEqual(deriveSeed('1', r1.evalSha256));
    const open = parseCompetition(minimal);
    if (!open.ok) throw new Error('parse');
    expect(competitionSeed(open.value, 'b'.repeat(40))).toEqual(deriveSeed('1', 'b'.repeat(40)));
  });
});
