import { describe, expect, it } from 'vitest';
import { StatsCollector, estimateTokens } from '../../src/dataset/stats.js';
import { canonicalRow } from '../../src/dataset/canonical.js';

describe('StatsCollector', () => {
  it('counts rows, turns, characters and distributions', () => {
    const s = new StatsCollector();
    s.add(canonicalRow(null, [{ role: 'user', content: 'abcd' }, { role: 'assistant', content: 'efgh' }]));
    s.add(canonicalRow('sys', [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }, { role: 'assistant', content: 'defgh' }]));
    s.add(canonicalRow(null, [{ role: 'user', content: 'x'.repeat(100) }, { role: 'assistant', content: 'y' }]));
    const r = s.result();
    expect(r).toMatchObject({ rows: 3, turns: 8, characters: 8 + 11 + 101, rowsWithSystem: 1, turnsPerRow: { '2': 2, '4': 1 } });
    expect(r.estimatedTokens).toBe(2 + 3 + 26);
    expect(r.charactersPerRow).toEqual({ min: 8, p50: 11, p90: 101, p99: 101, max: 101, mean: 40 });
    expect(estimateTokens(0)).toBe(0);
    expect(estimateTokens(5)).toBe(2);
  });

  it('gives zeros for no rows', () => {
    expect(new StatsCollector().result().charactersPerRow).toEqual({ min: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 });
  });
});
