/**
 * safetensors files: strict header parsing, one-tensor reads straight into a Float32Array, and a
 * streaming writer.
 *
 * Format (https://huggingface.co/docs/safetensors): 8 bytes little-endian u64 N, then N bytes of
 * UTF-8 JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {k: v}}`, then the
 * byte buffer. Offsets are relative to the start of the byte buffer. We refuse any file whose
 * header does not describe exactly its bytes: offsets in range, tensors contiguous with no holes or
 * overlaps, byte sizes equal to dtype size × element count, and the file length equal to header +
 * buffer. So a truncated or corrupt download is caught before any tensor is used.
 *
 * Reads never load the whole file: a tensor's bytes are read into the output array's own memory
 * and converted in place (F16/BF16 → F32), so no second copy exists.
 */
import { closeSync, fstatSync, openSync, readSync, renameSync, writeSync, rmSync } from 'node:fs';
import { endianness } from 'node:os';
import { FlockError } from '../util/errors.js';

/** Element size in bytes of every dtype the format defines (we read F32, F16, BF16). */
const DTYPE_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
  F8_E4M3: 1, F8_E5M2: 1,
};

/** The dtypes we convert to and from f32. */
export type FloatDtype = 'F32' | 'F16' | 'BF16';
const READABLE: ReadonlySet<string> = new Set(['F32', 'F16', 'BF16']);

/** safetensors' own limit on the header size (100 MB); anything bigger is corrupt. */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's entry in a parsed header. `begin`/`end` are absolute file offsets. */
export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Number of elements (product of shape; 1 for a scalar). */
  numel: number;
  begin: number;
  end: number;
}

/** A validated safetensors header. */
export interface SafetensorsHeader {
  path: string;
  fileSize: number;
  /** Absolute offset of the byte buffer (8 + header length). */
  dataOffset: number;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

/**
 * A tensor to write: f32 values, stored as `dtype` (rounded to nearest even for F16/BF16).
 * `data` may be a function that makes the values when the tensor's turn comes, so a large file
 * is written holding one tensor at a time.
 */
export interface TensorToWrite {
  dtype: FloatDtype;
  shape: number[];
  data: Float32Array | (() => Float32Array);
}

if (endianness() !== 'LE') {
  // Float32Array views share the host's byte order; safetensors is little-endian.
  throw new Error('safetensors: big-endian hosts are not supported');
}

function corrupt(path: string, what: string): FlockError {
  return new FlockError(`${path}: not a valid safetensors file: ${what}`, {
    hint: 'the file is corrupt or truncated — download it again (or re-create it with `flock model init`)',
  });
}

function readExactly(fd: number, target: Uint8Array, position: number, path: string): void {
  let done = 0;
  while (done < target.length) {
    const n = readSync(fd, target, done, target.length - done, position + done);
    if (n === 0) throw corrupt(path, `unexpected end of file at byte ${position + done}`);
    done += n;
  }
}

/**
 * Read and validate the header of a safetensors file (reads only the header bytes).
 *
 * @example
 * const h = readSafetensorsHeader('model/model.safetensors');
 * console.log([...h.tensors.keys()]);
 */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new FlockError(`${path}: cannot open: ${(err as Error).message}`, { cause: err });
  }
  try {
    return parseHeaderFromFd(fd, path);
  } finally {
    closeSync(fd);
  }
}

function parseHeaderFromFd(fd: number, path: string): SafetensorsHeader {
  const fileSize = fstatSync(fd).size;
  if (fileSize < 8) throw corrupt(path, `file is ${fileSize} bytes, shorter than the 8-byte header length`);
  const lenBytes = new Uint8Array(8);
  readExactly(fd, lenBytes, 0, path);
  const headerLen = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
  if (headerLen < 2 || headerLen > MAX_HEADER_BYTES) throw corrupt(path, `header length ${headerLen} is out of bounds (2..${MAX_HEADER_BYTES})`);
  if (8 + headerLen > fileSize) throw corrupt(path, `header length ${headerLen} runs past the end of the ${fileSize}-byte file`);
  const headerBytes = new Uint8Array(headerLen);
  readExactly(fd, headerBytes, 8, path);

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw corrupt(path, `header is not UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw corrupt(path, 'header is not a JSON object');

  const dataOffset = 8 + headerLen;
  const bufferSize = fileSize - dataOffset;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(entry, path);
      continue;
    }
    tensors.set(name, parseEntry(name, entry, dataOffset, bufferSize, path));
  }

  // The byte buffer must be covered exactly: sorted by offset, each tensor starts where the last ended.
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = dataOffset;
  for (const t of sorted) {
    if (t.begin !== cursor) {
      throw corrupt(path, t.begin < cursor ? `tensor "${t.name}" overlaps the tensor before it` : `hole of ${t.begin - cursor} bytes before tensor "${t.name}"`);
    }
    cursor = t.end;
  }
  if (cursor !== fileSize) {
    throw corrupt(path, `header describes ${cursor - dataOffset} data bytes but the file holds ${bufferSize} (${cursor < fileSize ? 'trailing bytes' : 'truncated'})`);
  }
  return { path, fileSize, dataOffset, tensors, metadata };
}

function parseMetadata(entry: unknown, path: string): Record<string, string> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw corrupt(path, '__metadata__ is not an object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry)) {
    if (typeof v !== 'string') throw corrupt(path, `__metadata__.${k} is not a string`);
    out[k] = v;
  }
  return out;
}

function parseEntry(name: string, entry: unknown, dataOffset: number, bufferSize: number, path: string): TensorInfo {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw corrupt(path, `entry "${name}" is not an object`);
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) throw corrupt(path, `tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw corrupt(path, `tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw corrupt(path, `tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [b, e] = offsets as [number, number];
  if (b > e) throw corrupt(path, `tensor "${name}" has data_offsets [${b}, ${e}] that end before they begin`);
  if (e > bufferSize) {
    throw corrupt(path, `truncated: tensor "${name}" ends at byte ${dataOffset + e} but the file has ${dataOffset + bufferSize} bytes`);
  }
  const numel = (shape as number[]).reduce((p, d) => p * d, 1);
  const expected = numel * DTYPE_BYTES[dtype]!;
  if (e - b !== expected) {
    throw corrupt(path, `tensor "${name}" spans ${e - b} bytes but ${dtype}[${(shape as number[]).join(', ')}] needs ${expected}`);
  }
  return { name, dtype, shape: [...(shape as number[])], numel, begin: dataOffset + b, end: dataOffset + e };
}

/** Bytes read per `readSync` call: bounded so huge tensors never need one giant read. */
const READ_CHUNK = 64 * 1024 * 1024;

/**
 * Read one tensor from a file as f32, converting F16/BF16 exactly. The raw bytes land in the
 * output array's own buffer and are widened in place, so memory use is the f32 result only.
 * Pass `header` to skip re-reading it; pass `out` (length = numel) to fill an existing array.
 *
 * @example
 * const h = readSafetensorsHeader(file);
 * const w = readTensorF32(file, 'model.norm.weight', h);
 */
export function readTensorF32(path: string, name: string, header?: SafetensorsHeader, out?: Float32Array): Float32Array {
  const h = header ?? readSafetensorsHeader(path);
  const info = h.tensors.get(name);
  if (!info) throw new FlockError(`${path}: no tensor named "${name}"`, { hint: 'list the tensor names with readSafetensorsHeader' });
  if (!READABLE.has(info.dtype)) {
    throw new FlockError(`${path}: tensor "${name}" has dtype ${info.dtype}; the engine reads F32, F16 and BF16 only`, {
      hint: 'convert the checkpoint to bf16 or f32 (e.g. with transformers: model.to(torch.bfloat16).save_pretrained(...))',
    });
  }
  const result = out ?? new Float32Array(info.numel);
  if (result.length !== info.numel) throw new FlockError(`readTensorF32: output has ${result.length} elements, "${name}" has ${info.numel}`);
  const bytes = new Uint8Array(result.buffer, result.byteOffset, result.byteLength);
  const rawLen = info.end - info.begin;
  // F32: raw bytes are the result. 16-bit: raw bytes go in the upper half of the buffer; widening
  // element i writes bytes [4i, 4i+4), which never reaches unread raw element j > i at 2n+2j.
  const rawStart = bytes.length - rawLen;
  const fd = openSync(path, 'r');
  try {
    // The file must still be the one whose header we parsed.
    if (fstatSync(fd).size !== h.fileSize) throw corrupt(path, 'file size changed since its header was read');
    for (let done = 0; done < rawLen; done += READ_CHUNK) {
      readExactly(fd, bytes.subarray(rawStart + done, rawStart + Math.min(rawLen, done + READ_CHUNK)), info.begin + done, path);
    }
  } finally {
    closeSync(fd);
  }
  if (info.dtype === 'F32') return result;
  const raw = new Uint16Array(result.buffer, result.byteOffset + rawStart, info.numel);
  const bits = new Uint32Array(result.buffer, result.byteOffset, info.numel);
  if (info.dtype === 'BF16') {
    for (let i = 0; i < info.numel; i++) bits[i] = raw[i]! << 16;
  } else {
    const table = f16Table();
    for (let i = 0; i < info.numel; i++) bits[i] = table[raw[i]!]!;
  }
  return result;
}

let F16_TO_F32_BITS: Uint32Array | undefined;

/** f32 bit patterns of all 65 536 f16 values (exact: every f16 is an f32). */
function f16Table(): Uint32Array {
  if (F16_TO_F32_BITS) return F16_TO_F32_BITS;
  const t = new Uint32Array(65536);
  const f = new Float32Array(t.buffer);
  for (let h = 0; h < 65536; h++) f[h] = f16BitsToNumber(h);
  for (let h = 0; h < 65536; h++) {
    if (((h >> 10) & 0x1f) === 0x1f && (h & 0x3ff) !== 0) t[h] = ((h & 0x8000) << 16) | 0x7fc00000 | ((h & 0x3ff) << 13); // keep NaN payload
  }
  F16_TO_F32_BITS = t;
  return t;
}

/** The value of an IEEE 754 binary16 bit pattern. */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** The bf16 bit pattern nearest to `x` (round to nearest, ties to even; NaN stays NaN). */
export function numberToBf16Bits(x: number): number {
  f32Scratch[0] = x;
  const b = u32Scratch[0]!;
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return ((b >>> 16) | 0x40) & 0xffff; // quiet NaN
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The f16 bit pattern nearest to `x` (round to nearest, ties to even; overflow → ±Inf). */
export function numberToF16Bits(x: number): number {
  f32Scratch[0] = x;
  const b = u32Scratch[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal f16 (or zero): shift the implicit-1 mantissa right, rounding to nearest even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m; // m may carry into the exponent field: that is the right answer (smallest normal)
  }
  let out = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (out & 1))) out++; // carry may reach Inf: correct
  return sign | out;
}

function product(shape: number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** Elements converted per write call, so writing never needs a full-size 16-bit copy. */
const WRITE_CHUNK_ELEMS = 4 * 1024 * 1024;

/**
 * Write a safetensors file tensor by tensor (tensors in map order; header padded to 8 bytes as
 * the reference implementation does). F16/BF16 are rounded to nearest even in bounded chunks.
 * The file appears atomically (written beside it, then renamed).
 *
 * @example
 * writeSafetensors('adapter_model.safetensors', new Map([['w', { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }]]));
 */
export function writeSafetensors(path: string, tensors: Map<string, TensorToWrite>, metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header['__metadata__'] = { ...metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new FlockError('writeSafetensors: "__metadata__" is not a valid tensor name');
    if (!(t.dtype in DTYPE_BYTES) || !READABLE.has(t.dtype)) throw new FlockError(`writeSafetensors: tensor "${name}" has unsupported dtype ${t.dtype}`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new FlockError(`writeSafetensors: tensor "${name}" has an invalid shape [${t.shape.join(', ')}]`);
    const numel = product(t.shape);
    if (typeof t.data !== 'function') checkLength(name, t.shape, t.data, numel);
    const size = numel * DTYPE_BYTES[t.dtype]!;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  const jsonBytes = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (jsonBytes % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));

  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  let open = true;
  try {
    writeAll(fd, prefix);
    writeAll(fd, headerBytes);
    for (const [name, t] of tensors) {
      const data = typeof t.data === 'function' ? t.data() : t.data;
      checkLength(name, t.shape, data, product(t.shape));
      writeTensorData(fd, t.dtype, data);
    }
    open = false;
    closeSync(fd);
  } catch (err) {
    if (open) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  renameSync(tmp, path);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

function checkLength(name: string, shape: number[], data: Float32Array, numel: number): void {
  if (data.length !== numel) {
    throw new FlockError(`writeSafetensors: tensor "${name}" has ${data.length} values but shape [${shape.join(', ')}] needs ${numel}`);
  }
}

function writeTensorData(fd: number, dtype: FloatDtype, data: Float32Array): void {
  if (dtype === 'F32') {
    writeAll(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return;
  }
  const convert = dtype === 'BF16' ? numberToBf16Bits : numberToF16Bits;
  const chunk = new Uint16Array(Math.max(1, Math.min(WRITE_CHUNK_ELEMS, data.length)));
  for (let start = 0; start < data.length; start += chunk.length) {
    const n = Math.min(chunk.length, data.length - start);
    for (let i = 0; i < n; i++) chunk[i] = convert(data[start + i]!);
    writeAll(fd, new Uint8Array(chunk.buffer, 0, n * 2));
  }
}
