/** Append-only typed arrays that double when full (for per-row data of unknown row count). */
export class GrowableU32 {
  private buf: Uint32Array;
  length = 0;

  constructor(capacity = 1024) {
    this.buf = new Uint32Array(capacity);
  }

  push(v: number): void {
    if (this.length === this.buf.length) this.grow(this.length + 1);
    this.buf[this.length++] = v;
  }

  /** Append every element of `vs`. */
  pushAll(vs: ArrayLike<number>): void {
    if (this.length + vs.length > this.buf.length) this.grow(this.length + vs.length);
    this.buf.set(vs, this.length);
    this.length += vs.length;
  }

  /** A copy trimmed to the length. */
  toArray(): Uint32Array {
    return this.buf.slice(0, this.length);
  }

  private grow(min: number): void {
    let cap = this.buf.length * 2;
    while (cap < min) cap *= 2;
    const next = new Uint32Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
}

/** Fixed-width binary records (e.g. 32-byte hashes) appended into one growing buffer. */
export class GrowableRecords {
  private buf: Buffer;
  length = 0;

  constructor(readonly width: number, capacity = 1024) {
    this.buf = Buffer.alloc(width * capacity);
  }

  push(record: Uint8Array): void {
    const end = (this.length + 1) * this.width;
    if (end > this.buf.length) {
      const next = Buffer.alloc(Math.max(end, this.buf.length * 2));
      this.buf.copy(next, 0, 0, this.length * this.width);
      this.buf = next;
    }
    this.buf.set(record.subarray(0, this.width), this.length * this.width);
    this.length++;
  }

  /** Record i (a view: copy it to keep it past the next push). */
  at(i: number): Buffer {
    return this.buf.subarray(i * this.width, (i + 1) * this.width);
  }
}
