import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  f16BitsToNumber, numberToBf16Bits, numberToF16Bits, readSafetensorsHeader, readTensorF32, writeSafetensors, MAX_HEADER_BYTES,
  type TensorToWrite,
} from '../../src/engine/safetensors.js';
import { FlockError } from '../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'flock-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const tmpFile = () => join(dir, `t${counter++}.safetensors`);

/** A file from a raw header object and buffer, to build corrupt cases by hand. */
function rawFile(header: unknown, buffer: Uint8Array, headerLenOverride?: bigint): string {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLenOverride ?? BigInt(json.length));
  const path = tmpFile();
  writeFileSync(path, Buffer.concat([len, json, buffer]));
  return path;
}

function corruptMessage(path: string): string {
  try {
    readSafetensorsHeader(path);
  } catch (err) {
    expect(err).toBeInstanceOf(FlockError);
    expect((err as FlockError).hint).toContain('corrupt or truncated');
    return (err as FlockError).message;
  }
  throw new Error(`expected ${path} to be rejected`);
}

describe('safetensors write/read', () => {
  it('round-trips F32 exactly with shapes and metadata', () => {
    const path = tmpFile();
    const a = new Float32Array([1.5, -2, 3.25, Math.fround(Math.PI), 0, -0, 1e-40, 3.4e38]);
    const b = new Float32Array(6).map((_, i) => i / 7);
    writeSafetensors(path, new Map<string, TensorToWrite>([
      ['a', { dtype: 'F32', shape: [2, 4], data: a }],
      ['b.weight', { dtype: 'F32', shape: [3, 2], data: b }],
      ['scalar', { dtype: 'F32', shape: [], data: new Float32Array([7]) }],
      ['empty', { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) }],
    ]), { format: 'pt' });
    const h = readSafetensorsHeader(path);
    expect([...h.tensors.keys()]).toEqual(['a', 'b.weight', 'scalar', 'empty']);
    expect(h.tensors.get('a')).toMatchObject({ dtype: 'F32', shape: [2, 4], numel: 8 });
    expect(h.metadata).toEqual({ format: 'pt' });
    expect((h.dataOffset - 8) % 8).toBe(0); // header padded to 8 bytes
    expect(readTensorF32(path, 'a', h)).toEqual(a);
    expect(readTensorF32(path, 'b.weight')).toEqual(b);
    expect(Array.from(readTensorF32(path, 'scalar', h))).toEqual([7]);
    expect(readTensorF32(path, 'empty', h).length).toBe(0);
  });

  it('BF16: every bit pattern round-trips, rounding is to nearest even', () => {
    const all = new Float32Array(65536);
    const bits = new Uint32Array(all.buffer);
    for (let i = 0; i < 65536; i++) bits[i] = i << 16;
    for (let i = 0; i < 65536; i++) {
      const isNaN = ((i >> 7) & 0xff) === 0xff && (i & 0x7f) !== 0;
      if (!isNaN) expect(numberToBf16Bits(all[i]!)).toBe(i);
    }
    expect(numberToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie → even (1.0)
    expect(numberToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie → even (1 + 2^-6)
    expect(numberToBf16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81); // above the tie → up
    expect(numberToBf16Bits(NaN) & 0x7fc0).toBe(0x7fc0);

    const path = tmpFile();
    const data = new Float32Array(1000).map((_, i) => Math.sin(i) * 10 ** ((i % 9) - 4));
    writeSafetensors(path, new Map([['w', { dtype: 'BF16', shape: [10, 100], data }]]));
    expect(readSafetensorsHeader(path).tensors.get('w')).toMatchObject({ dtype: 'BF16', numel: 1000 });
    const back = readTensorF32(path, 'w');
    const expected = new Float32Array(1000);
    new Uint32Array(expected.buffer).set(Array.from(data, (x) => numberToBf16Bits(x) << 16));
    expect(back).toEqual(expected);
    for (let i = 0; i < 1000; i++) expect(Math.abs(back[i]! - data[i]!)).toBeLessThanOrEqual(Math.abs(data[i]!) * 2 ** -8);
  });

  it('F16: every bit pattern round-trips, rounding is to the nearest f16', () => {
    for (let h = 0; h < 65536; h++) {
      const isNaN = ((h >> 10) & 0x1f) === 0x1f && (h & 0x3ff) !== 0;
      if (!isNaN) expect(numberToF16Bits(f16BitsToNumber(h))).toBe(h);
    }
    expect(f16BitsToNumber(0x3c00)).toBe(1);
    expect(f16BitsToNumber(0x0001)).toBe(2 ** -24);
    expect(f16BitsToNumber(0x7bff)).toBe(65504);
    expect(numberToF16Bits(65520)).toBe(0x7c00); // rounds to Inf
    expect(numberToF16Bits(65519)).toBe(0x7bff);
    expect(numberToF16Bits(2 ** -25)).toBe(0); // tie → even (0)
    expect(numberToF16Bits(3 * 2 ** -25)).toBe(2); // tie → even
    expect(numberToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even

    // Brute-force nearest-f16 oracle on pseudo-random values across the range.
    const positive = Array.from({ length: 31744 }, (_, h) => f16BitsToNumber(h)); // 0 .. 65504, ascending
    let seed = 12345;
    for (let k = 0; k < 2000; k++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const x = Math.fround((seed / 2 ** 31) * 2 ** ((k % 40) - 26));
      let lo = 0;
      let hi = positive.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (positive[mid]! <= x) lo = mid; else hi = mid;
      }
      const dLo = x - positive[lo]!;
      const dHi = positive[hi]! - x;
      const want = dLo < dHi ? lo : dHi < dLo ? hi : (lo % 2 === 0 ? lo : hi);
      expect(numberToF16Bits(x)).toBe(x >= 65520 ? 0x7c00 : want);
    }

    const path = tmpFile();
    const data = new Float32Array([0, -0, 1, -1.5, 65504, -65504, 2 ** -24, 0.1, 1e6, -Infinity]);
    writeSafetensors(path, new Map([['h', { dtype: 'F16', shape: [10], data }]]));
    const back = readTensorF32(path, 'h');
    expect(Array.from(back)).toEqual(Array.from(data, (x) => f16BitsToNumber(numberToF16Bits(x))));
    expect(back[7]).toBe(f16BitsToNumber(0x2e66));
    expect(back[8]).toBe(Infinity);
  });

  it('reads into a caller-provided array and into an offset view', () => {
    const path = tmpFile();
    const data = new Float32Array([1, 2, 3, 4]);
    writeSafetensors(path, new Map([['x', { dtype: 'BF16', shape: [4], data }]]));
    const big = new Float32Array(10).fill(-9);
    const view = big.subarray(3, 7);
    expect(readTensorF32(path, 'x', undefined, view)).toBe(view);
    expect(Array.from(big)).toEqual([-9, -9, -9, 1, 2, 3, 4, -9, -9, -9]);
  });

  it('writes lazily made tensors (one at a time) and checks their length', () => {
    const path = tmpFile();
    const made: string[] = [];
    const lazy = (name: string, n: number) => () => { made.push(name); return new Float32Array(n).fill(n); };
    writeSafetensors(path, new Map<string, TensorToWrite>([
      ['a', { dtype: 'BF16', shape: [3], data: lazy('a', 3) }],
      ['b', { dtype: 'F32', shape: [2], data: lazy('b', 2) }],
    ]));
    expect(made).toEqual(['a', 'b']);
    expect(Array.from(readTensorF32(path, 'a'))).toEqual([3, 3, 3]);
    expect(Array.from(readTensorF32(path, 'b'))).toEqual([2, 2]);
    const bad = tmpFile();
    expect(() => writeSafetensors(bad, new Map([['x', { dtype: 'F32', shape: [3], data: () => new Float32Array(1) }]])))
      .toThrow('has 1 values but shape [3] needs 3');
    expect(existsSync(bad)).toBe(false); // nothing half-written is left behind
  });

  it('refuses to write mismatched data and unsupported dtypes', () => {
    expect(() => writeSafetensors(tmpFile(), new Map([['x', { dtype: 'F32', shape: [3], data: new Float32Array(2) }]])))
      .toThrow('has 2 values but shape [3] needs 3');
    expect(() => writeSafetensors(tmpFile(), new Map([['x', { dtype: 'I8' as 'F32', shape: [1], data: new Float32Array(1) }]])))
      .toThrow('unsupported dtype I8');
  });
});

describe('safetensors validation', () => {
  const good = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'BF16', shape: [2, 2], data_offsets: [8, 16] } };

  it('accepts a hand-built valid file', () => {
    const h = readSafetensorsHeader(rawFile(good, new Uint8Array(16)));
    expect(h.tensors.size).toBe(2);
  });

  it('rejects a truncated file', () => {
    const path = tmpFile();
    writeSafetensors(path, new Map([['w', { dtype: 'F32', shape: [100], data: new Float32Array(100) }]]));
    const size = readFileSync(path).length;
    truncateSync(path, size - 1);
    expect(corruptMessage(path)).toMatch(/truncated: tensor "w" ends at byte \d+ but the file has \d+ bytes/);
    truncateSync(path, 5);
    expect(corruptMessage(path)).toContain('shorter than the 8-byte header length');
    truncateSync(path, 20);
    expect(corruptMessage(path)).toContain('runs past the end');
  });

  it('rejects trailing bytes', () => {
    const path = tmpFile();
    writeSafetensors(path, new Map([['w', { dtype: 'F32', shape: [1], data: new Float32Array(1) }]]));
    appendFileSync(path, Buffer.from([0]));
    expect(corruptMessage(path)).toContain('trailing bytes');
  });

  it('rejects an absurd header length and bad JSON', () => {
    expect(corruptMessage(rawFile(good, new Uint8Array(16), BigInt(MAX_HEADER_BYTES) + 1n))).toContain('out of bounds');
    expect(corruptMessage(rawFile(good, new Uint8Array(16), 2n ** 63n))).toContain('out of bounds');
    const path = tmpFile();
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(5n);
    writeFileSync(path, Buffer.concat([len, Buffer.from('{"a":'), Buffer.alloc(0)]));
    expect(corruptMessage(path)).toContain('not UTF-8 JSON');
    expect(corruptMessage(rawFile([1, 2], new Uint8Array(0)))).toContain('not a JSON object');
  });

  it('rejects offsets out of range, holes, overlaps and wrong sizes', () => {
    expect(corruptMessage(rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 80] } }, new Uint8Array(8)))).toContain('truncated');
    expect(corruptMessage(rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, new Uint8Array(8)))).toContain('end before they begin');
    expect(corruptMessage(rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)))).toContain('hole of 4 bytes');
    expect(corruptMessage(rawFile({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    }, new Uint8Array(12)))).toContain('overlaps');
    expect(corruptMessage(rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8))))
      .toContain('tensor "a" spans 8 bytes but F32[3] needs 12');
    expect(corruptMessage(rawFile({ a: { dtype: 'Q4', shape: [2], data_offsets: [0, 1] } }, new Uint8Array(1)))).toContain('unknown dtype "Q4"');
    expect(corruptMessage(rawFile({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }, new Uint8Array(0)))).toContain('invalid shape');
    expect(corruptMessage(rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0] } }, new Uint8Array(4)))).toContain('invalid data_offsets');
    expect(corruptMessage(rawFile({ __metadata__: { a: 1 } }, new Uint8Array(0)))).toContain('__metadata__.a is not a string');
  });

  it('reads only F32/F16/BF16 and names a missing tensor', () => {
    const path = rawFile({ i: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4));
    expect(() => readTensorF32(path, 'i')).toThrow('has dtype I32; the engine reads F32, F16 and BF16 only');
    expect(() => readTensorF32(path, 'nope')).toThrow('no tensor named "nope"');
  });
});
