/**
 * The WebGPU backend's compute precision. 'f32': every product in f32. 'f16': the inputs of the
 * linear layers' matrix products rounded to f16 (half.ts's policy) and multiplied with f32
 * accumulation — what tensor cores do; frozen bf16 weights are stored as f16. LoRA weights,
 * gradients, Adam state, attention and every other op stay f32. Needs the adapter's `shader-f16`.
 */
import { UsageError } from '../../../util/errors.js';

export const PRECISIONS = ['f32', 'f16'] as const;
export type Precision = (typeof PRECISIONS)[number];

/** Validates a `--precision` value. */
export function parsePrecision(value: string): Precision {
  if ((PRECISIONS as readonly string[]).includes(value)) return value as Precision;
  throw new UsageError(`Invalid --precision "${value}". Expected one of: ${PRECISIONS.join(', ')}.`);
}

/** The precision asked for by FLOCK_WEBGPU_PRECISION, else 'f32'. */
export function precisionFromEnv(): Precision {
  return process.env['FLOCK_WEBGPU_PRECISION'] === 'f16' ? 'f16' : 'f32';
}

/**
 * At f16 precision a gradient operand (dout in the backward products) is multiplied by this
 * power of two before it is rounded to f16, and the product divided by it after (both exact):
 * gradients are small (a cross-entropy gradient is p/tokens, often under f16's smallest normal
 * 6.1e-5), and scaling keeps them out of f16's subnormal range — PyTorch's loss scaling, fixed.
 * Gradient entries up to 65504/2¹⁰ = 64 fit; larger ones are clamped.
 */
export const F16_GRAD_SCALE = 2 ** 10;
