/**
 * Append-only storage for per-row data of unknown row count. Small data lives in an ordinary
 * buffer, doubled by copying (a 32-row dataset costs a few KiB); past 1 MiB it moves once into a
 * *resizable* ArrayBuffer whose address space is reserved up front and whose pages are committed
 * only as they are written, so growing further never copies (a 1 GB file's fingerprints grow
 * without a doubling spike). Reserving that address space costs a fraction of a millisecond,
 * which is why small data does not start there. One buffer holds at most 4 GiB.
 */
import { FlockError } from '../util/errors.js';

const MAX_BYTES = 2 ** 32;
/** Up to this size, buffers are ordinary and grow by copying. */
const SMALL_BYTES = 1 << 20;
const FIRST_BYTES = 4096;

type Resizable = ArrayBuffer & { resize(bytes: number): void; readonly resizable: boolean };

/**
 * A buffer of at least `needBytes` holding the first `usedBytes` of `buf`: `buf` itself (resized)
 * when it is resizable, else a new one.
 */
function enlarge(buf: ArrayBuffer, usedBytes: number, needBytes: number): ArrayBuffer {
  if (needBytes > MAX_BYTES) {
    throw new FlockError('too many rows to hold their fingerprints in one pass (over 4 GiB)', { hint: 'limit the rows read with --max-rows' });
  }
  const target = Math.min(MAX_BYTES, Math.max(needBytes, buf.byteLength * 2, FIRST_BYTES));
  if ((buf as Resizable).resizable) {
    (buf as Resizable).resize(target);
    return buf;
  }
  const next = target <= SMALL_BYTES
    ? new ArrayBuffer(target)
    : new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable)(target, { maxByteLength: MAX_BYTES });
  new Uint8Array(next).set(new Uint8Array(buf, 0, usedBytes));
  return next;
}

export class GrowableU32 {
  private buf = new ArrayBuffer(0);
  private view = new Uint32Array(this.buf);
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
    this.buf = enlarge(this.buf, this.length * 4, n * 4);
    this.view = new Uint32Array(this.buf, 0, this.buf.byteLength / 4);
  }
}

/** Fixed-width binary records (e.g. 32-byte hashes), stored the same way. */
export class GrowableRecords {
  private buf = new ArrayBuffer(0);
  private bytes = new Uint8Array(this.buf);
  length = 0;

  constructor(readonly width: number) {}

  push(record: Uint8Array): void {
    const end = (this.length + 1) * this.width;
    if (end > this.bytes.length) {
      this.buf = enlarge(this.buf, this.length * this.width, end);
      this.bytes = new Uint8Array(this.buf, 0, this.buf.byteLength);
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
