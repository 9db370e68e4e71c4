/**
 * One streaming pass over a dataset file: read (bounded), validate, canonicalise, hash and
 * fingerprint every row, and gather statistics. Memory per valid row is about 125 bytes (hash,
 * fingerprints, line, length) unless the canonical rows are asked for.
 *
 * Errors are `file:line: message`; the first 50 are kept, all are counted. A dataset is valid when
 * there are none.
 */
import type { CanonicalRow } from './canonical.js';
import { rowHashBytes } from './canonical.js';
import { BAND_COUNT, nearFingerprint } from './fingerprint.js';
import { GrowableU32 } from './growable.js';
import { RowHashList } from './identity.js';
import type { DatasetLimits } from './limits.js';
import { readJsonlRows } from './reader.js';
import { checkRow } from './schema.js';
import type { DatasetFingerprints } from './sketch.js';
import { StatsCollector, type DatasetStats } from './stats.js';

/** How many error messages are kept (all are counted). */
export const MAX_ERRORS_KEPT = 50;

export interface ScanOptions {
  limits?: Partial<DatasetLimits>;
  /** Keep the canonical rows in memory (`rows` of the result). */
  keepRows?: boolean;
  /** Called for every valid row, in file order (`index` counts valid rows from 0). */
  onRow?: (row: CanonicalRow, line: number, index: number) => void;
}

export interface DatasetScan {
  path: string;
  /** True when the file has no errors. */
  valid: boolean;
  /** The first `MAX_ERRORS_KEPT` errors, as `file:line: message`. */
  errors: string[];
  errorCount: number;
  /** Lines read, bytes read. */
  lines: number;
  bytes: number;
  /** Rows past `limits.maxRows` were ignored. */
  truncated: boolean;
  /** Line number of each valid row. */
  rowLines: Uint32Array;
  /** Row hashes of the valid rows, in file order. */
  hashes: RowHashList;
  /** Fingerprints of the valid rows (identity included). */
  fingerprints: DatasetFingerprints;
  stats: DatasetStats;
  /** The canonical rows when `keepRows` was set. */
  rows?: CanonicalRow[];
}

/**
 * Read and analyse a dataset file in one bounded pass. Throws only `FlockError` (file missing or
 * unreadable); everything wrong inside the file is in `errors`.
 *
 * @example
 * const scan = await scanDataset('data.jsonl', { limits: { maxRows: 10_000 } });
 * if (!scan.valid) console.error(scan.errors.join('\n'));
 */
export async function scanDataset(path: string, options: ScanOptions = {}): Promise<DatasetScan> {
  const errors: string[] = [];
  let errorCount = 0;
  const addError = (line: number, message: string) => {
    errorCount++;
    if (errors.length < MAX_ERRORS_KEPT) errors.push(`${path}:${line}: ${message}`);
  };
  const hashes = new RowHashList();
  const exact = new GrowableU32();
  const bands = new GrowableU32();
  const lines = new GrowableU32();
  const stats = new StatsCollector();
  const rows: CanonicalRow[] | undefined = options.keepRows ? [] : undefined;
  const band = new Uint32Array(BAND_COUNT);
  let end = { lines: 0, bytes: 0, truncated: false };

  for await (const item of readJsonlRows(path, options.limits)) {
    if (item.kind === 'end') { end = item; break; }
    if (item.kind === 'error') { addError(item.line, item.message); continue; }
    const checked = checkRow(item.value);
    if (!checked.ok) { for (const m of checked.errors) addError(item.line, m); continue; }
    const row = checked.row;
    const h = rowHashBytes(row);
    hashes.push(h);
    exact.push(h.readUInt32BE(0));
    bands.pushAll(nearFingerprint(row, band));
    lines.push(item.line);
    stats.add(row);
    rows?.push(row);
    options.onRow?.(row, item.line, lines.length - 1);
  }

  return {
    path,
    valid: errorCount === 0,
    errors,
    errorCount,
    lines: end.lines,
    bytes: end.bytes,
    truncated: end.truncated,
    rowLines: lines.toArray(),
    hashes,
    fingerprints: { identity: hashes.identity(), rows: hashes.length, exact: exact.toArray(), bands: bands.toArray() },
    stats: stats.result(),
    rows,
  };
}

/** The errors as printed: the kept ones, then `… and N more errors` when some were left out. */
export function formatErrors(scan: Pick<DatasetScan, 'errors' | 'errorCount'>): string[] {
  const out = [...scan.errors];
  if (scan.errorCount > scan.errors.length) out.push(`… and ${scan.errorCount - scan.errors.length} more errors`);
  return out;
}

export interface ValidatedDataset {
  /** Canonical rows, in file order (empty when the file has errors). */
  rows: CanonicalRow[];
  /** Line of each row. */
  lines: number[];
  errors: string[];
  errorCount: number;
  /** Dataset identity (hex) over the rows. */
  identity: string;
  fingerprints: DatasetFingerprints;
  truncated: boolean;
}

/**
 * Read and validate a dataset file into canonical rows (the validator's dataset gate, scoring
 * step 2). Any error means the dataset is rejected: `rows` is then empty.
 *
 * @example
 * const { rows, errors, errorCount } = await validateDataset('data.jsonl', { maxRows: 10_000, maxFileBytes: 50e6 });
 */
export async function validateDataset(path: string, limits: Partial<DatasetLimits> = {}): Promise<ValidatedDataset> {
  const scan = await scanDataset(path, { limits, keepRows: true });
  return {
    rows: scan.valid ? scan.rows! : [],
    lines: scan.valid ? Array.from(scan.rowLines) : [],
    errors: scan.errors,
    errorCount: scan.errorCount,
    identity: scan.fingerprints.identity,
    fingerprints: scan.fingerprints,
    truncated: scan.truncated,
  };
}

/** Same as `scanDataset` with the canonical rows kept. */
export function readDataset(path: string, limits: Partial<DatasetLimits> = {}): Promise<DatasetScan> {
  return scanDataset(path, { limits, keepRows: true });
}
