/**
 * The persistent fingerprint index: every dataset committed in a competition, kept as a sketch
 * (sorted distinct exact-hash prefixes and LSH band keys, see `sketch.ts`) and as its per-row keys
 * in one SQLite file, so "which earlier datasets does this one overlap, by how much of its rows,
 * and how much of theirs does it hold" (scoring step 4, both directions) is answered without
 * re-reading any of them.
 *
 * Datasets are keyed by an id (e.g. `uid:hotkey:revision` or a repo) plus the dataset identity.
 * Beside each sketch (≈ 1.7 MB for a 20 000-row dataset) a 2 KB *dataset signature* is stored: a
 * one-permutation MinHash (512 bins) over all of the dataset's keys. A query first compares
 * signatures — two datasets whose key sets share a fraction f of their union agree on a bin
 * about 512·f times, and are compared further when they agree on two or more (f = 1% → 96%,
 * f = 2% → 99.96%); unrelated ones essentially never — and
 * merges its rows' keys only with the sketches of the candidates, so the cost grows with the
 * number of overlapping datasets, not with the size of the index. (A 50% copy whose rows were
 * each 10% edited shares f ≈ 2.5%; overlaps that share under ~1% of keys may go unreported.)
 * The per-row keys (84 bytes a row) answer the reverse direction: which of the stored dataset's
 * rows match the query's. Entries written before they were kept have none: `has` reports them as
 * absent so callers store them again, and until then their reverse direction is unknown (null).
 * SQLite in WAL mode, so other processes can read while the validator writes.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { FlockError } from '../util/errors.js';
import { statementCache } from '../util/sqlite.js';
import { BAND_COUNT, fmix32, NEAR_SCHEME } from './fingerprint.js';
import { RowMatcher, Sketch, type DatasetFingerprints } from './sketch.js';

export interface IndexMatch {
  datasetId: string;
  identity: string;
  /** Rows of the stored dataset. */
  rows: number;
  /** O(query, stored): fraction of the query's rows that match the stored dataset. */
  overlap: number;
  /** Query rows with an exact copy in the stored dataset. */
  exact: number;
  /** Query rows that match exactly or nearly. */
  matched: number;
  /** Stored rows that match a query row exactly or nearly; null for an entry stored without its row keys. */
  storedMatched: number | null;
  /** C(query, stored): fraction of the stored dataset's rows that the query holds; null when unknown. */
  containment: number | null;
}

export interface IndexedDataset {
  datasetId: string;
  identity: string;
  rows: number;
  addedAt: string;
}

export interface QueryOptions {
  /** Leave out stored datasets with these ids (e.g. the dataset itself). */
  excludeIds?: Iterable<string>;
  /** Report only datasets overlapping ≥ this in either direction, O or C (default: anything above 0). */
  minOverlap?: number;
}

const SCHEMA_VERSION = '1';
const SIGNATURE_BINS = 512;
const EMPTY = 0xffffffff;

/**
 * Dataset-level one-permutation MinHash over every key of a sketch (keys salted by channel).
 * Bins left empty (tiny datasets) hold EMPTY and never count as agreeing.
 */
export function datasetSignature(sketch: Sketch): Uint32Array {
  const sig = new Uint32Array(SIGNATURE_BINS).fill(EMPTY);
  sketch.channels.forEach((keys, c) => {
    const salt = Math.imul(c + 1, 0x9e3779b1);
    for (let i = 0; i < keys.length; i++) {
      const h = fmix32(keys[i]! ^ salt);
      const bin = h & (SIGNATURE_BINS - 1);
      const v = fmix32(h ^ 0x5bd1e995);
      if (v < sig[bin]!) sig[bin] = v;
    }
  });
  return sig;
}

/**
 * True when two dataset signatures agree on at least two non-empty bins (their key sets very
 * likely overlap). One agreement is not enough: with 32-bit keys, two unrelated 20 000-row datasets
 * share a couple of keys by chance, and one of those is now and then the minimum of its bin in both.
 */
function signaturesMeet(mine: Uint32Array, stored: Buffer): boolean {
  if (stored.length !== SIGNATURE_BINS * 4) return true; // unknown shape: do the full comparison
  let agree = 0;
  for (let i = 0; i < SIGNATURE_BINS; i++) {
    const v = mine[i]!;
    if (v !== EMPTY && v === stored.readUInt32LE(i * 4) && ++agree >= 2) return true;
  }
  return false;
}

function u32Bytes(a: Uint32Array): Buffer {
  const b = Buffer.alloc(a.length * 4);
  a.forEach((v, i) => b.writeUInt32LE(v, i * 4));
  return b;
}

/** Per-row keys for storage: the exact keys, then the band keys, u32 little-endian. */
function rowKeyBytes(fp: DatasetFingerprints): Buffer {
  const b = Buffer.alloc((fp.exact.length + fp.bands.length) * 4);
  fp.exact.forEach((v, i) => b.writeUInt32LE(v, i * 4));
  const o = fp.exact.length * 4;
  fp.bands.forEach((v, i) => b.writeUInt32LE(v, o + i * 4));
  return b;
}

/**
 * How many rows of a stored dataset (its `rowKeyBytes`) match `sketch`: a row matches when its
 * exact key or one of its band keys is among the sketch's keys of that channel (the rule of
 * `RowMatcher`, from the stored side). Binary search per key, so nothing is sorted per query.
 */
function storedRowsMatching(rows: number, b: Buffer, sketch: Sketch, what: string): number {
  if (b.length !== rows * (1 + BAND_COUNT) * 4) {
    throw new FlockError(`${what}: its row keys do not match its ${rows} rows`, { hint: 'rebuild the fingerprint index' });
  }
  const keys = new Uint32Array(rows * (1 + BAND_COUNT));
  Buffer.from(keys.buffer).set(b);
  if (!LITTLE_ENDIAN) for (let i = 0; i < keys.length; i++) keys[i] = b.readUInt32LE(i * 4);
  let matched = 0;
  for (let r = 0; r < rows; r++) {
    if (contains(sketch.channels[0]!, keys[r]!)) { matched++; continue; }
    for (let band = 0; band < BAND_COUNT; band++) {
      if (contains(sketch.channels[1 + band]!, keys[rows + r * BAND_COUNT + band]!)) { matched++; break; }
    }
  }
  return matched;
}

/** True when the sorted array holds `key`. */
function contains(sorted: Uint32Array, key: number): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v === key) return true;
    if (v < key) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * @example
 * const index = FingerprintIndex.open('state/fingerprints.sqlite');
 * const earlier = index.query(fp); // [{ datasetId, overlap, … }] largest overlap first
 * index.add('uid7:5F…:4f2c…', fp);
 * index.close();
 */
export class FingerprintIndex {
  /** Prepared statements by SQL text. */
  private readonly statement: (sql: string) => Database.Statement;

  private constructor(private readonly db: Database.Database, readonly path: string) {
    this.statement = statementCache(db);
  }

  /** Open (creating if needed) the index at `path`; `:memory:` for a throw-away one. */
  static open(path: string): FingerprintIndex {
    let db: Database.Database;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
    } catch (err) {
      throw new FlockError(`cannot open the fingerprint index ${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      db.pragma('page_size = 65536'); // big pages: sketches are ~1 MB blobs (no effect on an existing file)
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec(`
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS datasets (
          id INTEGER PRIMARY KEY,
          dataset_id TEXT NOT NULL,
          identity TEXT NOT NULL,
          rows INTEGER NOT NULL,
          added_at TEXT NOT NULL,
          signature BLOB NOT NULL,
          sketch BLOB NOT NULL,
          row_keys BLOB,
          UNIQUE (dataset_id, identity)
        );`);
      // files made before the row keys were kept: add the column (their entries have none until stored again)
      const columns = (db.prepare('PRAGMA table_info(datasets)').all() as { name: string }[]).map((c) => c.name);
      if (!columns.includes('row_keys')) db.exec('ALTER TABLE datasets ADD COLUMN row_keys BLOB');
      const scheme = `${SCHEMA_VERSION}/${NEAR_SCHEME.name}/${NEAR_SCHEME.shingle}/${NEAR_SCHEME.bins}/${NEAR_SCHEME.bands}x${NEAR_SCHEME.rowsPerBand}/${NEAR_SCHEME.shortText}`;
      const row = db.prepare('SELECT value FROM meta WHERE key = ?').get('scheme') as { value: string } | undefined;
      if (!row) db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('scheme', scheme);
      else if (row.value !== scheme) {
        throw new FlockError(`the fingerprint index ${path} was built with another fingerprint scheme (${row.value}, this version uses ${scheme})`, { hint: 'rebuild it from the datasets, or open it with the version that made it' });
      }
    } catch (err) {
      db.close();
      if (err instanceof FlockError) throw err;
      throw new FlockError(`cannot use the fingerprint index ${path}: ${(err as Error).message}`, { cause: err, hint: 'is it a fingerprint index (an SQLite file made by flock)?' });
    }
    return new FingerprintIndex(db, path);
  }

  /** Goes up with every change made through this object (callers cache query results against it). */
  generation = 0;

  /** Store a dataset's fingerprints under `datasetId` (replacing an entry with the same id and identity). */
  add(datasetId: string, fp: DatasetFingerprints): void {
    if (typeof datasetId !== 'string' || datasetId === '') throw new FlockError('a dataset id must be a non-empty string');
    const sketch = Sketch.fromFingerprints(fp);
    const signature = u32Bytes(datasetSignature(sketch));
    this.run(() => this.statement(`INSERT INTO datasets (dataset_id, identity, rows, added_at, signature, sketch, row_keys) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (dataset_id, identity) DO UPDATE SET rows = excluded.rows, added_at = excluded.added_at, signature = excluded.signature, sketch = excluded.sketch, row_keys = excluded.row_keys`)
      .run(datasetId, fp.identity, fp.rows, new Date().toISOString(), signature, sketch.serialize(), rowKeyBytes(fp)));
    this.generation++;
  }

  /**
   * True when a dataset with this id (and identity, when given) is stored with everything a query
   * needs. An entry from before row keys were kept counts as absent, so callers store it again.
   */
  has(datasetId: string, identity?: string): boolean {
    return this.run(() => identity === undefined
      ? this.statement('SELECT 1 FROM datasets WHERE dataset_id = ? AND row_keys IS NOT NULL').get(datasetId) !== undefined
      : this.statement('SELECT 1 FROM datasets WHERE dataset_id = ? AND identity = ? AND row_keys IS NOT NULL').get(datasetId, identity) !== undefined);
  }

  /** Remove every entry with this id; returns how many were removed. */
  remove(datasetId: string): number {
    this.generation++;
    return this.run(() => this.statement('DELETE FROM datasets WHERE dataset_id = ?').run(datasetId).changes);
  }

  /** The stored datasets, oldest first. */
  list(): IndexedDataset[] {
    return this.run(() => (this.statement('SELECT dataset_id, identity, rows, added_at FROM datasets ORDER BY id').all() as
      { dataset_id: string; identity: string; rows: number; added_at: string }[])
      .map((r) => ({ datasetId: r.dataset_id, identity: r.identity, rows: r.rows, addedAt: r.added_at })));
  }

  /**
   * Stored datasets that `fp`'s rows overlap, with O(fp, stored) and, in the other direction, how
   * many of the stored dataset's rows match `fp`'s (C(fp, stored) = that ÷ its rows). Sorted by
   * O (largest first), then C, then id.
   */
  query(fp: DatasetFingerprints, options: QueryOptions = {}): IndexMatch[] {
    const exclude = new Set(options.excludeIds ?? []);
    const min = options.minOverlap ?? 0;
    const matcher = new RowMatcher(fp);
    const mySketch = Sketch.fromFingerprints(fp);
    const mine = datasetSignature(mySketch);
    const out: IndexMatch[] = [];
    this.run(() => {
      const candidates: { id: number; dataset_id: string; identity: string; rows: number }[] = [];
      const all = this.statement('SELECT id, dataset_id, identity, rows, signature FROM datasets ORDER BY id');
      for (const r of all.iterate() as IterableIterator<{ id: number; dataset_id: string; identity: string; rows: number; signature: Buffer }>) {
        if (!exclude.has(r.dataset_id) && signaturesMeet(mine, r.signature)) candidates.push(r);
      }
      const stored = this.statement('SELECT sketch, row_keys FROM datasets WHERE id = ?');
      for (const c of candidates) {
        const { sketch, row_keys: rowKeys } = stored.get(c.id) as { sketch: Buffer; row_keys: Buffer | null };
        const { exact, matched } = matcher.match(Sketch.deserialize(sketch));
        if (matched === 0) continue;
        const o = fp.rows === 0 ? 0 : matched / fp.rows;
        let storedMatched: number | null = null;
        let containment: number | null = null;
        if (rowKeys !== null) {
          storedMatched = storedRowsMatching(c.rows, rowKeys, mySketch, `fingerprint index ${this.path}, dataset ${c.dataset_id}`);
          containment = c.rows === 0 ? 0 : storedMatched / c.rows;
        }
        if (Math.max(o, containment ?? 0) >= min) {
          out.push({ datasetId: c.dataset_id, identity: c.identity, rows: c.rows, overlap: o, exact, matched, storedMatched, containment });
        }
      }
    });
    return out.sort((a, b) => b.overlap - a.overlap || (b.containment ?? 0) - (a.containment ?? 0) || (a.datasetId < b.datasetId ? -1 : a.datasetId > b.datasetId ? 1 : 0));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }


  /** Run a database step, turning SQLite errors into FlockError. */
  private run<T>(f: () => T): T {
    try {
      return f();
    } catch (err) {
      if (err instanceof FlockError) throw err;
      throw new FlockError(`fingerprint index ${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }
}
