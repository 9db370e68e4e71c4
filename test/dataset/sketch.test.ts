import { describe, expect, it } from 'vitest';
import { contamination, overlap, Sketch } from '../../src/dataset/sketch.js';
import { fingerprintRows } from '../../src/dataset/fingerprint-rows.js';
import { FlockError } from '../../src/util/errors.js';
import { makeRows, recased, respaced, repunctuated, shuffled, wordEdited } from './synthetic.js';

describe('overlap O(A,B)', () => {
  const original = makeRows(10, 400, 1000);
  const fpOriginal = fingerprintRows(original);

  it('is 1 for an identical dataset, all rows exact', () => {
    expect(overlap(fingerprintRows(original), fpOriginal)).toEqual({ rows: 400, exact: 400, matched: 400, overlap: 1 });
  });

  it('is 1 for a shuffled copy, and the identity is unchanged', () => {
    const fp = fingerprintRows(shuffled(original));
    expect(fp.identity).toBe(fpOriginal.identity);
    expect(overlap(fp, fpOriginal).overlap).toBe(1);
  });

  it('is 1 for re-cased, re-spaced and re-punctuated copies (near, not exact)', () => {
    for (const copy of [recased(original), respaced(original), repunctuated(original)]) {
      const o = overlap(fingerprintRows(shuffled(copy)), fpOriginal);
      expect(o.overlap).toBe(1);
      expect(o.exact).toBe(0);
    }
  });

  it('is above the copy threshold (0.5) for a copy with 10% of its rows changed', () => {
    const copy = shuffled([...original.slice(40), ...makeRows(11, 40, 1000)]);
    expect(overlap(fingerprintRows(copy), fpOriginal).overlap).toBe(0.9);
  });

  it('is above the copy threshold for a copy with every row 10% edited and 10% of rows replaced', () => {
    const copy = [...wordEdited(original.slice(40), 0.1), ...makeRows(11, 40, 1000)];
    const o = overlap(fingerprintRows(copy), fpOriginal);
    expect(o.overlap).toBeGreaterThan(0.65);
    expect(o.overlap).toBeLessThanOrEqual(0.9);
  });

  it('is about 0 for an unrelated dataset', () => {
    expect(overlap(fingerprintRows(makeRows(12, 400, 1000)), fpOriginal).overlap).toBeLessThan(0.01);
  });

  it('counts the fraction of A that B covers (not symmetric)', () => {
    const half = fingerprintRows(original.slice(0, 200));
    expect(overlap(half, fpOriginal).overlap).toBe(1);
    expect(overlap(fpOriginal, half).overlap).toBe(0.5);
  });
});

describe('contamination', () => {
  it('lists the rows that duplicate evaluation examples, exactly or nearly', () => {
    const evalRows = makeRows(20, 50, 600);
    const data = [...makeRows(21, 97, 600)];
    data.splice(10, 0, evalRows[3]!);
    data.splice(50, 0, recased([evalRows[7]!])[0]!);
    data.push(respaced([evalRows[9]!])[0]!);
    const c = contamination(fingerprintRows(data), fingerprintRows(evalRows));
    expect(c.contaminatedRows).toEqual([10, 50, 99]);
    expect(c).toMatchObject({ rows: 100, exact: 1, matched: 3, overlap: 0.03 });
  });
});

describe('Sketch', () => {
  it('round-trips through its bytes and refuses corrupt bytes with a FlockError', () => {
    const s = Sketch.fromFingerprints(fingerprintRows(makeRows(30, 20, 300)));
    const back = Sketch.deserialize(s.serialize());
    expect(back.rows).toBe(20);
    expect(back.channels.map((c) => Array.from(c))).toEqual(s.channels.map((c) => Array.from(c)));
    expect(() => Sketch.deserialize(s.serialize().subarray(0, 50))).toThrow(FlockError);
    expect(() => Sketch.deserialize(Buffer.from('not a sketch at all'))).toThrow(/corrupt fingerprint sketch/);
  });
});

describe('overlap and contamination on canonical rows', () => {
  it('accept rows as well as fingerprints', () => {
    const rows = makeRows(31, 30, 300);
    expect(overlap(recased(rows), rows).overlap).toBe(1);
    expect(contamination([...makeRows(32, 9, 300), rows[0]!], rows).contaminatedRows).toEqual([9]);
  });
});
