/**
 * Bounded streaming JSONL reader.
 *
 * Reads the file in fixed 1 MiB chunks and splits it into lines itself, so memory stays bounded
 * whatever the input: a line longer than `maxLineBytes` is dropped piece by piece as it streams
 * past (a 64 MiB line costs no more memory than a short one) and reported as an error. Each line
 * is checked as UTF-8 (strictly: invalid bytes are an error, not replaced), a leading BOM and CRLF
 * line ends are tolerated, blank lines are skipped, nesting deeper than `maxDepth` is refused
 * before `JSON.parse` sees it. Problems are yielded as items with their line number; only I/O
 * failures (missing file, a folder) throw, as `FlockError`.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { FlockError } from '../util/errors.js';
import { formatBytes, resolveLimits, type DatasetLimits } from './limits.js';

/** One item of a JSONL file: a parsed row, a problem on a line, or the end of the file. */
export type JsonlItem =
  | { kind: 'row'; line: number; value: unknown }
  | { kind: 'error'; line: number; message: string }
  | { kind: 'end'; lines: number; rows: number; bytes: number; truncated: boolean };

const CHUNK_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * Stream the rows of a JSONL file with their line numbers.
 *
 * @example
 * for await (const item of readJsonlRows('data.jsonl', { maxRows: 1000 })) {
 *   if (item.kind === 'row') use(item.value); else if (item.kind === 'error') report(item.line, item.message);
 * }
 */
export async function* readJsonlRows(path: string, limits: Partial<DatasetLimits> = {}): AsyncGenerator<JsonlItem> {
  const lim = resolveLimits(limits);
  const fh = await openForReading(path);
  try {
    const st = await fh.stat().catch((err: Error) => { throw new FlockError(`cannot read ${path}: ${err.message}`, { cause: err }); });
    if (!st.isFile()) throw new FlockError(`${path} is not a file`, { hint: 'pass the path of a .jsonl file' });
    if (st.size > lim.maxFileBytes) {
      yield { kind: 'error', line: 1, message: `the file is ${formatBytes(st.size)} (${st.size} bytes), over the limit of ${formatBytes(lim.maxFileBytes)}; refused without reading it` };
      yield { kind: 'end', lines: 0, rows: 0, bytes: 0, truncated: false };
      return;
    }
    yield* splitLines(fh, lim, path);
  } finally {
    await fh.close().catch(() => undefined); // nothing was written: a failed close loses nothing
  }
}

async function openForReading(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : (err as Error).message;
    throw new FlockError(`cannot read ${path}: ${why}`, { cause: err });
  }
}

async function* splitLines(fh: FileHandle, lim: DatasetLimits, path: string): AsyncGenerator<JsonlItem> {
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let pending: Buffer[] = []; // pieces of the current line from earlier chunks (copied)
  let pendingBytes = 0;
  let overlong = false; // the current line passed maxLineBytes: its bytes are being dropped
  let lineNo = 0;
  let rows = 0;
  let bytes = 0;
  let truncated = false;

  // Handles one complete line; returns false once maxRows is reached.
  const finish = function* (body: Buffer | null): Generator<JsonlItem, boolean> {
    lineNo++;
    const item: JsonlItem | null = body === null
      ? { kind: 'error', line: lineNo, message: `the line is longer than ${formatBytes(lim.maxLineBytes)} (the line limit); refused without reading it whole` }
      : parseLine(body, lineNo, lim);
    if (item === null) return true; // blank line
    if (lim.maxRows !== undefined && rows >= lim.maxRows) { truncated = true; return false; }
    rows++;
    yield item;
    return true;
  };

  for (;;) {
    let n: number;
    try {
      ({ bytesRead: n } = await fh.read(chunk, 0, CHUNK_BYTES, null));
    } catch (err) {
      throw new FlockError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
    if (n === 0) break;
    bytes += n;
    if (bytes > lim.maxFileBytes) {
      yield { kind: 'error', line: lineNo + 1, message: `the file grew past the limit of ${formatBytes(lim.maxFileBytes)} while being read; stopped here` };
      break;
    }
    const data = chunk.subarray(0, n);
    let start = 0;
    for (;;) {
      const nl = data.indexOf(NEWLINE, start);
      if (nl < 0) break;
      const piece = data.subarray(start, nl);
      start = nl + 1;
      const tooLong = overlong || pendingBytes + piece.length > lim.maxLineBytes;
      const body = tooLong ? null : pendingBytes === 0 ? piece : Buffer.concat([...pending, piece]);
      pending = [];
      pendingBytes = 0;
      overlong = false;
      if (!(yield* finish(body))) return yield endItem();
    }
    if (start < n && !overlong) {
      const rest = data.subarray(start);
      if (pendingBytes + rest.length > lim.maxLineBytes) {
        overlong = true;
        pending = [];
        pendingBytes = 0;
      } else {
        pending.push(Buffer.from(rest)); // the chunk buffer is reused: copy
        pendingBytes += rest.length;
      }
    }
  }
  if (overlong || pendingBytes > 0) {
    yield* finish(overlong ? null : Buffer.concat(pending));
  }
  if (rows === 0 && !truncated) {
    yield { kind: 'error', line: Math.max(1, lineNo), message: lineNo === 0 ? 'the file is empty: a dataset needs at least one row' : 'the file holds only blank lines: a dataset needs at least one row' };
  }
  yield endItem();

  function endItem(): JsonlItem {
    return { kind: 'end', lines: lineNo, rows, bytes, truncated };
  }
}

/** Decode and parse one line; null for a blank line. */
function parseLine(raw: Buffer, line: number, lim: DatasetLimits): JsonlItem | null {
  let body = raw;
  if (line === 1 && body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) body = body.subarray(3);
  if (body.length > 0 && body[body.length - 1] === CR) body = body.subarray(0, body.length - 1);
  if (isBlank(body)) return null;
  if (!isUtf8(body)) return { kind: 'error', line, message: `invalid UTF-8 at byte ${firstInvalidUtf8(body)} of the line` };
  const text = body.toString('utf8');
  if (bracketsExceed(body, lim.maxDepth) && nestingExceeds(text, lim.maxDepth)) return { kind: 'error', line, message: `JSON nested deeper than ${lim.maxDepth} levels` };
  try {
    return { kind: 'row', line, value: JSON.parse(text) };
  } catch (err) {
    return { kind: 'error', line, message: `invalid JSON: ${(err as Error).message}` };
  }
}

function isBlank(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x09 && c !== CR) return false;
  }
  return true;
}

/** Offset (1-based) of the first byte that makes the buffer invalid UTF-8 (only called on invalid input). */
function firstInvalidUtf8(b: Buffer): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > b.length || !isUtf8(b.subarray(i, i + len))) return i + 1;
    i += len;
  }
  return b.length;
}

/** Cheap pre-check (native byte search): more than `max` opening brackets in the line at all? */
function bracketsExceed(b: Buffer, max: number): boolean {
  let n = 0;
  for (const ch of [0x5b, 0x7b]) {
    let i = b.indexOf(ch);
    while (i >= 0) {
      if (++n > max) return true;
      i = b.indexOf(ch, i + 1);
    }
  }
  return false;
}

/**
 * True when the JSON text nests arrays/objects deeper than `max` (brackets inside strings do not
 * count). Checked before parsing so absurd nesting gets a clear message.
 */
export function nestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped char
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) { if (++depth > max) return true; }
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
