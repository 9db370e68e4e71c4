/**
 * The self-check a matrix-product kernel passes on the device before the backend uses it: awkward
 * shapes (edges of every tile size, K not a multiple of any step, one-element products), every
 * operand layout and every storage format of B, overwrite and scaled accumulation — each computed
 * by the candidate and by the f32 tile kernel, compared element by element.
 *
 * Tolerance, per element: |candidate − f32| ≤ rel · Σₖ|aₖ·bₖ| + 2⁻²⁰·|c₀| + 1e-30, with rel = 2⁻⁹
 * for f16 inputs (each input rounded to f16 is within 2⁻¹¹ relative, so each product within
 * 2⁻¹⁰; f32 accumulation over these K adds under 2⁻¹⁵; half of the margin is left for hardware
 * that accumulates less carefully) and 2⁻¹⁶ for f32 inputs. A kernel that indexes, masks or
 * converts wrongly misses by orders of magnitude more.
 */
import type { GpuRuntime } from '../runtime.js';
import type { StorageFormat } from '../tensor.js';
import type { Precision } from '../precision.js';
import { packF16, roundToF16 } from '../half.js';
import { Stream } from '../../../prng.js';
import { gemm, type MatmulLayout } from './matmul.js';
import type { OperandScales } from './operands.js';
import type { Bound } from './launch.js';

/** A dense product kernel: C[M,N] (=|+=) alpha · op(A)·op(B); alpha already divided by the operand scales. */
export type MatmulKernel = (c: Bound, a: Bound, b: Bound, s: { m: number; n: number; k: number }, layout: MatmulLayout, alpha: number, accumulate: boolean, scales: OperandScales) => void;

export const CHECK_SHAPES: readonly [number, number, number][] = [
  [1, 1, 1], [7, 13, 5], [64, 64, 64], [65, 63, 33], [130, 70, 200], [33, 257, 96], [256, 128, 300],
];
const LAYOUTS: readonly MatmulLayout[] = [{ a: 'mk', b: 'nk' }, { a: 'mk', b: 'kn' }, { a: 'km', b: 'kn' }];
const FORMATS: readonly StorageFormat[] = ['f32', 'bf16', 'f16'];

export type CheckResult = { ok: true; cases: number; worst: number } | { ok: false; reason: string };

/** The values of `x` as B stores them in `format`, and the buffer words to upload. */
function storeAs(x: Float32Array, format: StorageFormat): { values: Float32Array; words: Float32Array | Uint32Array } {
  if (format === 'f32') return { values: x, words: x };
  if (format === 'f16') return { values: x.map(roundToF16), words: packF16(x).words };
  const bits = new Uint32Array(x.buffer.slice(0)).map((w) => w & 0xffff0000); // bf16 by truncation
  const values = new Float32Array(bits.buffer);
  const words = new Uint32Array(Math.ceil(x.length / 2));
  for (let i = 0; i < x.length; i++) words[i >> 1] = (words[i >> 1]! | ((bits[i]! >>> 16) << (i & 1 ? 16 : 0))) >>> 0;
  return { values, words };
}

/**
 * Runs `candidate` and the f32 tile kernel on every case and compares them (see the header).
 * Reads back once per case; errors the candidate causes are the caller's to capture.
 */
export async function checkMatmulKernel(rt: GpuRuntime, candidate: MatmulKernel, inputs: Precision): Promise<CheckResult> {
  const rel = inputs === 'f16' ? 2 ** -9 : 2 ** -16;
  const s = new Stream(0x5eed);
  const rand = (n: number) => Float32Array.from({ length: n }, () => s.next() * 2 - 1);
  let cases = 0, worst = 0;
  for (const [i, [m, n, k]] of CHECK_SHAPES.entries()) {
    for (const [j, layout] of LAYOUTS.entries()) {
      const format = FORMATS[(i + j) % FORMATS.length]!;
      const accumulate = (i + j) % 2 === 1;
      const alpha = accumulate ? 0.75 : 1;
      const a = rand(m * k), bRaw = rand(k * n), c0 = rand(m * n);
      const b = storeAs(bRaw, format);
      const buf = (data: Float32Array | Uint32Array, label: string, fmt: StorageFormat = 'f32'): Bound => {
        const bytes = data.byteLength;
        const buffer = rt.allocate(bytes, label);
        rt.upload(buffer, data);
        return { buffer, bytes, format: fmt };
      };
      const A = buf(a, 'check.a'), B = buf(b.words, 'check.b', format);
      const C1 = buf(c0, 'check.c1'), C2 = buf(c0, 'check.c2');
      candidate(C1, A, B, { m, n, k }, layout, alpha, accumulate, { a: 1, b: 1 });
      gemm(rt, C2, A, B, { m, n, k }, layout, alpha, accumulate);
      const [got, want] = (await rt.readMany([C1, C2])).map((x) => new Float32Array(x));
      for (const x of [A, B, C1, C2]) rt.release(x.buffer);
      cases++;
      for (let r = 0; r < m; r++) {
        for (let col = 0; col < n; col++) {
          let mag = 0;
          for (let q = 0; q < k; q++) {
            const av = layout.a === 'mk' ? a[r * k + q]! : a[q * m + r]!;
            const bv = layout.b === 'kn' ? b.values[q * n + col]! : b.values[col * k + q]!;
            mag += Math.abs(av * bv);
          }
          const idx = r * n + col;
          const bound = rel * Math.abs(alpha) * mag + (accumulate ? 2 ** -20 * Math.abs(c0[idx]!) : 0) + 1e-30;
          const err = Math.abs(got![idx]! - want![idx]!);
          if (!(err <= bound)) {
            return { ok: false, reason: `${m}×${n}×${k} ${layout.a}/${layout.b}, B ${format}${accumulate ? ', accumulating' : ''}: element [${r},${col}] is ${got![idx]}, the f32 kernel gives ${want![idx]} (tolerance ${bound.toExponential(2)})` };
          }
          worst = Math.max(worst, err / bound);
        }
      }
    }
  }
  return { ok: true, cases, worst };
}
