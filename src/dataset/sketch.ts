/**
 * Dataset fingerprints and row matching across datasets.
 *
 * A dataset's fingerprints are, per row, the first 4 bytes of its row hash ("exact" channel) and
 * its 20 LSH band keys (one channel per band). A *sketch* keeps, per channel, the sorted distinct
 * keys of a dataset — all that is needed to answer "does this row of another dataset match a row of
 * this one", without the rows. Matching is a merge of sorted arrays, so comparing 20 000 rows with
 * a 20 000-row sketch costs about 21 × 40 000 steps.
 *
 * Row i of A *matches* B when its exact prefix is one of B's (exact match) or one of its band keys
 * equals B's key for the same band (near match; see `fingerprint.ts`). O(A,B) = matched rows of A
 * ÷ rows of A (scoring step 4); contamination is the same rule against the evaluation set (step 3).
 */
import { FlockError } from '../util/errors.js';
import { BAND_COUNT } from './fingerprint.js';
import { sortKeyRows, sortedDistinct } from './pairs.js';
import type { CanonicalRow } from './canonical.js';
import { fingerprintRows } from './fingerprint-rows.js';

/** Fingerprints as given, or computed from canonical rows. */
function asFingerprints(d: DatasetFingerprints | readonly CanonicalRow[]): DatasetFingerprints {
  return Array.isArray(d) ? fingerprintRows(d as readonly CanonicalRow[]) : (d as DatasetFingerprints);
}

/** Per-row fingerprints of one dataset. */
export interface DatasetFingerprints {
  /** Dataset identity (hex; see `identity.ts`). */
  identity: string;
  rows: number;
  /** First 4 bytes (big-endian) of each row's hash; length `rows`. */
  exact: Uint32Array;
  /** Band keys, `BAND_COUNT` per row, row after row; length `rows × BAND_COUNT`. */
  bands: Uint32Array;
}

/**
 * `fp` with its arrays in ordinary buffers, so it can be posted to another thread. Large scans
 * hand out views on resizable buffers (growable.ts), which Node 20 cannot clone; those are copied,
 * anything else is returned as is.
 */
export function transferableFingerprints(fp: DatasetFingerprints): DatasetFingerprints {
  const resizable = (a: Uint32Array) => (a.buffer as ArrayBuffer & { resizable?: boolean }).resizable === true;
  if (!resizable(fp.exact) && !resizable(fp.bands)) return fp;
  return { identity: fp.identity, rows: fp.rows, exact: fp.exact.slice(), bands: fp.bands.slice() };
}

/** Channels: 0 = exact prefixes, 1…20 = bands. */
export const CHANNELS = 1 + BAND_COUNT;

/** Sorted distinct keys per channel of one dataset. */
export class Sketch {
  constructor(readonly rows: number, readonly channels: Uint32Array[]) {}

  static fromFingerprints(fp: DatasetFingerprints): Sketch {
    checkShape(fp);
    const ch = [sortedDistinct(fp.exact, fp.rows)];
    for (let b = 0; b < BAND_COUNT; b++) ch.push(sortedDistinct(fp.bands, fp.rows, BAND_COUNT, b));
    return new Sketch(fp.rows, ch);
  }

  /** Bytes for storage: u32 little-endian `[magic, version, rows, channels, count…, keys…]`. */
  serialize(): Buffer {
    const total = 4 + CHANNELS + this.channels.reduce((s, c) => s + c.length, 0);
    const out = Buffer.alloc(total * 4);
    let o = 0;
    const put = (v: number) => { out.writeUInt32LE(v >>> 0, o); o += 4; };
    put(SKETCH_MAGIC); put(SKETCH_VERSION); put(this.rows); put(CHANNELS);
    for (const c of this.channels) put(c.length);
    for (const c of this.channels) {
      // little-endian hosts (x86, ARM) can copy the array's bytes directly
      if (LITTLE_ENDIAN) { Buffer.from(c.buffer, c.byteOffset, c.byteLength).copy(out, o); o += c.byteLength; }
      else for (const v of c) put(v);
    }
    return out;
  }

  static deserialize(buf: Uint8Array): Sketch {
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    const bad = (why: string) => new FlockError(`corrupt fingerprint sketch: ${why}`, { hint: 'rebuild the fingerprint index' });
    if (b.length < 16 || b.readUInt32LE(0) !== SKETCH_MAGIC) throw bad('bad magic number');
    if (b.readUInt32LE(4) !== SKETCH_VERSION) throw bad(`version ${b.readUInt32LE(4)}, expected ${SKETCH_VERSION}`);
    const rows = b.readUInt32LE(8);
    if (b.readUInt32LE(12) !== CHANNELS) throw bad('wrong channel count');
    if (b.length < (4 + CHANNELS) * 4) throw bad('truncated header');
    const counts = Array.from({ length: CHANNELS }, (_, i) => b.readUInt32LE(16 + 4 * i));
    let o = (4 + CHANNELS) * 4;
    if (b.length !== o + counts.reduce((s, n) => s + n, 0) * 4) throw bad('length does not match its header');
    const channels = counts.map((n) => {
      const c = new Uint32Array(n);
      if (LITTLE_ENDIAN) Buffer.from(c.buffer).set(b.subarray(o, o + n * 4));
      else for (let i = 0; i < n; i++) c[i] = b.readUInt32LE(o + 4 * i);
      o += n * 4;
      return c;
    });
    return new Sketch(rows, channels);
  }
}

const SKETCH_MAGIC = 0x464c4b53; // "FLKS"
const SKETCH_VERSION = 1;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A dataset prepared to be matched against sketches: per channel, sorted keys with their rows. */
export class RowMatcher {
  private readonly keys: Uint32Array[] = [];
  private readonly rowsOf: Uint32Array[] = [];
  private readonly exactStamp: Uint32Array;
  private readonly anyStamp: Uint32Array;
  private stamp = 0;

  constructor(readonly fp: DatasetFingerprints) {
    checkShape(fp);
    const e = sortKeyRows(fp.exact, fp.rows);
    this.keys.push(e.keys); this.rowsOf.push(e.rows);
    for (let b = 0; b < BAND_COUNT; b++) {
      const s = sortKeyRows(fp.bands, fp.rows, BAND_COUNT, b);
      this.keys.push(s.keys); this.rowsOf.push(s.rows);
    }
    this.exactStamp = new Uint32Array(fp.rows);
    this.anyStamp = new Uint32Array(fp.rows);
  }

  /**
   * Count this dataset's rows that match `sketch`. With `flags`, also mark each row:
   * 0 no match, 1 near match, 2 exact match.
   */
  match(sketch: Sketch, flags?: Uint8Array): { exact: number; matched: number } {
    const stamp = ++this.stamp;
    let exact = 0;
    let matched = 0;
    for (let c = 0; c < CHANNELS; c++) {
      const qk = this.keys[c]!;
      const qr = this.rowsOf[c]!;
      const sk = sketch.channels[c]!;
      let i = 0;
      let j = 0;
      const qn = qk.length;
      const sn = sk.length;
      while (i < qn && j < sn) {
        const a = qk[i]!;
        const b = sk[j]!;
        if (a < b) i++;
        else if (a > b) j++;
        else {
          const row = qr[i]!;
          if (this.anyStamp[row] !== stamp) { this.anyStamp[row] = stamp; matched++; if (flags) flags[row] = 1; }
          if (c === 0 && this.exactStamp[row] !== stamp) { this.exactStamp[row] = stamp; exact++; if (flags) flags[row] = 2; }
          i++;
        }
      }
    }
    return { exact, matched };
  }
}

function checkShape(fp: DatasetFingerprints): void {
  if (fp.exact.length !== fp.rows || fp.bands.length !== fp.rows * BAND_COUNT) {
    throw new FlockError(`fingerprints do not match their row count (${fp.rows} rows, ${fp.exact.length} exact keys, ${fp.bands.length} band keys)`);
  }
}

export interface OverlapResult {
  /** Rows of A. */
  rows: number;
  /** Rows of A with an exact copy in B. */
  exact: number;
  /** Rows of A that match B exactly or nearly. */
  matched: number;
  /** O(A,B) = matched ÷ rows (0 for an empty A). */
  overlap: number;
}

/**
 * O(A,B): the fraction of A's rows that exactly or nearly match a row of B (scoring step 4).
 * Takes fingerprints (`scanDataset(…).fingerprints`, `fingerprintRows(rows)`) or canonical rows.
 *
 * @example
 * overlap(fingerprintsOfLater, fingerprintsOfEarlier).overlap >= 0.5 // a copy
 */
export function overlap(aIn: DatasetFingerprints | readonly CanonicalRow[], bIn: DatasetFingerprints | readonly CanonicalRow[]): OverlapResult {
  const a = asFingerprints(aIn);
  const { exact, matched } = new RowMatcher(a).match(Sketch.fromFingerprints(asFingerprints(bIn)));
  return { rows: a.rows, exact, matched, overlap: a.rows === 0 ? 0 : matched / a.rows };
}

export interface ContaminationResult extends OverlapResult {
  /** Indices (0-based, in file order) of the rows that match an evaluation example. */
  contaminatedRows: number[];
}

/**
 * Rows of `data` that exactly or nearly duplicate an evaluation example (scoring step 3).
 * Takes fingerprints or canonical rows.
 *
 * @example
 * const c = contamination(dataFp, evalFp);
 * if (c.overlap > 0.01) reject('trained on the test'); else drop(c.contaminatedRows);
 */
export function contamination(dataIn: DatasetFingerprints | readonly CanonicalRow[], evalRows: DatasetFingerprints | readonly CanonicalRow[]): ContaminationResult {
  const data = asFingerprints(dataIn);
  const flags = new Uint8Array(data.rows);
  const { exact, matched } = new RowMatcher(data).match(Sketch.fromFingerprints(asFingerprints(evalRows)), flags);
  const contaminatedRows: number[] = [];
  flags.forEach((f, i) => { if (f) contaminatedRows.push(i); });
  return { rows: data.rows, exact, matched, overlap: data.rows === 0 ? 0 : matched / data.rows, contaminatedRows };
}
