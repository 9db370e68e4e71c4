/**
 * Near-duplicate fingerprints: One-Permutation MinHash with LSH banding.
 *
 * Scheme (v1, `NEAR_SCHEME` below — changing any constant changes every fingerprint):
 * - Text: the row's turn contents joined (the system prompt is left out, so a shared system prompt
 *   does not make unrelated rows look alike), lower-cased, with everything but letters and digits
 *   removed. Re-casing, re-spacing and punctuation changes therefore give the same text.
 * - Shingles: every 5-character window of that text.
 * - Signature: one-permutation MinHash (Li, Owen & Zhang 2012) — each shingle is hashed once to 32
 *   bits; the top 6 bits pick one of 64 bins, the bin keeps the minimum of the other 26 bits; empty
 *   bins borrow from a bin chosen by their own probe sequence (optimal densification, Shrivastava
 *   2017). The
 *   chance two bins agree estimates the Jaccard similarity J of the two shingle sets.
 * - LSH: 16 bands of 4 bins, each band hashed to a 32-bit key. Two rows **nearly match when they
 *   share at least one band key**. Probability 1 − (1 − J⁴)¹⁶: J 0.9 → 1.0, J 0.7 → 0.98,
 *   J 0.5 (the threshold, (1/16)^(1/4)) → 0.64, J 0.3 → 0.12, J 0.1 → 0.002.
 *   Replacing 10% of a 1 KB row's words leaves J ≈ 0.7; unrelated text sits below 0.1.
 * - Short text (under 32 characters after folding): 5-grams say too little, so every band key is
 *   a hash of the whole folded text — such rows nearly match only when their folded texts are equal
 *   (so "What is 2+2?" and "what is 2 + 2" match; "What is 3+5?" does not).
 * A row reordering never matters: matching is per row. The same rule is used everywhere — in-file
 * near duplicates, `compare`, `contamination` and the persistent index.
 */
import type { CanonicalRow } from './canonical.js';

export const NEAR_SCHEME = Object.freeze({
  name: 'oph-minhash-v1',
  shingle: 5,
  bins: 64,
  bands: 16,
  rowsPerBand: 4,
  shortText: 32,
});

const SHINGLE = NEAR_SCHEME.shingle;
const BINS = NEAR_SCHEME.bins;
const BANDS = NEAR_SCHEME.bands;
const PER_BAND = NEAR_SCHEME.rowsPerBand;
const BIN_SHIFT = 26; // 32 − log2(64)
const VALUE_MASK = (1 << BIN_SHIFT) - 1;
const EMPTY = 0x7fffffff;
const POLY = 0x01000193; // odd multiplier of the rolling polynomial hash

/** Number of band keys per row. */
export const BAND_COUNT = BANDS;

/** The folded text the fingerprint is computed from. */
export function nearText(row: CanonicalRow): string {
  let s = '';
  for (const t of row.conversations) s += t.content;
  return foldText(s);
}

/** Lower-case and keep only letters and digits. */
export function foldText(s: string): string {
  return s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
}

/** murmur3's 32-bit finaliser: spreads every input bit over the output. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hashString(s: string, seed: number): number {
  let h = seed ^ 0x9e3779b9;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), POLY);
  return fmix32(h ^ s.length);
}

const bins = new Int32Array(BINS);
const POLY_POW = (() => { let p = 1; for (let i = 1; i < SHINGLE; i++) p = Math.imul(p, POLY); return p; })();

/**
 * The near-duplicate fingerprint of a row: its 16 LSH band keys. Rows whose fingerprints share a
 * key at the same position nearly match.
 *
 * @example
 * const a = nearFingerprint(row);
 * const b = nearFingerprint(recasedCopy);
 * a.some((k, i) => k === b[i]); // true
 */
export function nearFingerprint(row: CanonicalRow, out: Uint32Array = new Uint32Array(BANDS)): Uint32Array {
  return textFingerprint(nearText(row), out);
}

/** Band keys of already-folded text (see `foldText`). */
export function textFingerprint(text: string, out: Uint32Array = new Uint32Array(BANDS)): Uint32Array {
  if (text.length < NEAR_SCHEME.shortText) {
    const h = hashString(text, 0x5eed);
    for (let b = 0; b < BANDS; b++) out[b] = fmix32(h ^ Math.imul(b + 1, 0x27d4eb2d));
    return out;
  }
  bins.fill(EMPTY);
  // rolling polynomial hash of each 5-char window, then mixed
  let h = 0;
  for (let i = 0; i < SHINGLE - 1; i++) h = (Math.imul(h, POLY) + text.charCodeAt(i)) | 0;
  for (let i = SHINGLE - 1; i < text.length; i++) {
    h = (Math.imul(h, POLY) + text.charCodeAt(i)) | 0;
    const m = fmix32(h);
    const bin = m >>> BIN_SHIFT;
    const v = m & VALUE_MASK;
    if (v < bins[bin]!) bins[bin] = v;
    h = (h - Math.imul(text.charCodeAt(i - SHINGLE + 1), POLY_POW)) | 0;
  }
  densify();
  for (let b = 0; b < BANDS; b++) {
    let k = Math.imul(b + 1, 0x9e3779b1);
    for (let r = 0; r < PER_BAND; r++) k = Math.imul(k ^ bins[b * PER_BAND + r]!, 0x01000193) ^ (k >>> 15);
    out[b] = fmix32(k);
  }
  return out;
}

const filled = new Int32Array(BINS);

/**
 * Fill each empty bin from a non-empty bin picked by a probe sequence of its own (optimal
 * densification, Shrivastava 2017): neighbouring empty bins borrow from unrelated bins, so a band
 * of empty bins does not hang on one shared value.
 */
function densify(): void {
  let nonEmpty = 0;
  for (let i = 0; i < BINS; i++) if (bins[i] !== EMPTY) nonEmpty++;
  if (nonEmpty === 0 || nonEmpty === BINS) return;
  filled.set(bins);
  for (let i = 0; i < BINS; i++) {
    if (bins[i] !== EMPTY) continue;
    for (let attempt = 1; ; attempt++) {
      const j = fmix32(Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(attempt, 0x85ebca77)) & (BINS - 1);
      if (bins[j] !== EMPTY) { filled[i] = bins[j]!; break; }
    }
  }
  bins.set(filled);
}
