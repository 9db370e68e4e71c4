import { describe, expect, it } from 'vitest';
import { nearClusters, nearDuplicatesOfEarlier } from '../../src/dataset/duplicates.js';
import { fingerprintRows } from '../../src/dataset/fingerprint-rows.js';
import { makeRows, recased, wordEdited } from './synthetic.js';

describe('near duplicates inside a dataset', () => {
  const base = makeRows(40, 50, 800);
  // rows 50 and 51 copy rows 3 and 7 (re-cased, edited); row 52 copies row 50's source again
  const rows = [...base, recased([base[3]!])[0]!, wordEdited([base[7]!], 0.05)[0]!, base[3]!];
  const fp = fingerprintRows(rows);

  it('flags each row that nearly matches an earlier row', () => {
    const flags = nearDuplicatesOfEarlier(fp.bands, fp.rows);
    expect([...flags.keys()].filter((i) => flags[i])).toEqual([50, 51, 52]);
  });

  it('groups rows into clusters', () => {
    expect(nearClusters(fp.bands, fp.rows)).toEqual([[3, 50, 52], [7, 51]]);
  });
});
