/** Small HTTP helpers for the local hub: JSON replies, Hub-style errors, bounded body reads. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error that becomes an HTTP reply: status, `X-Error-Code` (as the Hub sends) and message. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly code?: string) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, { error: err.message }, err.code ? { 'X-Error-Code': err.code } : {});
}

/** Read a whole (small) body; 413 past `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw new HttpError(413, `request body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const body = await readBody(req, limit);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
}

/**
 * Lines of an NDJSON body, parsed one at a time as they arrive, so the body is never held whole;
 * 413 for a line longer than `maxLine` bytes or a body over `maxTotal`.
 */
export async function* ndjsonLines(req: IncomingMessage, maxLine: number, maxTotal: number): AsyncGenerator<unknown> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let total = 0;
  const parse = (buf: Buffer): unknown => {
    const text = buf.toString('utf8').trim();
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new HttpError(400, 'commit body is not valid NDJSON');
    }
  };
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxTotal) throw new HttpError(413, `commit body is larger than ${maxTotal} bytes`);
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      pending.push(chunk.subarray(start, nl));
      const line = parse(Buffer.concat(pending));
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
      if (line !== undefined) yield line;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > maxLine) throw new HttpError(413, `a commit line is longer than ${maxLine} bytes`);
    }
  }
  if (pending.length > 0) {
    const line = parse(Buffer.concat(pending));
    if (line !== undefined) yield line;
  }
}

/** Parse a single-range `Range: bytes=…` header against a size; null = whole file, 'invalid' = 416. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'invalid' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'invalid';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'invalid';
  return { start, end };
}
