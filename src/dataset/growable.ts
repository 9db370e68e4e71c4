/**
 * Append-only storage for per-row data of unknown row count, in a *resizable* ArrayBuffer: the
 * address space is reserved up front and pages are committed only as they are written, so growing
 * never copies and handing the data out never copies either (a 1 GB file's fingerprints grow
 * without a doubling spike). One buffer holds at most 4 GiB.
 */
import { FlockError } from '../util/errors.js';

const MAX_BYTES = 2 ** 32;

type Resizable = ArrayBuffer & { resize(bytes: number): void; readonly maxByteLength: number };

function reserve(): Resizable {
  return new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable)(0, { maxByteLength: MAX_BYTES });
}

function grow(buf: Resizable, needBytes: number): void {
  if (needBytes > MAX_BYTES) {
    throw new FlockError('too many rows to hold their fingerprints in one pass (over 4 GiB)', { hint: 'limit the rows read with --max-rows' });
  }
  buf.resize(Math.min(MAX_BYTES, Math.max(needBytes, buf.byteLength * 2, 1 << 16)));
}

export class GrowableU32 {
  private readonly buf = reserve();
  private view = new Uint32Array(this.buf); // tracks the buffer's length
  length = 0;

  push(v: number): void {
    if (this.length === this.view.length) this.growTo(this.length + 1);
    this.view[this.length++] = v;
  }

  /** Append every element of `vs`. */
  pushAll(vs: ArrayLike<number>): void {
    if (this.length + vs.length > this.view.length) this.growTo(this.length + vs.length);
    this.view.set(vs, this.length);
    this.length += vs.length;
  }

  /** The elements pushed so far (a view, not a copy: stop pushing once you take it). */
  toArray(): Uint32Array {
    return new Uint32Array(this.buf, 0, this.length);
  }

  private growTo(n: number): void {
    grow(this.buf, n * 4);
    this.view = new Uint32Array(this.buf);
  }
}

/** Fixed-width binary records (e.g. 32-byte hashes), stored the same way. */
export class GrowableRecords {
  private readonly buf = reserve();
  private bytes = new Uint8Array(this.buf);
  length = 0;

  constructor(readonly width: number) {}

  push(record: Uint8Array): void {
    const end = (this.length + 1) * this.width;
    if (end > this.bytes.length) {
      grow(this.buf, end);
      this.bytes = new Uint8Array(this.buf);
    }
    this.bytes.set(record.length === this.width ? record : record.subarray(0, this.width), this.length * this.width);
    this.length++;
  }

  /** Record i (a view). */
  at(i: number): Buffer {
    return Buffer.from(this.buf, i * this.width, this.width);
  }

  /** All bytes written so far (a view; records are `width` bytes each, back to back). */
  data(): Uint8Array {
    return new Uint8Array(this.buf, 0, this.length * this.width);
  }
}
