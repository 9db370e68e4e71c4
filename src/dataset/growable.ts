/**
 * Append-only storage for per-row data of unknown row count, kept in fixed-size chunks so growing
 * never copies (a 1 GB file's fingerprints grow without a doubling spike), and assembled into one
 * array only at the end, releasing each chunk as it is copied.
 */
const CHUNK_SHIFT = 18;
const CHUNK = 1 << CHUNK_SHIFT; // elements per chunk
const MASK = CHUNK - 1;

export class GrowableU32 {
  private chunks: Uint32Array[] = [];
  length = 0;

  push(v: number): void {
    const c = this.length >>> CHUNK_SHIFT;
    if (c === this.chunks.length) this.chunks.push(new Uint32Array(CHUNK));
    this.chunks[c]![this.length & MASK] = v;
    this.length++;
  }

  /** Append every element of `vs`. */
  pushAll(vs: ArrayLike<number>): void {
    for (let i = 0; i < vs.length; i++) this.push(vs[i]!);
  }

  /** All elements in one array; the chunks are released, so call it once, at the end. */
  toArray(): Uint32Array {
    const out = new Uint32Array(this.length);
    for (let c = 0; c < this.chunks.length; c++) {
      const n = Math.min(CHUNK, this.length - c * CHUNK);
      out.set(this.chunks[c]!.subarray(0, n), c * CHUNK);
      this.chunks[c] = EMPTY_CHUNK;
    }
    this.chunks = [];
    this.length = 0;
    return out;
  }
}

const EMPTY_CHUNK = new Uint32Array(0);

/** Fixed-width binary records (e.g. 32-byte hashes), chunked the same way. */
export class GrowableRecords {
  private readonly chunks: Buffer[] = [];
  private readonly perChunk: number;
  length = 0;

  constructor(readonly width: number) {
    this.perChunk = Math.max(1, Math.floor((1 << 20) / width));
  }

  push(record: Uint8Array): void {
    const c = Math.floor(this.length / this.perChunk);
    if (c === this.chunks.length) this.chunks.push(Buffer.alloc(this.perChunk * this.width));
    this.chunks[c]!.set(record.subarray(0, this.width), (this.length % this.perChunk) * this.width);
    this.length++;
  }

  /** Record i (a view into the chunk). */
  at(i: number): Buffer {
    const o = (i % this.perChunk) * this.width;
    return this.chunks[Math.floor(i / this.perChunk)]!.subarray(o, o + this.width);
  }
}
