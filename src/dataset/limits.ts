/**
 * Bounds on what the dataset reader accepts. Nothing is read into memory without one of these:
 * a line longer than `maxLineBytes` is skipped while it streams past (never held whole), a file
 * over `maxFileBytes` is refused before reading, and rows past `maxRows` are ignored (first rows kept).
 */
export interface DatasetLimits {
  /** Largest file accepted, in bytes (a competition's `maxBytes`). */
  maxFileBytes: number;
  /** Longest line accepted, in bytes (a CR before the LF counts, the LF does not). */
  maxLineBytes: number;
  /** Rows past this many are ignored; `undefined` keeps every row. */
  maxRows?: number;
  /** Deepest JSON nesting accepted in a row (a valid row needs 3: row → conversations → turn). */
  maxDepth: number;
}

export const DEFAULT_LIMITS: Readonly<DatasetLimits> = Object.freeze({
  maxFileBytes: 4 * 1024 ** 3,
  maxLineBytes: 4 * 1024 ** 2,
  maxRows: undefined,
  maxDepth: 16,
});

/** Defaults with the given limits applied (unset fields keep their default). */
export function resolveLimits(limits: Partial<DatasetLimits> = {}): DatasetLimits {
  const out: DatasetLimits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(limits) as [keyof DatasetLimits, number | undefined][]) {
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** `1.5 MiB`-style size for messages. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}
