/**
 * The WebGPU backend's f16 precision on lavapipe (which has shader-f16).
 *
 * Kernels, on awkward shapes, every matmul variant, the three linear ops and B stored as f32 or
 * as f16 (a big bf16 weight):
 * - bit-identical to the f32 path fed with the inputs rounded to f16 on the host (half.ts, checked
 *   against torch): the f16 kernels round as they stage, the products of two f16 values are exact
 *   in f32 and the f32 accumulation runs in the same order — so this pins rounding, clamping and
 *   the gradient operand's scale exactly;
 * - within 2⁻⁹·Σₖ|aₖbₖ| of the CPU backend on the raw inputs: each input rounded to f16 is within
 *   2⁻¹¹ relative, so each product within 2⁻¹⁰ (+2⁻²² ), and f32 accumulation adds far less.
 * The small preset (bf16 weights, stored as f16 at this precision) with LoRA: forward losses and a
 * few training steps against f32 within tolerances stated at each test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../../../src/engine/backend/backend.js';
import { CpuBackend } from '../../../src/engine/backend/cpu/cpu-backend.js';
import type { WebGpuBackend } from '../../../src/engine/backend/webgpu/backend.js';
import { gpu as gpuTensor } from '../../../src/engine/backend/webgpu/tensor.js';
import { MATMUL_VARIANTS } from '../../../src/engine/backend/webgpu/kernels/matmul.js';
import { roundToF16 } from '../../../src/engine/backend/webgpu/half.js';
import { F16_GRAD_SCALE } from '../../../src/engine/backend/webgpu/precision.js';
import { computeIdentity } from '../../../src/engine/run.js';
import { LlamaModel } from '../../../src/engine/llama.js';
import { Lora } from '../../../src/engine/lora.js';
import { PRESETS, initPresetWeights } from '../../../src/engine/presets.js';
import { Stream } from '../../../src/engine/prng.js';
import { adamwTrajectory, evalLosses, fillLoraB, maskedSequences, testWebGpu } from './webgpu-fixture.js';

let cpu: CpuBackend;
let gpu: WebGpuBackend;
beforeAll(async () => {
  cpu = new CpuBackend({ threads: 1 });
  gpu = await testWebGpu({ precision: 'f16' });
  expect(gpu.precision, 'lavapipe offers shader-f16, so f16 precision must be on').toBe('f16');
});
afterAll(() => {
  cpu?.dispose();
  gpu?.dispose();
});

function rand(s: Stream, n: number, bf16 = false): Float32Array {
  const a = Float32Array.from({ length: n }, () => s.next() * 2 - 1);
  if (bf16) new Uint32Array(a.buffer).forEach((w, i, arr) => { arr[i] = w & 0xffff0000; });
  return a;
}

type Op = 'forward' | 'backwardInput' | 'backwardWeight';

/** One linear op on `be`: x/dout [n, …], w [o, i]; returns the output. Inputs uploaded here. */
async function linear(be: Backend, op: Op, n: number, o: number, i: number, x: Float32Array, w: Float32Array, dout: Float32Array): Promise<Float32Array> {
  const W = be.fromArray(w, [o, i]);
  const made: Tensor[] = [W];
  let out: Tensor;
  if (op === 'forward') {
    const X = be.fromArray(x, [n, i]);
    out = be.zeros([n, o]);
    made.push(X);
    be.linearForward(out, X, W, false, 0.5);
  } else if (op === 'backwardInput') {
    const D = be.fromArray(dout, [n, o]);
    out = be.fromArray(x, [n, i]); // accumulates onto x
    made.push(D);
    be.linearBackwardInput(out, D, W, 0.75);
  } else {
    const D = be.fromArray(dout, [n, o]), X = be.fromArray(x, [n, i]);
    out = be.zeros([o, i]);
    made.push(D, X);
    be.linearBackwardWeight(out, D, X);
  }
  const r = await be.read(out);
  for (const t of [...made, out]) be.free(t);
  return r;
}

/** Σₖ|aₖ bₖ| for every output element of the op (the scale of its rounding error). */
function magnitudes(op: Op, n: number, o: number, i: number, x: Float32Array, w: Float32Array, dout: Float32Array): Float64Array {
  if (op === 'forward') {
    const m = new Float64Array(n * o);
    for (let r = 0; r < n; r++) for (let c = 0; c < o; c++) { let s = 0; for (let k = 0; k < i; k++) s += Math.abs(x[r * i + k]! * w[c * i + k]!); m[r * o + c] = 0.5 * s; }
    return m;
  }
  if (op === 'backwardInput') {
    const m = new Float64Array(n * i);
    for (let r = 0; r < n; r++) for (let c = 0; c < i; c++) { let s = 0; for (let k = 0; k < o; k++) s += Math.abs(dout[r * o + k]! * w[k * i + c]!); m[r * i + c] = 0.75 * s; }
    return m;
  }
  const m = new Float64Array(o * i);
  for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) { let s = 0; for (let k = 0; k < n; k++) s += Math.abs(dout[k * o + r]! * x[k * i + c]!); m[r * i + c] = s; }
  return m;
}

// [n, o, i]: one-element, edges of the 64 tile and the 16 step, long K (split-K), and a weight
// big enough (≥ 65536 elements) to be stored as f16
const SHAPES: [number, number, number][] = [[1, 1, 1], [5, 3, 17], [65, 63, 33], [37, 300, 129], [19, 7, 700], [40, 300, 256]];
const OPS: Op[] = ['forward', 'backwardInput', 'backwardWeight'];

describe('f16 matmul kernels', () => {
  for (const variant of MATMUL_VARIANTS) {
    it(`${variant}: bit-identical to the f32 path on f16-rounded inputs, and within 2⁻⁹·Σ|ab| of the cpu`, async () => {
      gpu.matmulVariant = variant;
      const s = new Stream(17);
      for (const [n, o, i] of SHAPES) {
        for (const op of OPS) {
          const bigWeight = o * i >= 65536;
          const x = rand(s, n * i), w = rand(s, o * i, bigWeight), dout = rand(s, n * o);
          gpu.precision = 'f16';
          const got = await linear(gpu, op, n, o, i, x, w, dout);
          // the same product in f32 on what the f16 kernels see: dout is scaled before rounding in backward ops
          const r = (a: Float32Array) => a.map(roundToF16);
          const rg = (a: Float32Array) => a.map((v) => roundToF16(v * F16_GRAD_SCALE) / F16_GRAD_SCALE);
          gpu.precision = 'f32';
          const xr = op === 'backwardInput' ? x : r(x); // backwardInput's x is the accumulator, never rounded
          const exact = await linear(gpu, op, n, o, i, xr, r(w), op === 'forward' ? dout : rg(dout));
          expect(Array.from(got), `${op} ${n}×${o}×${i}: f16 kernel vs f32 kernel on rounded inputs`).toEqual(Array.from(exact));
          const want = await linear(cpu, op, n, o, i, x, w, dout);
          const mag = magnitudes(op, n, o, i, x, w, dout);
          for (let e = 0; e < want.length; e++) {
            const bound = 2 ** -9 * mag[e]! + 1e-6 * Math.abs(want[e]!);
            if (!(Math.abs(got[e]! - want[e]!) <= bound)) expect.fail(`${variant} ${op} ${n}×${o}×${i} [${e}]: ${got[e]} vs cpu ${want[e]} (bound ${bound})`);
          }
        }
      }
      gpu.precision = 'f16';
      gpu.matmulVariant = 'auto';
    });
  }

  it('keeps gradients far below f16\'s normal range (cross-entropy on a big vocabulary) within 2⁻⁹·Σ|ab|, by scaling them', async () => {
    // dout ~ 1e-7: as f16 that would be a subnormal with 1–2 significant bits (or zero); scaled by
    // F16_GRAD_SCALE first it keeps all 11
    gpu.precision = 'f16';
    const s = new Stream(23);
    const [n, o, i] = [33, 70, 90];
    const x = rand(s, n * i), w = rand(s, o * i), dout = rand(s, n * o).map((v) => v * 1e-7);
    for (const op of ['backwardInput', 'backwardWeight'] as const) {
      const zero = new Float32Array(n * i);
      const got = await linear(gpu, op, n, o, i, op === 'backwardInput' ? zero : x, w, dout);
      const want = await linear(cpu, op, n, o, i, op === 'backwardInput' ? zero : x, w, dout);
      const mag = magnitudes(op, n, o, i, op === 'backwardInput' ? zero : x, w, dout);
      let worst = 0;
      for (let e = 0; e < want.length; e++) worst = Math.max(worst, Math.abs(got[e]! - want[e]!) / (2 ** -9 * mag[e]!));
      expect(worst, op).toBeLessThanOrEqual(1);
    }
  });

  it('stores big bf16 weights as f16 (exact in f16 range), reads, gathers and widens them exactly', async () => {
    gpu.precision = 'f16';
    const s = new Stream(5);
    const table = rand(s, 300 * 256, true);
    table[0] = -1.0000000001e-6 // a bf16 value below f16's normal range: rounded (by at most 2⁻²⁵)
    new Uint32Array(table.buffer)[0]! &= 0xffff0000;
    const t = gpu.fromArray(table, [300, 256]);
    expect(gpuTensor(t).format).toBe('f16');
    expect(gpuTensor(t).bytes).toBe(300 * 256 * 2);
    const expected = table.map(roundToF16);
    expect(expected[0]).not.toBe(table[0]);
    expect(Math.abs(expected[0]! - table[0]!)).toBeLessThanOrEqual(2 ** -25);
    expect(Array.from(await gpu.read(t))).toEqual(Array.from(expected));
    const ids = gpu.fromArray(Int32Array.from([299, 0, 7]), [3]);
    const rows = gpu.zeros([3, 256]);
    gpu.embeddingForward(rows, ids, t);
    const got = await gpu.read(rows);
    [299, 0, 7].forEach((id, r) => expect(Array.from(got.subarray(r * 256, (r + 1) * 256))).toEqual(Array.from(expected.subarray(id * 256, (id + 1) * 256))));
    gpu.scale(t, t, 2); // any other op widens the storage to f32 in place, exactly
    expect(gpuTensor(t).format).toBe('f32');
    expect(Array.from(await gpu.read(t))).toEqual(Array.from(expected.map((v) => 2 * v)));
    // small arrays, non-bf16 values and 1-D arrays (LoRA, norms, RoPE tables) stay f32
    for (const [data, shape] of [[rand(s, 64 * 64, true), [64, 64]], [rand(s, 300 * 256), [300, 256]], [rand(s, 70000, true), [70000]]] as const) {
      const u = gpu.fromArray(data, shape);
      expect(gpuTensor(u).format).toBe('f32');
      gpu.free(u);
    }
    for (const x of [t, ids, rows]) gpu.free(x);
  });

  it('names the precision in the compute identity', () => {
    gpu.precision = 'f16';
    expect(gpu.identity().kernels).toMatchObject({ precision: 'f16', matmul: 'auto' });
    expect(computeIdentity(gpu).key).toMatch(/ · webgpu · attention=tiled matmul=auto precision=f16 · /);
    gpu.precision = 'f32';
    expect(computeIdentity(gpu).key).toMatch(/precision=f32/);
    gpu.precision = 'f16';
  });
});

// ─── the small preset with LoRA, f16 against f32 ──────────────────────────────────────────────

const config = { ...PRESETS.small, maxPositionEmbeddings: 64 };
const weights = initPresetWeights(config, 3);
const LORA = { rank: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'v_proj'] };

const sequences = (count: number, T: number, seed: number) => maskedSequences(config.vocabSize, count, T, seed);

/** Eval losses of 3 sequences with LoRA B set non-zero, then the losses of 6 AdamW steps (batch 1, dropout on). */
async function run(be: Backend): Promise<{ evalLosses: number[]; trainLosses: number[]; lora: Float32Array; grad: Float32Array }> {
  const model = LlamaModel.load(be, config, { get: (n) => weights.get(n)! });
  const lora = Lora.create(be, config, LORA, 11);
  fillLoraB(be, lora, 5);
  const evals = await evalLosses(be, model, lora, sequences(3, 48, 21));
  let grad: Float32Array = new Float32Array(0);
  const trainLosses = await adamwTrajectory(be, model, lora, sequences(3, 32, 31), 6, 7, async (step) => {
    if (step === 1) grad = await be.read(lora.flat.grad);
  });
  const loraValues = await be.read(lora.flat.param);
  lora.free();
  model.free();
  return { evalLosses: evals, trainLosses, lora: loraValues, grad };
}

describe('small Llama + LoRA at f16 precision', () => {
  it('follows f32 (and the cpu): losses within 2e-3, the first gradient within 1e-2, LoRA weights after 6 steps within 5e-2 (relative)', async () => {
    gpu.precision = 'f32';
    const f32 = await run(gpu);
    gpu.precision = 'f16';
    const f16 = await run(gpu);
    const ref = await run(cpu);
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
    const relL2 = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((t, v, i) => t + (v - b[i]!) ** 2, 0) / b.reduce((t, v) => t + v * v, 0));
    // f32 webgpu is the cpu within the f32 suite's tolerances: the comparisons below are against a right answer
    f32.evalLosses.forEach((l, i) => expect(rel(l, ref.evalLosses[i]!)).toBeLessThanOrEqual(1e-4));
    expect(relL2(f32.grad, ref.grad)).toBeLessThanOrEqual(1e-4);
    // Losses: every linear input rounded to 11 significant bits (≤ 2⁻¹² relative, ~2⁻¹³ on
    // average); through 4 layers and the head the logits move by ~1e-3 of their size and the
    // loss (≈ 6–7 here) by ~1e-4 of itself (lavapipe: 4e-5 evaluating, 4e-4 after a few steps
    // of training on slightly different gradients). 2e-3 is 5× that, still well under one
    // training step's change (≥ 1.5e-2 here).
    const worstEval = Math.max(...f16.evalLosses.map((l, i) => rel(l, f32.evalLosses[i]!)));
    const worstTrain = Math.max(...f16.trainLosses.map((l, i) => rel(l, f32.trainLosses[i]!)));
    expect(worstEval).toBeLessThanOrEqual(2e-3);
    expect(worstTrain).toBeLessThanOrEqual(2e-3);
    expect(f16.evalLosses).not.toEqual(f32.evalLosses); // the f16 path really ran
    // The first LoRA gradient (before Adam): each backward product has inputs within 2⁻¹¹ and
    // the errors of a few layers add up (lavapipe: 1.7e-3 relative L2); 1e-2 allows for it.
    const gradErr = relL2(f16.grad, f32.grad);
    expect(gradErr).toBeLessThanOrEqual(1e-2);
    // After 6 AdamW steps: Adam divides each gradient element by its own running size, so
    // elements whose gradient is near zero move by ±lr on rounding noise alone; the weights as
    // a whole stay within a few % (lavapipe: 1.1e-2 relative L2).
    const loraErr = relL2(f16.lora, f32.lora);
    expect(loraErr).toBeLessThanOrEqual(5e-2);
    console.log(`f16 vs f32 on ${gpu.adapter.description}: eval loss ${worstEval.toExponential(2)}, train loss ${worstTrain.toExponential(2)}, first gradient ${gradErr.toExponential(2)}, LoRA after 6 steps ${loraErr.toExponential(2)} (relative)`);
  });
});
