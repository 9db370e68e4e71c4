/** Fingerprints of rows already in memory (e.g. an evaluation set, or rows made by a program). */
import { rowHashBytes, type CanonicalRow } from './canonical.js';
import { BAND_COUNT, nearFingerprint } from './fingerprint.js';
import { RowHashList } from './identity.js';
import type { DatasetFingerprints } from './sketch.js';

/**
 * Fingerprints (and identity) of canonical rows.
 *
 * @example
 * const fp = fingerprintRows(validated.rows);
 * index.query(fp);
 */
export function fingerprintRows(rows: readonly CanonicalRow[]): DatasetFingerprints {
  const hashes = new RowHashList();
  const exact = new Uint32Array(rows.length);
  const bands = new Uint32Array(rows.length * BAND_COUNT);
  rows.forEach((row, i) => {
    const h = rowHashBytes(row);
    hashes.push(h);
    exact[i] = h.readUInt32BE(0);
    nearFingerprint(row, bands.subarray(i * BAND_COUNT, (i + 1) * BAND_COUNT));
  });
  return { identity: hashes.identity(), rows: rows.length, exact, bands };
}
