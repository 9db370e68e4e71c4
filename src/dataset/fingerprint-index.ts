/**
 * The persistent fingerprint index: every dataset committed in a competition, kept as a sketch
 * (sorted distinct exact-hash prefixes and LSH band keys, see `sketch.ts`) in one SQLite file, so
 * "which earlier datasets does this one overlap, and by how much" (scoring step 4) is answered
 * without re-reading any of them.
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
 * SQLite in WAL mode, so other processes can read while the validator writes.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { FlockError } from '../util/errors.js';
import { statementCache } from '../util/sqlite.js';
import { fmix32, NEAR_SCHEME } from './fingerprint.js';
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
  /** Report only overlaps ≥ this (default: anything above 0). */
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
          UNIQUE (dataset_id, identity)
        );`);
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
    this.run(() => this.statement(`INSERT INTO datasets (dataset_id, identity, rows, added_at, signature, sketch) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (dataset_id, identity) DO UPDATE SET rows = excluded.rows, added_at = excluded.added_at, signature = excluded.signature, sketch = excluded.sketch`)
      .run(datasetId, fp.identity, fp.rows, new Date().toISOString(), signature, sketch.serialize()));
    this.generation++;
  }

  /** True when a dataset with this id (and identity, when given) is stored. */
  has(datasetId: string, identity?: string): boolean {
    return this.run(() => identity === undefined
      ? this.statement('SELECT 1 FROM datasets WHERE dataset_id = ?').get(datasetId) !== undefined
      : this.statement('SELECT 1 FROM datasets WHERE dataset_id = ? AND identity = ?').get(datasetId, identity) !== undefined);
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
   * Stored datasets that `fp`'s rows overlap, with O(fp, stored), sorted by overlap (largest
   * first, then id).
   */
  query(fp: DatasetFingerprints, options: QueryOptions = {}): IndexMatch[] {
    const exclude = new Set(options.excludeIds ?? []);
    const min = options.minOverlap ?? 0;
    const matcher = new RowMatcher(fp);
    const mine = datasetSignature(Sketch.fromFingerprints(fp));
    const out: IndexMatch[] = [];
    this.run(() => {
      const candidates: { id: number; dataset_id: string; identity: string; rows: number }[] = [];
      const all = this.statement('SELECT id, dataset_id, identity, rows, signature FROM datasets ORDER BY id');
      for (const r of all.iterate() as IterableIterator<{ id: number; dataset_id: string; identity: string; rows: number; signature: Buffer }>) {
        if (!exclude.has(r.dataset_id) && signaturesMeet(mine, r.signature)) candidates.push(r);
      }
      const sketchOf = this.statement('SELECT sketch FROM datasets WHERE id = ?').pluck();
      for (const c of candidates) {
        const { exact, matched } = matcher.match(Sketch.deserialize(sketchOf.get(c.id) as Buffer));
        const o = fp.rows === 0 ? 0 : matched / fp.rows;
        if (matched > 0 && o >= min) out.push({ datasetId: c.dataset_id, identity: c.identity, rows: c.rows, overlap: o, exact, matched });
      }
    });
    return out.sort((a, b) => b.overlap - a.overlap || (a.datasetId < b.datasetId ? -1 : a.datasetId > b.datasetId ? 1 : 0));
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
