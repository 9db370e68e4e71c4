/**
 * Near-duplicate fingerprints: One-Permutation MinHash with LSH banding.
 *
 * Scheme (v1, `NEAR_SCHEME` below — changing any constant changes every fingerprint):
 * - Text: the row's turn contents joined (the system prompt is left out, so a shared system prompt
 *   does not make unrelated rows look alike), lower-cased, with everything but letters and digits
 *   removed. Re-casing, re-spacing and punctuation changes therefore give the same text.
 * - Shingles: every 7-character window of that text.
 * - Signature: one-permutation MinHash (Li, Owen & Zhang 2012) — each shingle is hashed once to 32
 *   bits; the hash picks one of 120 bins and the bin keeps its smallest hash; empty bins borrow from
 *   a bin chosen by their own probe sequence (optimal densification, Shrivastava 2017). The chance
 *   two bins agree estimates the Jaccard similarity J of the two shingle sets.
 * - LSH: 20 bands of 6 bins, each band hashed to a 32-bit key. Two rows **nearly match when they
 *   share at least one band key** (same band). Probability 1 − (1 − J⁶)²⁰: J 0.9 → 1.0,
 *   J 0.7 → 0.92, J 0.6 → 0.62, J 0.5 (≈ the threshold (1/20)^(1/6) = 0.61) → 0.27,
 *   J 0.1 → 2·10⁻⁵, J 0.05 → 3·10⁻⁷ per pair of rows.
 *   Measured on synthetic text: replacing 10% of a 1 KB row's words leaves J ≈ 0.69 (caught ≈ 90%
 *   of the time); unrelated rows have J ≈ 0.03 (at most ≈ 0.07), so against a 20 000-row dataset an
 *   unrelated row is falsely matched well under 1% of the time. Re-casing, re-spacing and
 *   punctuation changes do not change J at all.
 * - Short text (under 32 characters after folding): 7-grams say too little, so every band key is
 *   a hash of the whole folded text — such rows nearly match only when their folded texts are equal
 *   (so "What is 2+2?" and "what is 2 + 2" match; "What is 3+5?" does not).
 * A row reordering never matters: matching is per row. The same rule is used everywhere — in-file
 * near duplicates, `compare`, `contamination` and the persistent index.
 */
import type { CanonicalRow } from './canonical.js';

export const NEAR_SCHEME = Object.freeze({
  name: 'oph-minhash-v1',
  shingle: 7,
  bins: 120,
  bands: 20,
  rowsPerBand: 6,
  shortText: 32,
});

const SHINGLE = NEAR_SCHEME.shingle;
const BINS = NEAR_SCHEME.bins;
const BANDS = NEAR_SCHEME.bands;
const PER_BAND = NEAR_SCHEME.rowsPerBand;
const EMPTY = 0xffffffff;
const POLY = 0x01000193; // odd multiplier of the rolling polynomial hash

/** Number of band keys per row. */
export const BAND_COUNT = BANDS;

/** The folded text the fingerprint is computed from. */
export function nearText(row: CanonicalRow): string {
  let s = '';
  for (const t of row.conversations) s += t.content;
  return foldText(s);
}

/** Lower-case and keep only letters and digits (character by character). */
export function foldText(s: string): string {
  const codes: number[] = [];
  foldInto(s, (c) => { codes.push(c); });
  let out = '';
  for (let i = 0; i < codes.length; i += 4096) out += String.fromCharCode(...codes.slice(i, i + 4096));
  return out;
}

const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u;
const foldCache = new Map<number, string>();

/** The folded form of one non-ASCII code point ('' when it is not a letter or digit). */
function foldCodePoint(cp: number): string {
  let f = foldCache.get(cp);
  if (f === undefined) {
    const ch = String.fromCodePoint(cp);
    f = LETTER_OR_DIGIT.test(ch) ? ch.toLowerCase() : '';
    if (foldCache.size < 65536) foldCache.set(cp, f);
  }
  return f;
}

/** Feed the folded UTF-16 code units of `s` to `emit` (ASCII on a fast path). */
function foldInto(s: string, emit: (code: number) => void): void {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 128) {
      if (c >= 65 && c <= 90) emit(c + 32);
      else if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) emit(c);
      continue;
    }
    const cp = s.codePointAt(i)!;
    if (cp > 0xffff) i++;
    const f = foldCodePoint(cp);
    for (let k = 0; k < f.length; k++) { c = f.charCodeAt(k); emit(c); }
  }
}

/** murmur3's 32-bit finaliser: spreads every input bit over the output. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}


const bins = new Uint32Array(BINS);
const filled = new Uint32Array(BINS);

/**
 * The near-duplicate fingerprint of a row: its 20 LSH band keys. Rows whose fingerprints share a
 * key at the same position nearly match.
 *
 * @example
 * const a = nearFingerprint(row);
 * const b = nearFingerprint(recasedCopy);
 * a.some((k, i) => k === b[i]); // true
 */
export function nearFingerprint(row: CanonicalRow, out: Uint32Array = new Uint32Array(BANDS)): Uint32Array {
  start();
  for (const t of row.conversations) feed(t.content);
  return finish(out);
}

/** Band keys of a text (folded first, see `foldText`). */
export function textFingerprint(text: string, out: Uint32Array = new Uint32Array(BANDS)): Uint32Array {
  start();
  feed(text);
  return finish(out);
}

// Streaming state: the folded text is never built; its 7-grams are hashed as it goes by.
let rolling = 0; // polynomial hash of the last SHINGLE codes
let count = 0; // folded code units seen
let whole = 0; // hash of the whole folded text (for short texts)
const ring = new Uint16Array(SHINGLE); // the last SHINGLE codes
/** POLY^SHINGLE: the weight of the code leaving the window. */
const POLY_POW = (() => { let p = 1; for (let i = 0; i < SHINGLE; i++) p = Math.imul(p, POLY); return p; })();

function start(): void {
  bins.fill(EMPTY);
  ring.fill(0);
  slot = 0;
  rolling = 0;
  count = 0;
  whole = 0x9e3779b9 ^ 0x5eed;
}

let slot = 0; // where the next code goes in the ring

function push(c: number): void {
  whole = Math.imul(whole ^ c, POLY);
  rolling = (Math.imul(rolling, POLY) + c - Math.imul(ring[slot]!, POLY_POW)) | 0; // ring holds 0 until full
  ring[slot] = c;
  if (++slot === SHINGLE) slot = 0;
  if (++count >= SHINGLE) {
    // murmur3 fmix32, inlined
    let m = rolling ^ (rolling >>> 16);
    m = Math.imul(m, 0x85ebca6b);
    m ^= m >>> 13;
    m = Math.imul(m, 0xc2b2ae35);
    m = (m ^ (m >>> 16)) >>> 0;
    const bin = ((m >>> 16) * BINS) >>> 16; // the hash's top bits pick the bin…
    if (m < bins[bin]!) bins[bin] = m; // …and the bin keeps its smallest hash
  }
}

/**
 * `foldInto(s, push)` with the ASCII path and `push` written out inline, state in locals: the
 * hot loop of fingerprinting (same results, about twice as fast).
 */
function feed(s: string): void {
  let r = rolling;
  let n = count;
  let sl = slot;
  let w = whole;
  const rg = ring;
  const bn = bins;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 128) {
      // rare: non-ASCII goes through the general path
      rolling = r; count = n; slot = sl; whole = w;
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      const f = foldCodePoint(cp);
      for (let k = 0; k < f.length; k++) push(f.charCodeAt(k));
      r = rolling; n = count; sl = slot; w = whole;
      continue;
    }
    if (c >= 65 && c <= 90) c += 32;
    else if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57))) continue;
    w = Math.imul(w ^ c, POLY);
    r = (Math.imul(r, POLY) + c - Math.imul(rg[sl]!, POLY_POW)) | 0;
    rg[sl] = c;
    if (++sl === SHINGLE) sl = 0;
    if (++n >= SHINGLE) {
      let m = r ^ (r >>> 16);
      m = Math.imul(m, 0x85ebca6b);
      m ^= m >>> 13;
      m = Math.imul(m, 0xc2b2ae35);
      m = (m ^ (m >>> 16)) >>> 0;
      const bin = ((m >>> 16) * BINS) >>> 16;
      if (m < bn[bin]!) bn[bin] = m;
    }
  }
  rolling = r; count = n; slot = sl; whole = w;
}

function finish(out: Uint32Array): Uint32Array {
  if (count < NEAR_SCHEME.shortText) {
    const h = fmix32(whole ^ count);
    for (let b = 0; b < BANDS; b++) out[b] = fmix32(h ^ Math.imul(b + 1, 0x27d4eb2d));
    return out;
  }
  densify();
  for (let b = 0; b < BANDS; b++) {
    let k = Math.imul(b + 1, 0x9e3779b1);
    for (let r = 0; r < PER_BAND; r++) k = Math.imul(k ^ bins[b * PER_BAND + r]!, 0x01000193) ^ (k >>> 15);
    out[b] = fmix32(k);
  }
  return out;
}

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
      const j = fmix32(Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(attempt, 0x85ebca77)) % BINS;
      if (bins[j] !== EMPTY) { filled[i] = bins[j]!; break; }
    }
  }
  bins.set(filled);
}
