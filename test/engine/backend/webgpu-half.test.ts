/**
 * Host f16 conversion (src/engine/backend/webgpu/half.ts) against PyTorch's float32 → float16
 * cast (round to nearest even), on normal, subnormal, tie and near-overflow values; the clamp
 * (where torch gives ±inf) checked on its own; packing two per word, even element low.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { F16_MAX, f16Bits, f16Value, packF16, roundToF16 } from '../../../src/engine/backend/webgpu/half.js';
import { Stream } from '../../../src/engine/prng.js';
import { PYTHON } from '../oracle/oracle.js';

/** torch's f16 bits for each f32 value (the values travel as their f32 bits). */
function torchF16Bits(values: Float32Array): number[] {
  const script = 'import sys, json, torch\n' +
    'bits = json.load(sys.stdin)\n' +
    'x = torch.tensor(bits, dtype=torch.int64).to(torch.int32).view(torch.float32)\n' +
    'print(json.dumps(x.to(torch.float16).view(torch.int16).to(torch.int64).bitwise_and(0xffff).tolist()))\n';
  const r = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(Array.from(new Int32Array(values.buffer))), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`python3 with torch is needed (apt-get install python3-torch): ${r.stderr}`);
  return JSON.parse(r.stdout) as number[];
}

describe('f16 conversion', () => {
  it('rounds like torch (nearest, ties to even) over normal, subnormal, tie and near-maximum values', () => {
    const s = new Stream(7);
    const vals: number[] = [0, -0, 1, -1, 65504, -65504, 65519.99, 2 ** -14, 2 ** -24, 2 ** -25, 2 ** -25 * 1.0001, 3 * 2 ** -25, 6e-8, 1e-9, NaN];
    // exact ties between two f16 values: 1 + (2j+1)·2⁻¹¹
    for (let j = 0; j < 8; j++) vals.push(1 + (2 * j + 1) * 2 ** -11, -(1 + (2 * j + 1) * 2 ** -11));
    for (let i = 0; i < 3000; i++) vals.push((s.next() * 2 - 1) * 2 ** (s.nextInt(44) - 30));
    const x = Float32Array.from(vals);
    const want = torchF16Bits(x);
    const got = Array.from(x, (v) => f16Bits(v));
    expect(got).toEqual(want);
  });

  it('clamps magnitudes beyond 65504 to ±65504 (torch would give ±inf) and counts them', () => {
    expect(roundToF16(70000)).toBe(F16_MAX);
    expect(roundToF16(-1e30)).toBe(-F16_MAX);
    expect(roundToF16(Infinity)).toBe(F16_MAX);
    expect(roundToF16(65520)).toBe(F16_MAX); // would round up to 2¹⁶
    const { words, clamped } = packF16(Float32Array.from([1, 1e6, -2, -7e4, 0.5]));
    expect(clamped).toBe(2);
    expect(Array.from(words, (w) => [f16Value(w & 0xffff), f16Value(w >>> 16)]).flat().slice(0, 5)).toEqual([1, F16_MAX, -2, -F16_MAX, 0.5]);
  });

  it('keeps every bf16 value of f16 range exactly', () => {
    const s = new Stream(3);
    for (let i = 0; i < 2000; i++) {
      const bits = new Uint32Array([(s.nextInt(1 << 16) << 16) >>> 0]);
      const v = new Float32Array(bits.buffer)[0]!;
      const a = Math.abs(v);
      if (a >= 2 ** -14 && a <= F16_MAX) expect(roundToF16(v)).toBe(v);
    }
  });
});
