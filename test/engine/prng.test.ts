import { describe, expect, it } from 'vitest';
import { deriveKey, lowbias32, randomBits, shuffle, Stream, uniform } from '../../src/engine/prng.js';

describe('prng', () => {
  it('is a pure function of key and counter, with pinned values (results must not drift across versions)', () => {
    expect(lowbias32(0)).toBe(0);
    expect(lowbias32(1)).toBe(lowbias32(1));
    expect(randomBits(42, 7)).toBe(randomBits(42, 7));
    expect(randomBits(42, 7)).not.toBe(randomBits(42, 8));
    expect([randomBits(1, 0), randomBits(1, 1), uniform(1, 2)]).toMatchInlineSnapshot(`
      [
        3529208806,
        1753845952,
        0.9654238224029541,
      ]
    `);
  });

  it('draws uniform values in [0, 1) with a plausible mean', () => {
    let sum = 0;
    for (let i = 0; i < 10000; i++) {
      const u = uniform(9, i);
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      sum += u;
    }
    expect(Math.abs(sum / 10000 - 0.5)).toBeLessThan(0.02);
  });

  it('derived keys separate streams and tags', () => {
    expect(deriveKey(1, 2, 3)).not.toBe(deriveKey(1, 3, 2));
    expect(deriveKey(1, 2)).not.toBe(deriveKey(2, 2));
    expect(deriveKey(5, 1, 0)).toBe(deriveKey(5, 1, 0));
  });

  it('shuffles into a permutation, the same for the same key', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const a = shuffle(items, 3);
    expect([...a].sort((x, y) => x - y)).toEqual(items);
    expect(shuffle(items, 3)).toEqual(a);
    expect(shuffle(items, 4)).not.toEqual(a);
    expect(a).not.toEqual(items);
  });

  it('nextInt stays in range', () => {
    const s = new Stream(1);
    for (let i = 0; i < 1000; i++) expect(s.nextInt(7)).toBeLessThan(7);
  });
});
