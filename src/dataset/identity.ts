/**
 * Dataset identity: SHA-256 over the dataset's row hashes sorted in byte order (each as 32 raw
 * bytes, concatenated). Row order therefore never makes a new dataset; duplicated rows count.
 * The same sort gives the exact duplicates inside a file.
 */
import { createHash } from 'node:crypto';
import { FlockError } from '../util/errors.js';
import { GrowableRecords } from './growable.js';

const HASH_BYTES = 32;

/**
 * Identity of a dataset from its row hashes (hex, as `rowHash` returns them).
 *
 * @example
 * datasetIdentity(rows.map(rowHash)) // same for any order of `rows`
 */
export function datasetIdentity(rowHashes: Iterable<string>): string {
  const list = new RowHashList();
  for (const h of rowHashes) {
    if (!/^[0-9a-f]{64}$/.test(h)) throw new FlockError(`not a row hash: ${JSON.stringify(h.slice(0, 80))}`, { hint: 'pass the 64-hex SHA-256 strings rowHash() returns' });
    list.push(Buffer.from(h, 'hex'));
  }
  return list.identity();
}

/** Row hashes of one dataset, kept as raw bytes (32 bytes a row) in file order. */
export class RowHashList {
  private readonly records = new GrowableRecords(HASH_BYTES);
  private sorted: Uint32Array | null = null;

  get length(): number {
    return this.records.length;
  }

  push(hash: Uint8Array): void {
    this.records.push(hash);
    this.sorted = null;
  }

  /** Row i's hash (a view). */
  at(i: number): Buffer {
    return this.records.at(i);
  }

  /** First 4 bytes of row i's hash as an unsigned integer (the index stores these). */
  prefix32(i: number): number {
    const b = this.records.data();
    const o = i * HASH_BYTES;
    return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }

  /** Byte order of the hashes of rows a and b (−, 0, +). Allocation-free: it runs inside sorts. */
  private compareRows(b: Uint8Array, x: number, y: number): number {
    const ox = x * HASH_BYTES;
    const oy = y * HASH_BYTES;
    for (let k = 0; k < HASH_BYTES; k++) {
      const d = b[ox + k]! - b[oy + k]!;
      if (d !== 0) return d;
    }
    return 0;
  }

  /** Row indices in byte order of their hashes (cached). */
  sortedOrder(): Uint32Array {
    if (this.sorted) return this.sorted;
    const n = this.records.length;
    const b = this.records.data();
    const hi = new Uint32Array(n);
    for (let i = 0; i < n; i++) hi[i] = this.prefix32(i);
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((x, y) => (hi[x]! - hi[y]!) || this.compareRows(b, x, y) || x - y);
    this.sorted = order;
    return order;
  }

  /** The dataset identity (see the module comment). */
  identity(): string {
    const h = createHash('sha256');
    const b = this.records.data();
    const stage = Buffer.alloc(HASH_BYTES * 2048); // hashed in batches, not one call a row
    let fill = 0;
    for (const i of this.sortedOrder()) {
      const o = i * HASH_BYTES;
      for (let k = 0; k < HASH_BYTES; k++) stage[fill + k] = b[o + k]!;
      fill += HASH_BYTES;
      if (fill === stage.length) { h.update(stage); fill = 0; }
    }
    h.update(stage.subarray(0, fill));
    return h.digest('hex');
  }

  /**
   * Groups of rows with equal hashes (only groups of two or more), each in file order; groups
   * ordered by their first row.
   */
  duplicateGroups(): number[][] {
    const order = this.sortedOrder();
    const b = this.records.data();
    const groups: number[][] = [];
    let i = 0;
    while (i < order.length) {
      let j = i + 1;
      while (j < order.length && this.compareRows(b, order[j]!, order[i]!) === 0) j++;
      if (j - i > 1) groups.push(Array.from(order.subarray(i, j)));
      i = j;
    }
    return groups.sort((a, b) => a[0]! - b[0]!);
  }
}
