/** Writing JSONL outputs atomically (a temporary file beside the target, then a rename). */
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FlockError } from '../util/errors.js';

/**
 * Write lines (each without its newline) to `path`, replacing it only once everything is written.
 *
 * @example
 * await writeJsonlAtomic('out.jsonl', rows.map(canonicalJson));
 */
export async function writeJsonlAtomic(path: string, lines: Iterable<string> | AsyncIterable<string>): Promise<number> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let count = 0;
  try {
    const fh = await open(tmp, 'w');
    try {
      let buf = '';
      for await (const line of lines) {
        buf += line + '\n';
        count++;
        if (buf.length > 1 << 20) { await fh.write(buf); buf = ''; }
      }
      if (buf) await fh.write(buf);
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof FlockError) throw err;
    throw new FlockError(`cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
  return count;
}
