/**
 * The devnet's persistent state: every storage write is kept per block (key, block) → value, so a
 * client can read any key at any past block hash, and each block is written in one SQLite
 * transaction together with its header and extrinsics — a block is on disk whole or not at all.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { u8aToHex, hexToU8a } from '@polkadot/util';

export interface StoredBlock {
  number: number;
  hash: string;
  /** SCALE-encoded header, hex. */
  header: string;
  /** SCALE-encoded extrinsics, hex each. */
  extrinsics: string[];
}

/** A block's storage changes: hex key → bytes (null = deleted). */
export type ChangeSet = Map<string, Uint8Array | null>;

/** SQLite-backed versioned key/value store plus the block list. */
export class BlockStore {
  readonly db: Database.Database;
  private readonly qLatest: Database.Statement;
  private readonly qAt: Database.Statement;
  private readonly qPut: Database.Statement;
  private readonly qBlockByNumber: Database.Statement;
  private readonly qBlockByHash: Database.Statement;
  private readonly qBest: Database.Statement;
  private readonly qPutBlock: Database.Statement;
  private readonly qKeysAt: Database.Statement;
  private readonly qHash: Database.Statement;
  private readonly qNumber: Database.Statement;
  private readonly qHeader: Database.Statement;

  /** Open (or create) `dir/devnet.sqlite`; `dir` undefined = an in-memory database. */
  constructor(dir?: string) {
    if (dir) mkdirSync(dir, { recursive: true });
    this.db = new Database(dir ? join(dir, 'devnet.sqlite') : ':memory:');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS storage (key BLOB NOT NULL, block INTEGER NOT NULL, value BLOB,
        PRIMARY KEY (key, block)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE,
        header TEXT NOT NULL, extrinsics TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS config (k TEXT PRIMARY KEY, v TEXT NOT NULL);
    `);
    this.qLatest = this.db.prepare('SELECT value FROM storage WHERE key = ? ORDER BY block DESC LIMIT 1');
    this.qAt = this.db.prepare('SELECT value FROM storage WHERE key = ? AND block <= ? ORDER BY block DESC LIMIT 1');
    this.qPut = this.db.prepare('INSERT OR REPLACE INTO storage (key, block, value) VALUES (?, ?, ?)');
    this.qBlockByNumber = this.db.prepare('SELECT * FROM blocks WHERE number = ?');
    this.qBlockByHash = this.db.prepare('SELECT * FROM blocks WHERE hash = ?');
    this.qBest = this.db.prepare('SELECT MAX(number) AS n FROM blocks');
    this.qHash = this.db.prepare('SELECT hash FROM blocks WHERE number = ?');
    this.qNumber = this.db.prepare('SELECT number FROM blocks WHERE hash = ?');
    this.qHeader = this.db.prepare('SELECT header FROM blocks WHERE number = ? OR hash = ?');
    this.qPutBlock = this.db.prepare('INSERT INTO blocks (number, hash, header, extrinsics) VALUES (?, ?, ?, ?)');
    // Live keys under a prefix at a block, after `start`, in key order.
    this.qKeysAt = this.db.prepare(`
      SELECT s.key FROM storage s
      WHERE s.key > ? AND s.key < ? AND s.block = (SELECT MAX(block) FROM storage WHERE key = s.key AND block <= ?)
        AND s.value IS NOT NULL
      ORDER BY s.key LIMIT ?`);
  }

  /** Number of the best (latest) block, or -1 before genesis. */
  bestNumber(): number {
    const row = this.qBest.get() as { n: number | null };
    return row.n ?? -1;
  }

  /** The value of `key` at block `at` (latest when undefined); null when absent. */
  get(key: Uint8Array, at?: number): Uint8Array | null {
    const row = (at === undefined ? this.qLatest.get(key) : this.qAt.get(key, at)) as { value: Buffer | null } | undefined;
    return row?.value ? new Uint8Array(row.value) : null;
  }

  /** Up to `count` live keys starting with `prefix`, strictly after `startKey`, at block `at`. */
  keysPaged(prefix: Uint8Array, count: number, startKey: Uint8Array | undefined, at: number): Uint8Array[] {
    const start = startKey && compareBytes(startKey, prefix) > 0 ? startKey : prefixFloor(prefix);
    const end = prefixCeiling(prefix);
    const rows = this.qKeysAt.all(Buffer.from(start), Buffer.from(end), at, count) as { key: Buffer }[];
    return rows.map((r) => new Uint8Array(r.key)).filter((k) => startsWith(k, prefix));
  }

  /** Hash of block `number` (without reading its extrinsics). */
  hashOf(number: number): string | undefined {
    return (this.qHash.get(number) as { hash: string } | undefined)?.hash;
  }

  /** Number of the block with this hash. */
  numberOf(hash: string): number | undefined {
    return (this.qNumber.get(hash.toLowerCase()) as { number: number } | undefined)?.number;
  }

  /** SCALE header (hex) of a block by number or hash (without reading its extrinsics). */
  headerOf(numberOrHash: number | string): string | undefined {
    const row = (typeof numberOrHash === 'number' ? this.qHeader.get(numberOrHash, '') : this.qHeader.get(-1, numberOrHash.toLowerCase())) as { header: string } | undefined;
    return row?.header;
  }

  block(numberOrHash: number | string): StoredBlock | undefined {
    const row = (typeof numberOrHash === 'number' ? this.qBlockByNumber.get(numberOrHash) : this.qBlockByHash.get(numberOrHash.toLowerCase())) as
      { number: number; hash: string; header: string; extrinsics: string } | undefined;
    return row ? { number: row.number, hash: row.hash, header: row.header, extrinsics: JSON.parse(row.extrinsics) as string[] } : undefined;
  }

  /** Write a block and its storage changes in one transaction. */
  commitBlock(block: StoredBlock, changes: ChangeSet): void {
    this.db.transaction(() => {
      for (const [key, value] of changes) this.qPut.run(Buffer.from(hexToU8a(key)), block.number, value ? Buffer.from(value) : null);
      this.qPutBlock.run(block.number, block.hash.toLowerCase(), block.header, JSON.stringify(block.extrinsics));
    })();
  }

  getConfig(k: string): string | undefined {
    const row = this.db.prepare('SELECT v FROM config WHERE k = ?').get(k) as { v: string } | undefined;
    return row?.v;
  }

  setConfig(k: string, v: string): void {
    this.db.prepare('INSERT OR REPLACE INTO config (k, v) VALUES (?, ?)').run(k, v);
  }

  close(): void {
    this.db.close();
  }
}

/** An uncommitted layer over the store: reads fall through, writes stay until `changes()` is taken. */
export class Overlay {
  private readonly writes: ChangeSet = new Map();
  constructor(private readonly read: (key: Uint8Array) => Uint8Array | null) {}

  get(key: Uint8Array): Uint8Array | null {
    const hex = u8aToHex(key);
    if (this.writes.has(hex)) return this.writes.get(hex) ?? null;
    return this.read(key);
  }

  put(key: Uint8Array, value: Uint8Array | null): void {
    this.writes.set(u8aToHex(key), value);
  }

  /** A nested layer whose writes land here only on `commitInto()` (a failed call is rolled back by dropping it). */
  child(): Overlay {
    return new Overlay((k) => this.get(k));
  }

  commitInto(parent: Overlay): void {
    for (const [k, v] of this.writes) parent.writes.set(k, v);
  }

  changes(): ChangeSet {
    return this.writes;
  }
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

/** Largest key sorting before every key with this prefix (the prefix minus nothing: keys are > it). */
function prefixFloor(prefix: Uint8Array): Uint8Array {
  return prefix.length === 0 ? new Uint8Array(0) : prefix.slice(0, prefix.length);
}

/** Smallest byte string greater than every key with this prefix. */
function prefixCeiling(prefix: Uint8Array): Uint8Array {
  const out = prefix.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) { out[i] = out[i]! + 1; return out.slice(0, i + 1); }
  }
  return new Uint8Array(Array(64).fill(0xff));
}
