/** Sorting keys together with the rows they belong to. */

/** Reusable buffers for repeated `sortKeyRows` calls over the same row count. */
export class SortScratch {
  readonly keys: Uint32Array;
  readonly rows: Uint32Array;
  readonly packed: Float64Array | null;
  constructor(readonly size: number) {
    this.keys = new Uint32Array(size);
    this.rows = new Uint32Array(size);
    this.packed = size < 2 ** 21 ? new Float64Array(size) : null;
  }
}

/**
 * Sort `keys[start + i*stride]` for i in [0, rows) and return the sorted keys with their row
 * indices (ties in row order). With `scratch`, its buffers are filled and returned (no
 * allocation — callers sorting many columns keep memory flat).
 */
export function sortKeyRows(keys: Uint32Array, rows: number, stride = 1, start = 0, scratch?: SortScratch): { keys: Uint32Array; rows: Uint32Array } {
  const s = scratch && scratch.size === rows ? scratch : null;
  const outKeys = s ? s.keys : new Uint32Array(rows);
  const outRows = s ? s.rows : new Uint32Array(rows);
  if (rows < 2 ** 21) {
    // key·2²¹ + row < 2⁵³ is exact in a double: one native numeric sort, no comparator
    const packed = s?.packed ?? new Float64Array(rows);
    for (let i = 0; i < rows; i++) packed[i] = keys[start + i * stride]! * 2097152 + i;
    packed.sort();
    for (let i = 0; i < rows; i++) {
      const p = packed[i]!;
      const k = Math.floor(p / 2097152);
      outKeys[i] = k;
      outRows[i] = p - k * 2097152;
    }
  } else {
    const order = new Uint32Array(rows);
    for (let i = 0; i < rows; i++) order[i] = i;
    order.sort((a, b) => (keys[start + a * stride]! - keys[start + b * stride]!) || a - b);
    for (let i = 0; i < rows; i++) {
      outRows[i] = order[i]!;
      outKeys[i] = keys[start + order[i]! * stride]!;
    }
  }
  return { keys: outKeys, rows: outRows };
}

/** Sorted distinct values of `keys[start + i*stride]`. */
export function sortedDistinct(keys: Uint32Array, rows: number, stride = 1, start = 0): Uint32Array {
  const col = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) col[i] = keys[start + i * stride]!;
  col.sort();
  let w = 0;
  for (let i = 0; i < rows; i++) if (i === 0 || col[i] !== col[w - 1]) col[w++] = col[i]!;
  return col.slice(0, w);
}
