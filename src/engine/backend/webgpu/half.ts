/**
 * Host-side IEEE half precision (f16) for the WebGPU backend's f16 precision: frozen weights are
 * converted here, once, when they are uploaded.
 *
 * Policy for values f16 cannot hold exactly: round to nearest, ties to even; a magnitude beyond
 * the f16 maximum (65504) is clamped to ±65504 and counted (the kernels clamp activations the same
 * way, so a weight stored as f16 equals what the kernel would make of it in f32); a magnitude
 * below 2⁻¹⁴ becomes an f16 subnormal or zero, an absolute error of at most 2⁻²⁵ ≈ 3e-8. Every
 * bf16 value in [2⁻¹⁴, 65504] is exact in f16 (8 significant bits fit in 11), so a bf16
 * checkpoint changes only in its tiny entries. NaN stays NaN.
 */

/** The largest finite f16. */
export const F16_MAX = 65504;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The f16 bits of `x`, rounded to nearest even, clamped to ±F16_MAX. */
export function f16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return mant !== 0 ? 0x7e00 : sign | 0x7bff; // NaN; ±∞ clamps like any overflow
  const e = exp - 127 + 15; // f16 biased exponent
  if (e >= 0x1f) return sign | 0x7bff;
  if (e <= 0) {
    // subnormal or zero: the significand (with its implicit 1) shifted right by 1 − e + 13
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let h = m >>> shift;
    if (rest > half || (rest === half && (h & 1) === 1)) h++;
    return sign | h; // a carry into bit 10 is the smallest normal, which is right
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
  if ((h & 0x7fff) >= 0x7c00) return sign | 0x7bff; // rounded up past the maximum
  return sign | h;
}

/** The value of f16 bits `h`. */
export function f16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** `x` rounded to f16 under the policy above, as a number. */
export function roundToF16(x: number): number {
  return f16Value(f16Bits(x));
}

/**
 * `data` as f16, two per 32-bit word (the even element in the low half, as the kernels unpack
 * them), and how many values were clamped to ±F16_MAX.
 */
export function packF16(data: Float32Array): { words: Uint32Array; clamped: number } {
  const words = new Uint32Array(Math.ceil(data.length / 2));
  let clamped = 0;
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (Math.abs(x) > F16_MAX) clamped++;
    const h = f16Bits(x);
    words[i >> 1] = i & 1 ? (words[i >> 1]! | (h << 16)) >>> 0 : h;
  }
  return { words, clamped };
}
