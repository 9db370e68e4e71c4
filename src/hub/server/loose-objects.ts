/**
 * Reading git objects straight from a bare repository's loose object files
 * (`objects/ab/cdef…`, zlib of `"<type> <size>\0<content>"`), without starting a `git` process.
 *
 * Why: on a loaded machine each `git` spawn costs 100–200 ms, and serving one small file took
 * four of them (resolve, ls-tree, cat-file --batch, cat-file blob). The hub writes every object
 * with `hash-object -w` / `mktree` / `commit-tree`, which leave them loose, so the read path can
 * almost always do without git. Every function returns null when an object is not loose (packed,
 * missing, or of an unexpected kind); callers then fall back to git, which stays the authority.
 */
import { createReadStream, existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { constants, createInflate, inflateSync } from 'node:zlib';

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';

const FULL_OID = /^[0-9a-f]{40}$/;

/** Path of a loose object, or null when `oid` is not a full SHA-1. */
function objectPath(gitDir: string, oid: string): string | null {
  return FULL_OID.test(oid) ? join(gitDir, 'objects', oid.slice(0, 2), oid.slice(2)) : null;
}

function parseHeader(raw: Buffer): { type: ObjectType; size: number; bodyStart: number } | null {
  const nul = raw.indexOf(0);
  if (nul < 0) return null;
  const [type, size] = raw.subarray(0, nul).toString('latin1').split(' ');
  if (type !== 'commit' && type !== 'tree' && type !== 'blob' && type !== 'tag') return null;
  return { type, size: Number(size), bodyStart: nul + 1 };
}

/** A whole loose object (for commits, trees and small blobs), or null. */
export async function readLooseObject(gitDir: string, oid: string): Promise<{ type: ObjectType; content: Buffer } | null> {
  const file = objectPath(gitDir, oid);
  if (!file) return null;
  let raw: Buffer;
  try {
    raw = inflateSync(await readFile(file));
  } catch {
    return null;
  }
  const h = parseHeader(raw);
  if (!h || raw.length - h.bodyStart !== h.size) return null;
  return { type: h.type, content: raw.subarray(h.bodyStart) };
}

/** Type and size of a loose object from its first bytes only (blobs may be large), or null. */
export async function looseObjectHeader(gitDir: string, oid: string): Promise<{ type: ObjectType; size: number } | null> {
  const file = objectPath(gitDir, oid);
  if (!file) return null;
  try {
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(256);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      // a partial inflate: Z_SYNC_FLUSH hands back what the first bytes decode to without an error
      const raw = inflateSync(buf.subarray(0, bytesRead), { finishFlush: constants.Z_SYNC_FLUSH });
      const h = parseHeader(raw);
      return h ? { type: h.type, size: h.size } : null;
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
}

/** Stream a loose blob's content (header stripped), or null when it is not loose. */
export function streamLooseBlob(gitDir: string, oid: string): Readable | null {
  const file = objectPath(gitDir, oid);
  if (!file || !existsSync(file)) return null;
  let header: Buffer | null = Buffer.alloc(0);
  const strip = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (header === null) return done(null, chunk);
      header = Buffer.concat([header, chunk]);
      const nul = header.indexOf(0);
      if (nul < 0) return header.length > 64 ? done(new Error(`object ${oid} has no header`)) : done();
      const h = parseHeader(header);
      if (!h || h.type !== 'blob') return done(new Error(`object ${oid} is not a blob`));
      const rest = header.subarray(nul + 1);
      header = null;
      done(null, rest);
    },
  });
  const source = createReadStream(file);
  const inflate = createInflate();
  source.on('error', (err) => strip.destroy(err));
  inflate.on('error', (err) => strip.destroy(err));
  return source.pipe(inflate).pipe(strip);
}

export interface RawTreeEntry { mode: string; name: string; oid: string }

/** Parse a tree object's binary content: `<mode> <name>\0<20-byte id>` repeated. */
export function parseTree(content: Buffer): RawTreeEntry[] {
  const entries: RawTreeEntry[] = [];
  let at = 0;
  while (at < content.length) {
    const space = content.indexOf(0x20, at);
    const nul = content.indexOf(0, space);
    if (space < 0 || nul < 0 || nul + 21 > content.length) throw new Error('malformed tree object');
    entries.push({
      mode: content.subarray(at, space).toString('latin1'),
      name: content.subarray(space + 1, nul).toString('utf8'),
      oid: content.subarray(nul + 1, nul + 21).toString('hex'),
    });
    at = nul + 21;
  }
  return entries;
}

export interface ParsedCommit { tree: string; date: string; title: string }

/**
 * The tree, committer date (strict ISO 8601 in the committer's offset, as git's `%cI`) and subject
 * (first paragraph joined by spaces, as `%s`) of a commit object; null when it cannot be read.
 */
export function parseCommit(content: Buffer): ParsedCommit | null {
  const text = content.toString('utf8');
  const split = text.indexOf('\n\n');
  const headers = (split < 0 ? text : text.slice(0, split)).split('\n');
  const message = split < 0 ? '' : text.slice(split + 2);
  const tree = /^tree ([0-9a-f]{40})$/.exec(headers[0] ?? '')?.[1];
  const committer = headers.find((h) => h.startsWith('committer '));
  const when = committer ? /> (\d+) ([+-])(\d\d)(\d\d)$/.exec(committer) : null;
  if (!tree || !when || headers.some((h) => h.startsWith('encoding '))) return null;
  const offsetMin = (when[2] === '-' ? -1 : 1) * (Number(when[3]) * 60 + Number(when[4]));
  const local = new Date((Number(when[1]) + offsetMin * 60) * 1000).toISOString().slice(0, 19);
  const date = `${local}${when[2]}${when[3]}:${when[4]}`;
  const paragraph: string[] = [];
  for (const line of message.split('\n')) {
    if (line.trim() === '') {
      if (paragraph.length > 0) break;
      continue;
    }
    paragraph.push(line.trimEnd());
  }
  return { tree, date, title: paragraph.join(' ') };
}
