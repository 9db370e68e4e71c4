/** Both directions of the overlap of two datasets: O(A,B) (A's rows found in B) and C(A,B) (B's rows A holds). */
import { describe, expect, it } from 'vitest';
import { twoWayOverlap } from '../../src/dataset/containment.js';
import { fingerprintRows } from '../../src/dataset/fingerprint-rows.js';
import { overlap } from '../../src/dataset/sketch.js';
import { makeRows, recased, shuffled } from './synthetic.js';

describe('twoWayOverlap', () => {
  const original = makeRows(601, 200, 400);
  const fpOriginal = fingerprintRows(original);

  it('a diluted copy: a third of its rows are the original, and it holds all of the original', () => {
    const diluted = fingerprintRows(shuffled([...recased(original), ...makeRows(602, 400, 400)]));
    const o = twoWayOverlap(diluted, fpOriginal);
    expect(o).toMatchObject({ rows: 600, matched: 200, exact: 0, otherRows: 200, otherMatched: 200, otherExact: 0 });
    expect(o.overlap).toBeCloseTo(1 / 3, 12);
    expect(o.containment).toBe(1);
  });

  it('each direction is overlap() of that direction, and swapping A and B swaps them', () => {
    const a = fingerprintRows([...original.slice(0, 50), ...makeRows(603, 150, 400)]);
    const o = twoWayOverlap(a, fpOriginal);
    expect(o.matched).toBe(overlap(a, fpOriginal).matched);
    expect(o.otherMatched).toBe(overlap(fpOriginal, a).matched);
    const back = twoWayOverlap(fpOriginal, a);
    expect([back.overlap, back.containment, back.matched, back.otherMatched]).toEqual([o.containment, o.overlap, o.otherMatched, o.matched]);
  });

  it('counts rows, not distinct rows: duplicates in B each count as held', () => {
    const withDupes = fingerprintRows([...original.slice(0, 10), ...original.slice(0, 10), ...makeRows(604, 20, 400)]);
    const o = twoWayOverlap(fingerprintRows(original.slice(0, 10)), withDupes);
    expect(o.overlap).toBe(1);
    expect(o.otherMatched).toBe(20);
    expect(o.containment).toBe(0.5);
  });

  it('empty datasets give 0, not NaN', () => {
    const empty = fingerprintRows([]);
    expect(twoWayOverlap(empty, fpOriginal)).toMatchObject({ overlap: 0, containment: 0, matched: 0, otherMatched: 0 });
    expect(twoWayOverlap(fpOriginal, empty)).toMatchObject({ overlap: 0, containment: 0 });
  });
});
