import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  COMPETITION_FILE_MAX_BYTES,
  deriveSeed,
  parseCompetition,
  type Competition,
} from '../../src/protocol/competition.js';
import { RECIPE_V1 } from '../../src/protocol/recipe.js';
import { DEFAULT_SCORING_CONSTANTS, DEFAULT_SCORING_CONSTANTS_V2, type ScoringConstants } from '../../src/protocol/scoring.js';

const SHA = 'c0ffee0000000000000000000000000000000001';
const minimal = { protocol: 1, id: '1', baseModel: { repo: 'meta-llama/Llama-3.2-1B', revision: SHA } };

describe('competition.json', () => {
  it('fills every default from a minimal file', () => {
    const r = parseCompetition(JSON.stringify(minimal));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const c: Competition = r.value;
    expect(c.recipe).toEqual(RECIPE_V1);
    expect(c.scoring).toEqual(DEFAULT_SCORING_CONSTANTS);
    expect(c.limits).toEqual({ maxRows: 1000, maxBytes: 16 * 1024 * 1024, maxTokensPerRow: 4096 });
    expect(c.evalFile).toBe('eval.jsonl');
    // the parsed constants feed scoring directly
    const constants: ScoringConstants = c.scoring;
    expect(constants.tau).toBe(0.08);
  });

  it('keeps what the owner sets', () => {
    const r = parseCompetition({
      ...minimal,
      title: 'math dialogues',
      recipe: { lora: { rank: 8 }, maxSeqLen: 256 },
      scoring: { tau: 0.1, copyThreshold: 0.6 },
      limits: { maxRows: 50 },
      evalFile: 'eval-v2.jsonl',
    });
    expect(r.ok && r.value.recipe.lora.rank).toBe(8);
    expect(r.ok && r.value.recipe.maxSeqLen).toBe(256);
    expect(r.ok && r.value.scoring.tau).toBe(0.1);
    expect(r.ok && r.value.scoring.baseMargin).toBe(0.01);
    expect(r.ok && r.value.limits).toEqual({ maxRows: 50, maxBytes: 16 * 1024 * 1024, maxTokensPerRow: 4096 });
    expect(r.ok && r.value.evalFile).toBe('eval-v2.jsonl');
  });

  it.each([
    ['unknown protocol', { ...minimal, protocol: 3 }, /protocol: protocol must be one of 1, 2/],
    ['no protocol', { id: '1', baseModel: minimal.baseModel }, /protocol must be one of/],
    ['a protocol-2 constant under protocol 1', { ...minimal, scoring: { containmentMinRows: 10 } }, /scoring: .*containmentMinRows/],
    ['containmentMinRows below 1', { ...minimal, protocol: 2, scoring: { containmentMinRows: 0 } }, /scoring\.containmentMinRows/],
    ['fractional containmentMinRows', { ...minimal, protocol: 2, scoring: { containmentMinRows: 2.5 } }, /scoring\.containmentMinRows/],
    ['ε end > start under protocol 2', { ...minimal, protocol: 2, scoring: { epsilonStart: 0.01, epsilonEnd: 0.02 } }, /epsilonEnd must not exceed/],
    ['missing base model', { protocol: 1, id: '1' }, /baseModel/],
    ['branch revision', { ...minimal, baseModel: { repo: 'a/b', revision: 'main' } }, /baseModel\.revision: .*branch or tag/],
    ['bad repo', { ...minimal, baseModel: { repo: 'llama', revision: SHA } }, /baseModel\.repo: .*owner\/name/],
    ['bad id', { ...minimal, id: 'a b' }, /id: /],
    ['unknown field', { ...minimal, secret: 1 }, /secret/],
    ['negative tau', { ...minimal, scoring: { tau: -1 } }, /scoring\.tau/],
    ['ε end > start', { ...minimal, scoring: { epsilonStart: 0.01, epsilonEnd: 0.02 } }, /epsilonEnd must not exceed/],
    ['path in evalFile', { ...minimal, evalFile: '../x.jsonl' }, /evalFile/],
    ['zero maxRows', { ...minimal, limits: { maxRows: 0 } }, /limits\.maxRows/],
  ])('rejects %s with a readable reason', (_name, input, reason) => {
    const r = parseCompetition(JSON.stringify(input));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('parses a protocol-1 file to exactly the value (and JSON text) it always did', () => {
    const r = parseCompetition(JSON.stringify({ ...minimal, title: 't' }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    // the fields in their order, every default filled, nothing of protocol 2 added
    const expected = {
      protocol: 1, id: '1', title: 't', baseModel: minimal.baseModel, recipe: RECIPE_V1, scoring: { ...DEFAULT_SCORING_CONSTANTS },
      limits: { maxRows: 1000, maxBytes: 16 * 1024 * 1024, maxTokensPerRow: 4096 }, evalFile: 'eval.jsonl',
    };
    expect(JSON.stringify(r.value)).toBe(JSON.stringify(expected));
    expect('containmentMinRows' in r.value.scoring).toBe(false);
  });

  it('protocol 2 adds the containment minimum of the copy rule, with its default or the owner’s value', () => {
    const r = parseCompetition(JSON.stringify({ ...minimal, protocol: 2 }));
    expect(r.ok && r.value.protocol).toBe(2);
    expect(r.ok && r.value.scoring).toEqual(DEFAULT_SCORING_CONSTANTS_V2);
    expect(DEFAULT_SCORING_CONSTANTS_V2).toEqual({ ...DEFAULT_SCORING_CONSTANTS, containmentMinRows: 100, publishWindowBlocks: 100 });
    const own = parseCompetition({ ...minimal, protocol: 2, scoring: { containmentMinRows: 24, tau: 0.5 } });
    expect(own.ok && own.value.scoring).toMatchObject({ containmentMinRows: 24, tau: 0.5, copyThreshold: 0.5 });
    // everything else parses as under protocol 1
    const one = parseCompetition({ ...minimal, recipe: { epochs: 2 } });
    const two = parseCompetition({ ...minimal, protocol: 2, recipe: { epochs: 2 } });
    if (!one.ok || !two.ok) throw new Error('both parse');
    const { protocol: _p1, scoring: s1, ...rest1 } = one.value;
    const { protocol: _p2, scoring: s2, ...rest2 } = two.value;
    expect(rest2).toEqual(rest1);
    expect(s2).toEqual({ ...s1, containmentMinRows: 100, publishWindowBlocks: 100 });
  });

  it('rejects text that is not JSON, or too large, without throwing', () => {
    expect(parseCompetition('{nope')).toMatchObject({ ok: false, code: 'bad_json' });
    expect(parseCompetition(' '.repeat(COMPETITION_FILE_MAX_BYTES + 1))).toMatchObject({ ok: false, code: 'too_long' });
    expect(parseCompetition(null)).toMatchObject({ ok: false, code: 'invalid' });
  });
});

describe('seed derivation', () => {
  it('is the documented hash', () => {
    const s = deriveSeed('1', SHA);
    const h = createHash('sha256').update(`flock/seed/v1\u00001\u0000${SHA}`).digest();
    expect(s.hex).toBe(h.toString('hex'));
    expect(s.u32).toBe(h.readUInt32BE(0));
    expect(s.u64).toBe(h.readBigUInt64BE(0));
    expect(s.u32).toBe(Number(s.u64 >> 32n));
    // pinned: a change here changes every validator's training runs
    expect(s.u32).toBe(2145840126);
    expect(s.u64).toBe(9216313165123820636n);
  });

  it('is stable, and changes with the competition or the evaluation revision', () => {
    expect(deriveSeed('1', SHA)).toEqual(deriveSeed('1', SHA));
    expect(deriveSeed('2', SHA).u64).not.toBe(deriveSeed('1', SHA).u64);
    expect(deriveSeed('1', SHA.replace(/1$/, '2')).u64).not.toBe(deriveSeed('1', SHA).u64);
    // the separator keeps ("1", "2…") and ("12", "…") apart
    expect(deriveSeed('1', `2${SHA.slice(1)}`).u64).not.toBe(deriveSeed('12', SHA.slice(1)).u64);
  });
});
