/** Growable storage: values survive every growth, across the move from an ordinary buffer to a resizable one. */
import { describe, expect, it } from 'vitest';
import { GrowableRecords, GrowableU32 } from '../../src/dataset/growable.js';

describe('GrowableU32', () => {
  it('keeps every value pushed, one by one and in bulk, past the 1 MiB switch to a resizable buffer', () => {
    const g = new GrowableU32();
    const n = 700_000; // 2.8 MB: several doublings, then resizes
    for (let i = 0; i < n / 2; i++) g.push(i * 7);
    g.pushAll(Uint32Array.from({ length: n / 2 }, (_, i) => (n / 2 + i) * 7));
    const a = g.toArray();
    expect(a.length).toBe(n);
    let bad = -1;
    for (let i = 0; i < n && bad < 0; i++) if (a[i] !== (i * 7) >>> 0) bad = i;
    expect(bad).toBe(-1);
    expect((a.buffer as ArrayBuffer & { resizable: boolean }).resizable).toBe(true);
  });

  it('stays in an ordinary buffer for small data and hands out exactly what was pushed', () => {
    const g = new GrowableU32();
    g.pushAll([1, 2, 3]);
    g.push(4);
    expect([...g.toArray()]).toEqual([1, 2, 3, 4]);
    expect((g.toArray().buffer as ArrayBuffer & { resizable: boolean }).resizable).toBe(false);
    expect(new GrowableU32().toArray().length).toBe(0);
  });
});

describe('GrowableRecords', () => {
  it('keeps fixed-width records across growth, truncating longer input to the width', () => {
    const g = new GrowableRecords(32);
    const n = 40_000; // 1.28 MB
    for (let i = 0; i < n; i++) {
      const r = new Uint8Array(i % 2 ? 40 : 32).fill(i % 251);
      g.push(r);
    }
    expect(g.length).toBe(n);
    expect(g.data().length).toBe(n * 32);
    expect([...g.at(0)]).toEqual(new Array(32).fill(0));
    expect([...g.at(n - 1)]).toEqual(new Array(32).fill((n - 1) % 251));
    expect([...g.at(12_345)]).toEqual(new Array(32).fill(12_345 % 251));
  });
});
