/** WGSL helpers shared by the matrix-product kernels: reading B from its storage format, rounding to f16. */
import type { StorageFormat } from '../tensor.js';

/** WGSL: `bAt(i)`, element i of B as f32 (exact) from its storage format. */
export function readB(format: StorageFormat): string {
  if (format === 'bf16') return `
fn bAt(i: u32) -> f32 {
  let w = b[i >> 1u];
  return bitcast<f32>(select(w << 16u, w & 0xffff0000u, (i & 1u) == 1u));
}`;
  if (format === 'f16') return 'fn bAt(i: u32) -> f32 { return unpack2x16float(b[i >> 1u])[i & 1u]; }';
  return 'fn bAt(i: u32) -> f32 { return b[i]; }';
}

/** WGSL: `toHalf(x)`, x rounded to f16 with f16's range clamped (the f16 precision policy). */
export const TO_HALF = 'fn toHalf(x: f32) -> f16 { return f16(clamp(x, -65504.0, 65504.0)); }';

/** Operand scales of an f16 product (powers of two; see F16_GRAD_SCALE). */
export interface OperandScales {
  a: number;
  b: number;
}
