import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { twoWayOverlap } from '../../src/dataset/containment.js';
import { FingerprintIndex } from '../../src/dataset/fingerprint-index.js';
import { fingerprintRows } from '../../src/dataset/fingerprint-rows.js';
import type { DatasetFingerprints } from '../../src/dataset/sketch.js';
import { FlockError } from '../../src/util/errors.js';
import { makeRows, recased, shuffled, wordEdited } from './synthetic.js';

let dir: string;
let open: FingerprintIndex[] = [];
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'flock-index-')); return () => rmSync(dir, { recursive: true, force: true }); });
afterEach(() => { open.forEach((i) => i.close()); open = []; });
const openIndex = (name: string) => { const i = FingerprintIndex.open(join(dir, name)); open.push(i); return i; };

describe('FingerprintIndex', () => {
  const a = makeRows(100, 300, 600);
  const b = makeRows(101, 300, 600);
  const c = makeRows(102, 300, 600);
  const fpA = fingerprintRows(a);
  const fpB = fingerprintRows(b);
  const fpC = fingerprintRows(c);

  it('answers which stored datasets a new one overlaps, and by how much, largest first', () => {
    const index = openIndex('q.sqlite');
    index.add('uid1', fpA);
    index.add('uid2', fpB);
    index.add('uid3', fpC);
    // half of A (re-cased, shuffled) + a quarter of B + new rows
    const mixed = fingerprintRows(shuffled([...recased(a.slice(0, 150)), ...b.slice(0, 75), ...makeRows(103, 75, 600)]));
    const res = index.query(mixed);
    expect(res.map((r) => [r.datasetId, r.overlap])).toEqual([['uid1', 0.5], ['uid2', 0.25]]);
    expect(res[1]).toMatchObject({ identity: fpB.identity, rows: 300, exact: 75, matched: 75 });
  });

  it('finds an identical dataset (O = 1), a shuffled copy and an edited copy', () => {
    const index = openIndex('copies.sqlite');
    index.add('orig', fpA);
    index.add('other', fpB);
    expect(index.query(fpA)).toEqual([{ datasetId: 'orig', identity: fpA.identity, rows: 300, overlap: 1, exact: 300, matched: 300, storedMatched: 300, containment: 1 }]);
    expect(index.query(fingerprintRows(shuffled(a)))[0]).toMatchObject({ datasetId: 'orig', overlap: 1 });
    const edited = index.query(fingerprintRows(wordEdited(a, 0.1)));
    expect(edited.map((r) => r.datasetId)).toEqual(['orig']);
    expect(edited[0]!.overlap).toBeGreaterThan(0.6);
  });

  it('reports nothing for an unrelated dataset', () => {
    const index = openIndex('unrelated.sqlite');
    index.add('a', fpA);
    index.add('b', fpB);
    expect(index.query(fpC)).toEqual([]);
  });

  it('persists across reopening, keys entries by id and identity, and can exclude and remove', () => {
    const path = 'persist.sqlite';
    const first = openIndex(path);
    first.add('uid1', fpA);
    first.add('uid1', fpA); // same id and identity: one entry
    first.add('uid2', fpA); // same data under another id
    first.close();
    const again = openIndex(path);
    expect(again.list().map((d) => [d.datasetId, d.identity, d.rows])).toEqual([['uid1', fpA.identity, 300], ['uid2', fpA.identity, 300]]);
    expect(again.has('uid1')).toBe(true);
    expect(again.has('uid1', fpB.identity)).toBe(false);
    expect(again.query(fpA).map((r) => r.datasetId)).toEqual(['uid1', 'uid2']);
    expect(again.query(fpA, { excludeIds: ['uid1'] }).map((r) => r.datasetId)).toEqual(['uid2']);
    expect(again.query(fpA, { minOverlap: 1.01 })).toEqual([]);
    expect(again.remove('uid2')).toBe(1);
    expect(again.query(fpA).map((r) => r.datasetId)).toEqual(['uid1']);
  });

  it('answers the other direction too: how much of each stored dataset the query holds, as twoWayOverlap measures it', () => {
    const index = openIndex('both.sqlite');
    index.add('small', fpA);
    index.add('b', fpB);
    // all of A (edited a little) inside twice as many new rows, and a few rows of B
    const later = [...wordEdited(a, 0.05), ...makeRows(104, 600, 600), ...b.slice(0, 10)];
    const fpLater = fingerprintRows(shuffled(later));
    const res = index.query(fpLater);
    expect(res.map((r) => r.datasetId)).toEqual(['small', 'b']);
    for (const [r, stored] of [[res[0]!, fpA], [res[1]!, fpB]] as const) {
      const o = twoWayOverlap(fpLater, stored);
      expect(r).toMatchObject({ overlap: o.overlap, matched: o.matched, exact: o.exact, storedMatched: o.otherMatched, containment: o.containment });
    }
    expect(res[0]!.overlap).toBeLessThan(0.5);
    expect(res[0]!.containment).toBeGreaterThan(0.9);
    expect(res[1]!.storedMatched).toBe(10);
    // minOverlap keeps a dataset that reaches it in either direction
    expect(index.query(fpLater, { minOverlap: 0.5 }).map((r) => r.datasetId)).toEqual(['small']);
  });

  it('upgrades a file made before row keys were kept: the column is added, old entries count as absent until stored again', () => {
    const path = join(dir, 'legacy.sqlite');
    const db = new Database(path);
    db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE datasets (id INTEGER PRIMARY KEY, dataset_id TEXT NOT NULL, identity TEXT NOT NULL, rows INTEGER NOT NULL,
        added_at TEXT NOT NULL, signature BLOB NOT NULL, sketch BLOB NOT NULL, UNIQUE (dataset_id, identity));`);
    db.close();
    const fresh = openIndex('legacy.sqlite');
    fresh.add('old', fpA);
    fresh.close();
    // an entry as the earlier version wrote it: no row keys
    const raw = new Database(path);
    raw.prepare('UPDATE datasets SET row_keys = NULL').run();
    raw.close();
    const index = openIndex('legacy.sqlite');
    expect(index.has('old', fpA.identity)).toBe(false);
    expect(index.list().map((d) => d.datasetId)).toEqual(['old']);
    expect(index.query(fpA)).toEqual([expect.objectContaining({ datasetId: 'old', overlap: 1, storedMatched: null, containment: null })]);
    index.add('old', fpA);
    expect(index.has('old', fpA.identity)).toBe(true);
    expect(index.query(fpA)[0]).toMatchObject({ storedMatched: 300, containment: 1 });
  });

  it('counts its changes in generation, so cached query results know when to go stale', () => {
    const index = openIndex('g.sqlite');
    const g0 = index.generation;
    index.add('uid1', fpA);
    expect(index.generation).toBe(g0 + 1);
    index.query(fpB);
    index.has('uid1');
    index.list();
    expect(index.generation).toBe(g0 + 1); // reads change nothing
    index.remove('uid1');
    expect(index.generation).toBe(g0 + 2);
  });

  it('uses WAL journaling', () => {
    const index = openIndex('wal.sqlite');
    index.add('x', fpC);
    // the -wal file exists while a connection in WAL mode is open
    expect(existsSync(join(dir, 'wal.sqlite-wal'))).toBe(true);
  });

  it('throws FlockError for a file that is not an index, and for bad fingerprints', () => {
    writeFileSync(join(dir, 'junk.sqlite'), 'this is not a database, just text that is long enough to be read as a header.'.repeat(10));
    expect(() => openIndex('junk.sqlite')).toThrow(FlockError);
    const index = openIndex('bad.sqlite');
    const broken: DatasetFingerprints = { identity: 'x', rows: 5, exact: new Uint32Array(2), bands: new Uint32Array(3) };
    expect(() => index.add('bad', broken)).toThrow(FlockError);
    expect(() => index.add('', fpA)).toThrow(/non-empty/);
  });
});
