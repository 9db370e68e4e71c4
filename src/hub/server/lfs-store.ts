/**
 * Content-addressed storage of large files (Git LFS objects): `DIR/lfs/objects/ab/cd/<sha256>`.
 * An upload streams to a temporary file while it is hashed and counted, and is renamed into
 * place only when its size and SHA-256 match the announced ones — so a stored object is always
 * whole and correct, and memory use does not depend on the file's size.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class LfsUploadError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;

export class LfsStore {
  constructor(private readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(join(this.dir, 'lfs', 'objects'), { recursive: true });
    await mkdir(join(this.dir, 'lfs', 'tmp'), { recursive: true });
  }

  /** Where an object lives (whether or not it exists). `oid` must be 64 lowercase hex. */
  objectPath(oid: string): string {
    if (!SHA256_HEX.test(oid)) throw new Error(`not a sha256: ${oid}`);
    return join(this.dir, 'lfs', 'objects', oid.slice(0, 2), oid.slice(2, 4), oid);
  }

  /** True when the object is stored with exactly this size. */
  async has(oid: string, size: number): Promise<boolean> {
    try {
      return (await stat(this.objectPath(oid))).size === size;
    } catch {
      return false;
    }
  }

  /** Store a stream as object `oid`; refuses more or fewer bytes than `size`, or another hash. */
  async put(oid: string, size: number, body: Readable): Promise<void> {
    const final = this.objectPath(oid);
    const tmp = join(this.dir, 'lfs', 'tmp', `${oid}.${randomUUID()}`);
    const hash = createHash('sha256');
    let received = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (received > size) return done(new LfsUploadError(`upload is larger than the announced ${size} bytes`, 400));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(tmp, { flags: 'wx' }));
      if (received !== size) throw new LfsUploadError(`upload has ${received} bytes, ${size} were announced`, 400);
      const digest = hash.digest('hex');
      if (digest !== oid) throw new LfsUploadError(`upload's sha256 is ${digest}, ${oid} was announced`, 400);
      await mkdir(join(final, '..'), { recursive: true });
      await rename(tmp, final);
    } finally {
      await rm(tmp, { force: true });
    }
  }
}
