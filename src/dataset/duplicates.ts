/**
 * Duplicates inside one dataset, from its fingerprints: rows that nearly match an earlier row, and
 * clusters of rows linked by near matches. (Exact duplicates come from `RowHashList`.)
 */
import { BAND_COUNT } from './fingerprint.js';
import { SortScratch, sortKeyRows } from './pairs.js';

/** For each row: 1 when it nearly matches (shares a band key with) an earlier row, else 0. */
export function nearDuplicatesOfEarlier(bands: Uint32Array, rows: number): Uint8Array {
  const dup = new Uint8Array(rows);
  const scratch = new SortScratch(rows);
  for (let b = 0; b < BAND_COUNT; b++) {
    const s = sortKeyRows(bands, rows, BAND_COUNT, b, scratch);
    // within a run of equal keys rows are in file order: all but the first have an earlier match
    for (let i = 1; i < rows; i++) if (s.keys[i] === s.keys[i - 1]) dup[s.rows[i]!] = 1;
  }
  return dup;
}

/** Groups (size ≥ 2) of rows connected by near matches, each in file order, ordered by first row. */
export function nearClusters(bands: Uint32Array, rows: number): number[][] {
  const parent = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) parent[i] = i;
  const find = (x: number): number => {
    while (parent[x] !== x) { parent[x] = parent[parent[x]!]!; x = parent[x]!; }
    return x;
  };
  const scratch = new SortScratch(rows);
  for (let b = 0; b < BAND_COUNT; b++) {
    const s = sortKeyRows(bands, rows, BAND_COUNT, b, scratch);
    for (let i = 1; i < rows; i++) {
      if (s.keys[i] !== s.keys[i - 1]) continue;
      const x = find(s.rows[i]!);
      const y = find(s.rows[i - 1]!);
      if (x !== y) parent[Math.max(x, y)] = Math.min(x, y);
    }
  }
  const size = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) size[find(i)]++;
  const groups = new Map<number, number[]>();
  for (let i = 0; i < rows; i++) {
    const r = find(i);
    if (size[r]! < 2) continue;
    let g = groups.get(r);
    if (!g) { g = []; groups.set(r, g); }
    g.push(i);
  }
  return [...groups.values()].sort((a, b) => a[0]! - b[0]!);
}
