/**
 * The fast CPU kernels against the plain-loop reference (src/engine/backend/cpu/reference.ts):
 * the register-blocked JS kernels (kernels.ts, called directly) and the WebAssembly SIMD kernels
 * (wasm-matmul.ts, attention-wasm.ts, one instance as ops.ts makes per thread), on shapes chosen
 * to hit every tile edge: sizes 1, primes, sizes that are not multiples of the JS 4×4 tiles or of
 * the SIMD kernels' 4×2 and 4×8 tiles and 4-float k steps, several weight blocks and k chunks,
 * T = 1, GQA groups.
 * Work ranges split at odd points must give exactly what the full range gives.
 *
 * Tolerances. The reference runs in float64 and is kept unrounded (Float64Array outputs): it is
 * the math on the float32 inputs, to ~1e-16. Each check allows, per element i,
 *     |got_i − ref_i| ≤ rel · |ref_i| + coef · mag_i + floor
 * with worst-case rounding bounds derived next to each check (u = 2⁻²⁴, the float32 unit
 * roundoff; γ_n = n·u / (1 − n·u), Higham's bound on n successive roundings):
 *  - rel = u: the one rounding of a float64 result to float32 on store. The JS kernels sum in
 *    float64 and round once, so for them this is the whole float32 allowance: they must be
 *    correctly rounded, within half a float32 ulp of the math (plus γ_k where a kernel adds into
 *    a float32 output k times: rmsnorm dw, attention dk/dv, embedding backward; and the three
 *    roundings in kernels.ts's rmsnorm forward).
 *  - coef · mag: float32 sums, with mag_i the sum of the absolute values of the terms of element i
 *    (e.g. |base| + Σ|dout|), so the bound holds under cancellation. For the SIMD linear layers
 *    the allowance is a running error bound of the kernel's lane-wise dot product (simdDotBound
 *    below), ~√K sharper than γ_{⌈K/4⌉+3}·Σ|x||w|, or of the input backward's chunked sum
 *    (simdChunkedDotBound); for SIMD attention, γ bounds through the chain
 *    of products (scores → softmax → P·V; dP → dS → dQ, dK, dV).
 *  - floor = 2⁻⁴⁰ · max(|ref|, mag): float64 evaluation differences between the reference and the
 *    kernels (~n·2⁻⁵³ of the magnitudes), 2¹⁶ times below a float32 ulp of the largest value.
 * A correct kernel cannot exceed these bounds, and they are not slack: the largest errors measured
 * (logged after the run) reach up to 100 % of the bound on the once-rounded JS ops and 10–85 %
 * on the float32 SIMD sums. A mismatch beyond them is a bug, not rounding.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as K from '../../../../src/engine/backend/cpu/kernels.js';
import * as R from '../../../../src/engine/backend/cpu/reference.js';
import { BACKWARD_K_CHUNK, WasmMatmul } from '../../../../src/engine/backend/cpu/wasm-matmul.js';
import { attentionBackwardWasm, attentionForwardWasm } from '../../../../src/engine/backend/cpu/attention-wasm.js';
import { ropeTables } from '../../../../src/engine/backend/rope.js';
import { Stream } from '../../../../src/engine/prng.js';

// ─── numbers ───────────────────────────────────────────────────────────────────────────────────

/** float32 unit roundoff (half an ulp, relative). */
const U = 2 ** -24;
/** Higham's γ_n: the relative bound on n successive float32 roundings. */
const gamma = (n: number) => (n * U) / (1 - n * U);
/** float64 evaluation noise, relative to the tensor's largest magnitude (see the header). */
const F64_FLOOR = 2 ** -40;

const rng = new Stream(0x7e57ab1e);
/** Uniform in [lo, hi), exactly representable in float32. */
function rand(n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.fround(lo + (hi - lo) * rng.next());
  return a;
}
/** float64 copies (plain loops: TypedArray.from with a map function is ~50× slower in V8). */
function f64(a: Float32Array): Float64Array {
  const r = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) r[i] = a[i]!;
  return r;
}
function abs64(a: Float32Array): Float64Array {
  const r = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) r[i] = Math.abs(a[i]!);
  return r;
}

// ─── the comparison helper ─────────────────────────────────────────────────────────────────────

interface Allowance {
  /** Relative allowance on |ref_i| (the store rounding). */
  rel: number;
  /** Per-element magnitude of the summed terms, scaled by `coef`. */
  mag?: ArrayLike<number>;
  coef?: number;
}
interface Measured {
  /** max_i |got_i − ref_i| / allowed_i: must be ≤ 1. */
  worst: number;
  at: number;
  maxAbs: number;
  /** max_i |got_i − ref_i| / (u · max_i |ref_i|): the error in float32 units of the largest value. */
  ulpsOfMax: number;
}

function measure(got: ArrayLike<number>, ref: ArrayLike<number>, a: Allowance): Measured {
  if (got.length !== ref.length) throw new Error(`length ${got.length} vs ${ref.length}`);
  const coef = a.coef ?? 0;
  let refMax = 0, magMax = 0;
  for (let i = 0; i < ref.length; i++) {
    refMax = Math.max(refMax, Math.abs(ref[i]!));
    if (a.mag) magMax = Math.max(magMax, coef * a.mag[i]!);
  }
  const floor = F64_FLOOR * Math.max(refMax, magMax);
  let worst = 0, at = -1, maxAbs = 0;
  for (let i = 0; i < ref.length; i++) {
    const diff = Math.abs(got[i]! - ref[i]!);
    const allowed = a.rel * Math.abs(ref[i]!) + (a.mag ? coef * a.mag[i]! : 0) + floor;
    const ratio = Number.isNaN(diff) ? Infinity : diff === 0 ? 0 : allowed === 0 ? Infinity : diff / allowed;
    if (ratio > worst) { worst = ratio; at = i; }
    if (!(diff <= maxAbs)) maxAbs = diff;
  }
  return { worst, at, maxAbs, ulpsOfMax: refMax === 0 ? (maxAbs === 0 ? 0 : Infinity) : maxAbs / (U * refMax) };
}

/** Per op and variant, the largest errors seen (logged after the run for the record). */
const record = new Map<string, { worst: number; maxAbs: number; ulpsOfMax: number; checks: number }>();

function expectClose(name: string, got: ArrayLike<number>, ref: ArrayLike<number>, a: Allowance): void {
  const m = measure(got, ref, a);
  const r = record.get(name.split(' ')[0]!) ?? { worst: 0, maxAbs: 0, ulpsOfMax: 0, checks: 0 };
  record.set(name.split(' ')[0]!, { worst: Math.max(r.worst, m.worst), maxAbs: Math.max(r.maxAbs, m.maxAbs), ulpsOfMax: Math.max(r.ulpsOfMax, m.ulpsOfMax), checks: r.checks + 1 });
  expect(m.worst, `${name}: element ${m.at} got ${got[m.at]} want ${ref[m.at]} (${m.worst.toFixed(3)}× the allowed error)`).toBeLessThanOrEqual(1);
}

/** Bit-for-bit equality of two float32 arrays (NaN payloads and −0 included). */
function expectBits(name: string, a: Float32Array, b: Float32Array): void {
  expect(a.length).toBe(b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let first = -1;
  for (let i = 0; i < ua.length && first < 0; i++) if (ua[i] !== ub[i]) first = i;
  expect(first, `${name}: first differing element ${first}: ${a[first]} vs ${b[first]}`).toBe(-1);
}

/**
 * A running (a-posteriori) bound on the float32 rounding error of the SIMD kernel's dot product
 * Σ_k a[ao + k·as]·b[bo + k·bs], k < K, in the order wasm-matmul.ts documents: lane l sums the
 * products with k ≡ l (mod 4) in order, then ((l0 + l1) + l2) + l3 (zero padding adds exactly).
 * Every rounding errs by at most u times the value it rounds (Higham, Accuracy and Stability of
 * Numerical Algorithms, §3.1): u·(Σ|products| + Σ|partial sums after each lane add| + |the three
 * lane sums|), evaluated with the exact partial sums, plus the second-order term for the partial
 * sums themselves being computed (n·u·γ_n·Σ|products|, n = ⌈K/4⌉ + 3 roundings per product).
 * It is a sharper worst case than γ_n·Σ|products|: partial sums of random-signed terms grow like
 * √k, not k.
 */
function simdDotBound(a: Float32Array, ao: number, as: number, b: Float32Array, bo: number, bs: number, K: number): number {
  const lane = [0, 0, 0, 0];
  let products = 0, partials = 0;
  for (let k = 0; k < K; k++) {
    const p = a[ao + k * as]! * b[bo + k * bs]!;
    products += Math.abs(p);
    lane[k & 3] += p;
    if (k >= 4) partials += Math.abs(lane[k & 3]!);
  }
  const s01 = lane[0]! + lane[1]!, s012 = s01 + lane[2]!;
  partials += Math.abs(s01) + Math.abs(s012) + Math.abs(s012 + lane[3]!);
  const n = Math.ceil(K / 4) + 3;
  return U * (products + partials) + n * U * gamma(n) * products;
}

/** simdDotBound of every output of out[N,O] = x[N,I]·w[O,I]ᵀ. */
function simdForwardBound(x: Float32Array, w: Float32Array, N: number, I: number, O: number): Float64Array {
  const b = new Float64Array(N * O);
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) b[n * O + o] = simdDotBound(x, n * I, 1, w, o * I, 1, I);
  return b;
}

/**
 * The same running bound for the order of wasm-matmul.ts's input backward (mmnn): the products
 * k < K are summed in order in chunks of `chunk` (each chunk's sum starting at 0), and the chunk
 * sums added in order to a total starting at 0. Every rounding contributes u times what it
 * rounds: each product, each add inside a chunk but its first (0 + p is exact) and each add of a
 * chunk sum but the first; plus the second-order term for n = min(K, chunk) + ⌈K/chunk⌉ roundings
 * per product.
 */
function simdChunkedDotBound(a: Float32Array, ao: number, as: number, b: Float32Array, bo: number, bs: number, K: number, chunk: number): number {
  let products = 0, partials = 0, total = 0;
  for (let k0 = 0; k0 < K; k0 += chunk) {
    let s = 0;
    for (let k = k0; k < Math.min(K, k0 + chunk); k++) {
      const p = a[ao + k * as]! * b[bo + k * bs]!;
      products += Math.abs(p);
      s += p;
      if (k > k0) partials += Math.abs(s);
    }
    total += s;
    if (k0 > 0) partials += Math.abs(total);
  }
  const n = Math.min(K, chunk) + Math.ceil(K / chunk);
  return U * (products + partials) + n * U * gamma(n) * products;
}

/** simdChunkedDotBound of every output of dx[N,I] = dout[N,O]·w[O,I] (the sum runs over o). */
function simdBackwardInputBound(dout: Float32Array, w: Float32Array, N: number, I: number, O: number): Float64Array {
  const b = new Float64Array(N * I);
  for (let n = 0; n < N; n++) for (let i = 0; i < I; i++) b[n * I + i] = simdChunkedDotBound(dout, n * O, 1, w, i, I, O, BACKWARD_K_CHUNK);
  return b;
}

/** Split points of [0, n) to try: odd places, the first and last unit, and a three-way split. */
function splits(n: number): number[][] {
  const cuts = new Set<number>();
  for (const c of [1, 2, 3, 5, 7, Math.floor(n / 2), n - 1, n - 3]) if (c > 0 && c < n) cuts.add(c);
  const out = [...cuts].map((c) => [0, c, n]);
  if (n >= 4) out.push([0, 1, n - 2, n]);
  return out;
}

/**
 * The splits for one mode of a linear test: all of them on small shapes; on the large ones (over
 * a million products, where each extra pass costs ~20 ms) two odd splits, in the first mode only.
 */
function splitsFor(n: number, work: number, mode: number): number[][] {
  if (work < 1e6) return splits(n);
  return mode === 0 ? [[0, 1, n], [0, 3, n - 1, n]] : [];
}

afterAll(() => {
  const rows = [...record].sort(([a], [b]) => a.localeCompare(b)).map(([op, r]) =>
    `${op.padEnd(34)} checks ${String(r.checks).padStart(3)}  max|err| ${r.maxAbs.toExponential(2).padStart(9)}  = ${r.ulpsOfMax.toFixed(3).padStart(8)} u·max|ref|  worst ${(100 * r.worst).toFixed(1).padStart(5)}% of bound`);
  console.log(`fast kernels vs reference (u = 2^-24):\n${rows.join('\n')}`);
});

const wm = WasmMatmul.create();

// ─── the helper is not vacuous ─────────────────────────────────────────────────────────────────

describe('comparison helper', () => {
  it('passes a correct kernel and fails a perturbed output or a kernel that drops one term', () => {
    const N = 7, I = 10, O = 9;
    const x = rand(N * I), w = rand(O * I);
    const ref = new Float64Array(N * O), mag = new Float64Array(N * O);
    R.linearForward(ref, x, w, N, I, O);
    R.linearForward(mag, abs64(x), abs64(w), N, I, O);
    const jsBound = { rel: U, mag, coef: 2 * (I + 3) * 2 ** -53 };
    const wasmBound = { rel: U, mag: simdForwardBound(x, w, N, I, O), coef: 1 };
    const got = new Float32Array(N * O);
    K.linearForward(got, x, w, N, I, O, false, 1);
    expect(measure(got, ref, jsBound).worst).toBeLessThanOrEqual(1);
    // one element off by 8u relative (a few ulps): beyond the JS kernels' half-ulp bound
    const bad = got.slice();
    bad[5 * O + 8] = bad[5 * O + 8]! * (1 + 8 * U);
    expect(measure(bad, ref, jsBound).worst).toBeGreaterThan(1);
    // an edge bug: the last output column misses its last product (a k-tail off by one); even the
    // SIMD kernel's looser float32 bound rejects it
    const edge = got.slice();
    for (let n = 0; n < N; n++) edge[n * O + O - 1] = edge[n * O + O - 1]! - x[n * I + I - 1]! * w[(O - 1) * I + I - 1]!;
    expect(measure(edge, ref, jsBound).worst).toBeGreaterThan(1);
    expect(measure(edge, ref, wasmBound).worst).toBeGreaterThan(1);
    // a NaN never passes; a zero reference demands an exact zero
    const nan = got.slice();
    nan[0] = NaN;
    expect(measure(nan, ref, wasmBound).worst).toBe(Infinity);
    expect(measure(Float32Array.of(1e-30), Float64Array.of(0), { rel: U }).worst).toBe(Infinity);
  });
});

// ─── the reference agrees with itself ──────────────────────────────────────────────────────────

/**
 * Each reference backward against central differences of its reference forward, all in float64
 * (L = Σ r·out; step 1e-5, so truncation ~1e-10 and cancellation ~1e-11): a third witness,
 * independent of the fast kernels, that the backward formulas are the derivatives of the forwards.
 */
describe('reference backward = derivative of reference forward (float64 finite differences)', () => {
  const r64 = (n: number) => f64(rand(n));
  function fdCheck(name: string, x: Float64Array, loss: () => number, grad: Float64Array, samples = 16): void {
    const h = 1e-5;
    for (let s = 0; s < samples; s++) {
      const j = s < x.length ? Math.floor((s * x.length) / Math.min(samples, x.length)) : rng.nextInt(x.length);
      const keep = x[j]!;
      x[j] = keep + h;
      const lp = loss();
      x[j] = keep - h;
      const lm = loss();
      x[j] = keep;
      const fd = (lp - lm) / (2 * h);
      expect(Math.abs(fd - grad[j]!), `${name}[${j}]: analytic ${grad[j]} vs numeric ${fd}`).toBeLessThan(1e-7 * (1 + Math.abs(fd)));
    }
  }
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((acc, v, i) => acc + v * b[i]!, 0);

  it('linear', () => {
    const N = 3, I = 5, O = 4, x = r64(N * I), w = r64(O * I), r = r64(N * O), out = new Float64Array(N * O);
    const loss = () => { R.linearForward(out, x, w, N, I, O, false, 0.7); return dot(out, r); };
    const dx = new Float64Array(N * I), dw = new Float64Array(O * I);
    R.linearBackwardInput(dx, r, w, N, I, O, 0.7);
    R.linearBackwardWeight(dw, r, x, N, I, O, 0.7);
    fdCheck('linear dx', x, loss, dx);
    fdCheck('linear dw', w, loss, dw);
  });

  it('rmsnorm', () => {
    const N = 3, H = 7, x = r64(N * H), w = r64(H), r = r64(N * H), out = new Float64Array(N * H), rstd = new Float64Array(N);
    const loss = () => { R.rmsnormForward(out, rstd, x, w, N, H, 1e-5); return dot(out, r); };
    loss();
    const dx = new Float64Array(N * H), dw = new Float64Array(H);
    R.rmsnormBackward(dx, dw, r, x, w, rstd, N, H);
    fdCheck('rmsnorm dx', x, loss, dx);
    fdCheck('rmsnorm dw', w, loss, dw);
  });

  it('rope', () => {
    const N = 3, heads = 2, D = 6, P = 9, x = r64(N * heads * D), r = r64(N * heads * D), out = new Float64Array(x.length);
    const cos = r64(P * D / 2), sin = r64(P * D / 2), pos = Int32Array.of(0, 8, 4);
    const loss = () => { R.ropeForward(out, x, pos, cos, sin, N, heads, D, P); return dot(out, r); };
    const dx = new Float64Array(x.length);
    R.ropeBackward(dx, r, pos, cos, sin, N, heads, D, P);
    fdCheck('rope dx', x, loss, dx);
  });

  it('attention (GQA)', () => {
    const B = 2, T = 5, NH = 4, KV = 2, D = 3;
    const q = r64(B * T * NH * D), k = r64(B * T * KV * D), v = r64(B * T * KV * D), r = r64(q.length);
    const out = new Float64Array(q.length), probs = new Float64Array(B * NH * T * T);
    const loss = () => { R.attentionForward(out, probs, q, k, v, B, T, NH, KV, D); return dot(out, r); };
    loss();
    const dq = new Float64Array(q.length), dk = new Float64Array(k.length), dv = new Float64Array(v.length);
    R.attentionBackward(dq, dk, dv, r, probs, q, k, v, B, T, NH, KV, D);
    fdCheck('attention dq', q, loss, dq);
    fdCheck('attention dk', k, loss, dk);
    fdCheck('attention dv', v, loss, dv);
  });

  it('swiglu', () => {
    const n = 9, gate = f64(rand(n, -6, 6)), up = r64(n), r = r64(n), out = new Float64Array(n);
    const loss = () => { R.swigluForward(out, gate, up, n); return dot(out, r); };
    const dg = new Float64Array(n), du = new Float64Array(n);
    R.swigluBackward(dg, du, r, gate, up, n);
    fdCheck('swiglu dgate', gate, loss, dg);
    fdCheck('swiglu dup', up, loss, du);
  });

  it('cross-entropy (a −100 row included)', () => {
    const N = 3, V = 6, logits = f64(rand(N * V, -3, 3)), targets = Int32Array.of(2, -100, 5), r = r64(N), losses = new Float64Array(N);
    const loss = () => { R.crossEntropyForward(losses, logits, targets, N, V); return dot(losses, r); };
    const dz = new Float64Array(N * V);
    R.crossEntropyBackward(dz, r, logits, targets, N, V);
    fdCheck('cross-entropy dlogits', logits, loss, dz, N * V);
  });
});

// ─── linear layers ─────────────────────────────────────────────────────────────────────────────

/**
 * [N, I, O]. The first two come first on purpose: they grow the wasm memory, so the small shapes
 * after them run over stale contents (padding must be re-zeroed). [5, 4101, 603]: forward W in
 * three 254-row blocks (Kp = 4104); input backward over o = 603 in chunks of 256, 256, 91, with
 * I padded 4101 → 4104. [6, 301, 4099]: input backward in 17 chunks (the last of 3), I padded
 * 301 → 304; forward in blocks of 1724. [133, 9, 261]: the input backward in two passes of rows
 * (128 + 5), two chunks. The rest: 1s, primes, non-multiples of 4, 2 and 8, LoRA-thin shapes.
 */
const LINEAR_SHAPES: ReadonlyArray<readonly [number, number, number]> = [
  [5, 4101, 603], [6, 301, 4099],
  [1, 1, 1], [1, 7, 3], [2, 3, 5], [3, 1, 4], [4, 4, 4], [5, 8, 2], [7, 10, 9], [8, 64, 1], [1, 64, 8],
  [13, 4, 33], [9, 33, 4], [13, 17, 11], [16, 16, 16], [16, 64, 48], [17, 33, 19], [31, 5, 37], [29, 127, 61],
  [133, 9, 261],
];
const LINEAR_MODES: ReadonlyArray<{ accumulate: boolean; scale: number }> = [
  { accumulate: false, scale: 1 }, { accumulate: true, scale: 1 }, { accumulate: false, scale: -1.7 }, { accumulate: true, scale: 0.3 },
];

describe('linear layers vs reference', () => {
  it('has the SIMD kernel in this Node', () => expect(wm).not.toBeNull());

  for (const [N, I, O] of LINEAR_SHAPES) {
    it(`forward N=${N} I=${I} O=${O}: JS and SIMD, accumulate/scale, split rows`, () => {
      const x = rand(N * I), w = rand(O * I), base = rand(N * O);
      const simdErr = simdForwardBound(x, w, N, I, O);
      for (const [mode, { accumulate, scale }] of LINEAR_MODES.entries()) {
        const tag = `acc=${accumulate} scale=${scale}`;
        const ref = accumulate ? f64(base) : new Float64Array(N * O);
        R.linearForward(ref, x, w, N, I, O, accumulate, scale);
        const mag = accumulate ? abs64(base) : new Float64Array(N * O);
        R.linearForward(mag, abs64(x), abs64(w), N, I, O, true, Math.abs(scale));
        // JS: float64 sums (error ≤ (I+2)·2⁻⁵³·mag, doubled for the reference's own), one rounding
        const js = base.slice();
        K.linearForward(js, x, w, N, I, O, accumulate, scale);
        expectClose(`linearForward/js ${tag}`, js, ref, { rel: U, mag, coef: 2 * (I + 3) * 2 ** -53 });
        // SIMD: the float32 dot's running bound, times |scale|, then the scale/accumulate store (u)
        const simd = base.slice();
        wm!.linearForward(simd, x, w, I, O, accumulate, scale, 0, N);
        expectClose(`linearForward/wasm ${tag}`, simd, ref, { rel: U, mag: simdErr, coef: Math.abs(scale) * (1 + 2 * U) });
        for (const cut of splitsFor(N, N * I * O, mode)) {
          const js2 = base.slice(), simd2 = base.slice();
          for (let s = 0; s + 1 < cut.length; s++) {
            K.linearForward(js2, x, w, N, I, O, accumulate, scale, cut[s]!, cut[s + 1]!);
            wm!.linearForward(simd2, x, w, I, O, accumulate, scale, cut[s]!, cut[s + 1]!);
          }
          expectBits(`linearForward/js split ${cut}`, js2, js);
          expectBits(`linearForward/wasm split ${cut}`, simd2, simd);
        }
      }
    });

    it(`backward input N=${N} I=${I} O=${O}: JS and SIMD, scale, split rows`, () => {
      const dout = rand(N * O), w = rand(O * I), base = rand(N * I);
      const simdErr = simdBackwardInputBound(dout, w, N, I, O);
      for (const [mode, scale] of [1, -0.7].entries()) {
        const ref = f64(base);
        R.linearBackwardInput(ref, dout, w, N, I, O, scale);
        const mag = abs64(base);
        R.linearBackwardInput(mag, abs64(dout), abs64(w), N, I, O, Math.abs(scale));
        const js = base.slice();
        K.linearBackwardInput(js, dout, w, N, I, O, scale);
        expectClose(`linearBackwardInput/js scale=${scale}`, js, ref, { rel: U, mag, coef: 2 * (O + 3) * 2 ** -53 });
        const simd = base.slice();
        wm!.linearBackwardInput(simd, dout, w, I, O, scale, 0, N);
        expectClose(`linearBackwardInput/wasm scale=${scale}`, simd, ref, { rel: U, mag: simdErr, coef: Math.abs(scale) * (1 + 2 * U) });
        for (const cut of splitsFor(N, N * I * O, mode)) {
          const js2 = base.slice(), simd2 = base.slice();
          for (let s = 0; s + 1 < cut.length; s++) {
            K.linearBackwardInput(js2, dout, w, N, I, O, scale, cut[s]!, cut[s + 1]!);
            wm!.linearBackwardInput(simd2, dout, w, I, O, scale, cut[s]!, cut[s + 1]!);
          }
          expectBits(`linearBackwardInput/js split ${cut}`, js2, js);
          expectBits(`linearBackwardInput/wasm split ${cut}`, simd2, simd);
        }
      }
    });

    it(`backward weight N=${N} I=${I} O=${O}: JS (no SIMD variant), scale, split weight rows`, () => {
      const dout = rand(N * O), x = rand(N * I), base = rand(O * I);
      for (const [mode, scale] of [1, 2.5].entries()) {
        const ref = f64(base);
        R.linearBackwardWeight(ref, dout, x, N, I, O, scale);
        const mag = abs64(base);
        R.linearBackwardWeight(mag, abs64(dout), abs64(x), N, I, O, Math.abs(scale));
        const js = base.slice();
        K.linearBackwardWeight(js, dout, x, N, I, O, scale);
        expectClose(`linearBackwardWeight/js scale=${scale}`, js, ref, { rel: U, mag, coef: 2 * (N + 3) * 2 ** -53 });
        for (const cut of splitsFor(O, N * I * O, mode)) {
          const js2 = base.slice();
          for (let s = 0; s + 1 < cut.length; s++) K.linearBackwardWeight(js2, dout, x, N, I, O, scale, cut[s]!, cut[s + 1]!);
          expectBits(`linearBackwardWeight/js split ${cut}`, js2, js);
        }
      }
    });
  }

  it('SIMD gemm (the primitive under both linear kernels and attention) on padded shapes', () => {
    for (const [M, Nn, Kk] of [[1, 1, 1], [3, 5, 7], [4, 2, 4], [5, 3, 9], [9, 1, 2], [2, 11, 13]] as const) {
      const a = rand(M * Kk), b = rand(Nn * Kk);
      const ref = new Float64Array(M * Nn);
      R.linearForward(ref, a, b, M, Kk, Nn);
      const c = new Float32Array(M * Nn).fill(NaN);
      wm!.gemm(c, a, b, M, Nn, Kk);
      expectClose(`gemm/wasm ${M}x${Nn}x${Kk}`, c, ref, { rel: 0, mag: simdForwardBound(a, b, M, Kk, Nn), coef: 1 });
    }
  });
});

// ─── attention ─────────────────────────────────────────────────────────────────────────────────

/** [B, T, NH, KV, D]. The first grows the SIMD attention's scratch, so later shapes reuse it stale. */
const ATTENTION_SHAPES: ReadonlyArray<readonly [number, number, number, number, number]> = [
  [1, 67, 4, 2, 12],
  [1, 1, 1, 1, 1], [1, 1, 4, 2, 3], [2, 1, 3, 1, 5], [1, 2, 2, 2, 4], [1, 5, 2, 1, 4], [1, 9, 4, 2, 6],
  [2, 7, 6, 2, 5], [1, 13, 8, 1, 7], [3, 17, 4, 4, 8], [2, 33, 6, 3, 16],
];

/**
 * Magnitudes for the attention bounds, from the reference probabilities P (float64, or the float32
 * ones the backward is given) and absolute values: per score row (b,h,t), the largest |q|·|k|/√D
 * (a float32 score error there moves the softmax); per output, Σ P·|v|; and for the backward
 * dsAbs[t,t2] = P·(|dout|·|v| + Σ_t3 P·|dout|·|v|)/√D ≥ |dS|/√D with its sums against |k|, |q|.
 */
function attentionMagnitudes(P: ArrayLike<number>, dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, B: number, T: number, NH: number, KV: number, D: number) {
  const group = NH / KV, sc = 1 / Math.sqrt(D);
  const qi = (b: number, t: number, h: number) => ((b * T + t) * NH + h) * D;
  const ki = (b: number, t: number, g: number) => ((b * T + t) * KV + g) * D;
  const scoreMax = new Float64Array(B * NH * T);
  const out = new Float64Array(B * T * NH * D), dq = new Float64Array(B * T * NH * D);
  const dk = new Float64Array(B * T * KV * D), dv = new Float64Array(B * T * KV * D);
  const A = new Float64Array(T);
  for (let b = 0; b < B; b++) for (let h = 0; h < NH; h++) {
    const g = Math.floor(h / group);
    for (let t = 0; t < T; t++) {
      const pr = ((b * NH + h) * T + t) * T;
      let sMax = 0, pa = 0;
      for (let t2 = 0; t2 <= t; t2++) {
        let qk = 0, dv_ = 0;
        for (let d = 0; d < D; d++) {
          qk += Math.abs(q[qi(b, t, h) + d]! * k[ki(b, t2, g) + d]!);
          dv_ += Math.abs(dout[qi(b, t, h) + d]! * v[ki(b, t2, g) + d]!);
        }
        sMax = Math.max(sMax, qk * sc);
        A[t2] = dv_;
        pa += P[pr + t2]! * dv_;
      }
      scoreMax[(b * NH + h) * T + t] = sMax;
      for (let t2 = 0; t2 <= t; t2++) {
        const p = P[pr + t2]!, ds = p * (A[t2]! + pa) * sc;
        for (let d = 0; d < D; d++) {
          out[qi(b, t, h) + d] += p * Math.abs(v[ki(b, t2, g) + d]!);
          dv[ki(b, t2, g) + d] += p * Math.abs(dout[qi(b, t, h) + d]!);
          dq[qi(b, t, h) + d] += ds * Math.abs(k[ki(b, t2, g) + d]!);
          dk[ki(b, t2, g) + d] += ds * Math.abs(q[qi(b, t, h) + d]!);
        }
      }
    }
  }
  return { scoreMax, out, dq, dk, dv };
}

describe('attention vs reference', () => {
  for (const [B, T, NH, KV, D] of ATTENTION_SHAPES) {
    it(`B=${B} T=${T} NH=${NH} KV=${KV} D=${D}: forward and backward, JS and SIMD, split units`, () => {
      const group = NH / KV, units = B * KV;
      const q = rand(B * T * NH * D, -2, 2), k = rand(B * T * KV * D, -2, 2), v = rand(B * T * KV * D), dout = rand(B * T * NH * D);
      const refOut = new Float64Array(q.length), refP = new Float64Array(B * NH * T * T);
      R.attentionForward(refOut, refP, q, k, v, B, T, NH, KV, D);
      const P32 = Float32Array.from(refP); // the saved probabilities both backward kernels are given
      const mags = attentionMagnitudes(P32, dout, q, k, v, B, T, NH, KV, D);
      const magsF = attentionMagnitudes(refP, dout, q, k, v, B, T, NH, KV, D);
      // rows of out / probs → their score row, for the row-wise softmax allowance
      const outRow = (i: number) => { const d0 = Math.floor(i / D), h = d0 % NH, bt = Math.floor(d0 / NH); return ((Math.floor(bt / T) * NH + h) * T + (bt % T)); };
      const probRow = (i: number) => Math.floor(i / T);

      // forward, JS: scores and softmax in float64, probs rounded once (u); out sums those rounded
      // probs in float64 (u·Σp|v|) and rounds once (u·|out|)
      const jsOut = new Float32Array(q.length).fill(NaN), jsP = new Float32Array(refP.length).fill(NaN);
      K.attentionForward(jsOut, jsP, q, k, v, B, T, NH, KV, D);
      expectClose('attentionForward.probs/js', jsP, refP, { rel: U });
      expectClose('attentionForward.out/js', jsOut, refOut, { rel: U, mag: magsF.out, coef: U * (1 + 1e-6) });
      // forward, SIMD: each score q·k is a float32 SIMD dot (error δ ≤ γ_{⌈D/4⌉+3}·|q|·|k|/√D), which
      // scales each probability of its row by at most e^{2δmax} (δmax the row's largest); probs
      // and the float32 copy fed to P·V are rounded once; P·V adds γ_{⌈T/4⌉+3}·Σp|v|
      const gD = gamma(Math.ceil(D / 4) + 3), gT = gamma(Math.ceil(T / 4) + 3);
      const soft = (row: number) => Math.expm1(2 * gD * magsF.scoreMax[row]!) * (1 + 2 * U);
      const simdOut = new Float32Array(q.length).fill(NaN), simdP = new Float32Array(refP.length).fill(NaN);
      attentionForwardWasm(wm!, simdOut, simdP, q, k, v, B, T, NH, KV, D, 0, units);
      expectClose('attentionForward.probs/wasm', simdP, refP, { rel: U, mag: Float64Array.from(refP, (p, i) => p * soft(probRow(i))), coef: 1 });
      expectClose('attentionForward.out/wasm', simdOut, refOut, { rel: U, mag: Float64Array.from(magsF.out, (m, i) => m * (gT + U + soft(outRow(i)))), coef: 1 + 1e-6 });

      // backward, from the same float32 probabilities, adding into random gradients
      const bq = rand(q.length), bk = rand(k.length), bv = rand(v.length);
      const rq = f64(bq), rk = f64(bk), rv = f64(bv);
      R.attentionBackward(rq, rk, rv, dout, P32, q, k, v, B, T, NH, KV, D);
      const withBase = (m: Float64Array, base: Float32Array) => Float64Array.from(m, (x, i) => x + Math.abs(base[i]!));
      // JS: dq summed in float64, one rounding; dk and dv += per (head, t) straight into float32:
      // up to group·T roundings of the running sums
      const jq = bq.slice(), jk = bk.slice(), jv = bv.slice();
      K.attentionBackward(jq, jk, jv, dout, P32, q, k, v, B, T, NH, KV, D);
      expectClose('attentionBackward.dq/js', jq, rq, { rel: U, mag: mags.dq, coef: 2 ** -45 });
      expectClose('attentionBackward.dk/js', jk, rk, { rel: U, mag: withBase(mags.dk, bk), coef: gamma(group * T) });
      expectClose('attentionBackward.dv/js', jv, rv, { rel: U, mag: withBase(mags.dv, bv), coef: gamma(group * T) });
      // SIMD: dP = dO·Vᵀ (γ_{⌈D/4⌉+3}·|dO|·|V|) → dS rounded to float32 (u) with |δdS| ≤ (gD + u)·dsAbs,
      // then dQ = dS·K and dK = dSᵀ·Q (γ_{⌈T/4⌉+3}); dV = Pᵀ·dO (γ_{⌈T/4⌉+3}); per-head results are
      // added into dk/dv, up to `group` roundings of the running sum
      const sq = bq.slice(), sk = bk.slice(), sv = bv.slice();
      attentionBackwardWasm(wm!, sq, sk, sv, dout, P32, q, k, v, B, T, NH, KV, D, 0, units);
      const gS = (gT + gD + U) * (1 + 1e-6);
      expectClose('attentionBackward.dq/wasm', sq, rq, { rel: U, mag: mags.dq, coef: gS });
      expectClose('attentionBackward.dk/wasm', sk, rk, { rel: U, mag: withBase(mags.dk, bk), coef: gS + gamma(group) });
      expectClose('attentionBackward.dv/wasm', sv, rv, { rel: U, mag: withBase(mags.dv, bv), coef: gT + gamma(group) });

      // work units split at every point and one at a time: bit-identical to the full range
      const cuts = [...splits(units), Array.from({ length: units + 1 }, (_, u) => u)];
      for (const cut of cuts) {
        const o1 = new Float32Array(q.length), p1 = new Float32Array(refP.length), o2 = new Float32Array(q.length), p2 = new Float32Array(refP.length);
        const g1 = [bq.slice(), bk.slice(), bv.slice()], g2 = [bq.slice(), bk.slice(), bv.slice()];
        for (let s = 0; s + 1 < cut.length; s++) {
          K.attentionForward(o1, p1, q, k, v, B, T, NH, KV, D, cut[s]!, cut[s + 1]!);
          attentionForwardWasm(wm!, o2, p2, q, k, v, B, T, NH, KV, D, cut[s]!, cut[s + 1]!);
          K.attentionBackward(g1[0]!, g1[1]!, g1[2]!, dout, P32, q, k, v, B, T, NH, KV, D, cut[s]!, cut[s + 1]!);
          attentionBackwardWasm(wm!, g2[0]!, g2[1]!, g2[2]!, dout, P32, q, k, v, B, T, NH, KV, D, cut[s]!, cut[s + 1]!);
        }
        expectBits(`attentionForward/js split ${cut}`, o1, jsOut);
        expectBits(`attentionForward/js probs split ${cut}`, p1, jsP);
        expectBits(`attentionForward/wasm split ${cut}`, o2, simdOut);
        expectBits(`attentionForward/wasm probs split ${cut}`, p2, simdP);
        [jq, jk, jv].forEach((g, i) => expectBits(`attentionBackward/js split ${cut} grad ${i}`, g1[i]!, g));
        [sq, sk, sv].forEach((g, i) => expectBits(`attentionBackward/wasm split ${cut} grad ${i}`, g2[i]!, g));
      }
    });
  }
});

// ─── cross-entropy ─────────────────────────────────────────────────────────────────────────────

/**
 * Cross-entropy: the JS kernels and the wasm ones (expsum: the same float64 formulas with a SIMD
 * exp within a few float64 ulps, so the same bounds hold: the floor covers the float64 part).
 */
const CE_VARIANTS = [
  { name: 'js', fwd: K.crossEntropyForward, bwd: K.crossEntropyBackward },
  { name: 'wasm', fwd: wm!.crossEntropyForward.bind(wm), bwd: wm!.crossEntropyBackward.bind(wm) },
] as const;

describe('cross-entropy vs reference (JS and wasm)', () => {
  for (const [N, V] of [[1, 1], [1, 2], [3, 7], [5, 13], [9, 64], [17, 1031], [3, 32003]] as const) {
    it(`N=${N} V=${V}: labels with −100, first/last class, split rows`, () => {
      const logits = rand(N * V, -8, 8);
      if (N >= 3) for (let j = 0; j < V; j++) logits[2 * V + j] = Math.fround(logits[2 * V + j]! * 6); // a row with |logits| up to 48
      if (N >= 5) for (let j = 0; j < V; j++) logits[4 * V + j] = Math.fround(logits[4 * V + j]! * 120); // up to ±960: exps down to 0
      const targets = Int32Array.from({ length: N }, (_, n) => (n % 4 === 1 ? -100 : n % 4 === 2 ? V - 1 : n % 4 === 3 ? 0 : rng.nextInt(V)));
      const dlosses = Float32Array.from({ length: N }, (_, n) => (n === 0 ? 0 : Math.fround((rng.next() - 0.3) * 2)));
      // forward: float64 throughout, rounded once
      const ref = new Float64Array(N);
      R.crossEntropyForward(ref, logits, targets, N, V);
      // backward: += g·softmax rounded once; the target element then −= g, a second rounding
      const base = rand(N * V);
      const dref = f64(base);
      R.crossEntropyBackward(dref, dlosses, logits, targets, N, V);
      const soft = new Float64Array(N * V), mag = new Float64Array(N * V);
      R.crossEntropyBackward(soft, new Float64Array(N).fill(1), logits, targets, N, V); // softmax − onehot
      for (let i = 0; i < N * V; i++) {
        const n = Math.floor(i / V), isT = i % V === targets[n]!;
        mag[i] = Math.abs(base[i]!) + Math.abs(dlosses[n]!) * (Math.abs(soft[i]!) + (isT ? 2 : 0));
      }
      for (const { name, fwd, bwd } of CE_VARIANTS) {
        const got = new Float32Array(N).fill(NaN);
        fwd(got, logits, targets, N, V);
        expectClose(`crossEntropyForward/${name}`, got, ref, { rel: U });
        for (let n = 0; n < N; n++) if (targets[n]! < 0) expect(got[n]).toBe(0);
        const dgot = base.slice();
        bwd(dgot, dlosses, logits, targets, N, V);
        expectClose(`crossEntropyBackward/${name}`, dgot, dref, { rel: U, mag, coef: U });
        for (let n = 0; n < N; n++) if (targets[n]! < 0) expectBits(`masked row ${n}`, dgot.subarray(n * V, n * V + V), base.subarray(n * V, n * V + V));
        for (const cut of splits(N)) {
          const a = new Float32Array(N), b = base.slice();
          for (let s = 0; s + 1 < cut.length; s++) {
            fwd(a, logits, targets, N, V, cut[s]!, cut[s + 1]!);
            bwd(b, dlosses, logits, targets, N, V, cut[s]!, cut[s + 1]!);
          }
          expectBits(`crossEntropyForward/${name} split ${cut}`, a, got);
          expectBits(`crossEntropyBackward/${name} split ${cut}`, b, dgot);
        }
      }
    });
  }
});

// ─── the single-threaded JS ops ────────────────────────────────────────────────────────────────

describe('row-wise and elementwise ops vs reference (JS; SwiGLU also wasm)', () => {
  for (const [N, H] of [[1, 1], [3, 7], [5, 64], [2, 4099]] as const) {
    it(`rmsnorm N=${N} H=${H}: forward, backward with and without dw`, () => {
      const x = rand(N * H, -3, 3), w = rand(H, 0.5, 1.5), eps = 1e-5;
      const out = new Float64Array(N * H), rstd = new Float64Array(N);
      R.rmsnormForward(out, rstd, x, w, N, H, eps);
      const jo = new Float32Array(N * H), jr = new Float32Array(N);
      K.rmsnormForward(jo, jr, x, w, N, H, eps);
      // rstd rounded once; out = fround(fround(x·rstd32)·w): three roundings (rstd, x·rstd, ·w)
      expectClose('rmsnormForward.rstd/js', jr, rstd, { rel: U });
      expectClose('rmsnormForward.out/js', jo, out, { rel: gamma(3) });
      const dout = rand(N * H), bx = rand(N * H), bw = rand(H);
      const rx = f64(bx), rw = f64(bw);
      R.rmsnormBackward(rx, rw, dout, x, w, jr, N, H);
      const dx = bx.slice(), dw = bw.slice();
      K.rmsnormBackward(dx, dw, dout, x, w, jr, N, H);
      // dx: float64, one rounding. dw: dout·x·rstd added into float32 once per row: γ_N of the terms
      const dwMag = Float64Array.from(bw, Math.abs);
      for (let n = 0; n < N; n++) for (let h = 0; h < H; h++) dwMag[h] += Math.abs(dout[n * H + h]! * x[n * H + h]! * jr[n]!);
      expectClose('rmsnormBackward.dx/js', dx, rx, { rel: U });
      expectClose('rmsnormBackward.dw/js', dw, rw, { rel: U, mag: dwMag, coef: gamma(N) });
      const dx2 = bx.slice();
      K.rmsnormBackward(dx2, null, dout, x, w, jr, N, H);
      expectBits('rmsnormBackward dw=null', dx2, dx);
    });
  }

  for (const [N, heads, D] of [[1, 1, 2], [3, 2, 6], [5, 3, 10], [7, 4, 64]] as const) {
    it(`rope N=${N} heads=${heads} D=${D}: forward (also in place) and backward`, () => {
      const P = 4099;
      const { cos, sin } = ropeTables({ headDim: D, ropeTheta: 500000, ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } }, P);
      const pos = Int32Array.from({ length: N }, (_, n) => (n === 0 ? 0 : n === 1 ? P - 1 : rng.nextInt(P)));
      const x = rand(N * heads * D, -2, 2);
      const ref = new Float64Array(x.length);
      R.ropeForward(ref, x, pos, cos, sin, N, heads, D, P);
      // products of float32s are exact in float64: one rounding
      const js = new Float32Array(x.length).fill(NaN);
      K.ropeForward(js, x, pos, cos, sin, N, heads, D);
      expectClose('ropeForward/js', js, ref, { rel: U });
      const inPlace = x.slice();
      K.ropeForward(inPlace, inPlace, pos, cos, sin, N, heads, D);
      expectBits('ropeForward in place', inPlace, js);
      const refInPlace = f64(x);
      R.ropeForward(refInPlace, refInPlace, pos, cos, sin, N, heads, D, P);
      expect(Array.from(refInPlace)).toEqual(Array.from(ref));
      const dout = rand(x.length), base = rand(x.length);
      const dref = f64(base);
      R.ropeBackward(dref, dout, pos, cos, sin, N, heads, D, P);
      const djs = base.slice();
      K.ropeBackward(djs, dout, pos, cos, sin, N, heads, D);
      expectClose('ropeBackward/js', djs, dref, { rel: U });
    });
  }

  // JS (Math.exp) and wasm (the same float64 formulas with a SIMD exp within a few float64 ulps):
  // the same bounds. 8195 elements: one full wasm chunk (8192) and a padded tail of 3.
  for (const size of [1, 7, 1001, 8195]) {
    it(`swiglu size=${size}: forward and backward, JS and wasm, gates up to ±30 and beyond exp's range`, () => {
      const gate = rand(size, -30, 30), up = rand(size, -2, 2), dout = rand(size), bg = rand(size), bu = rand(size);
      if (size > 8) {
        gate[0] = 0; gate[1] = Math.fround(-1e-3); gate[2] = Math.fround(88); gate[3] = Math.fround(-88);
        gate[4] = 750; gate[5] = -750; gate[6] = Math.fround(-708.5); gate[7] = Math.fround(709.5); gate[8] = -0;
      }
      const ref = new Float64Array(size);
      R.swigluForward(ref, gate, up, size);
      const rg = f64(bg), ru = f64(bu);
      R.swigluBackward(rg, ru, dout, gate, up, size);
      const variants = [
        { name: 'js', fwd: K.swigluForwardJs, bwd: K.swigluBackwardJs },
        { name: 'wasm', fwd: wm!.swigluForward.bind(wm), bwd: wm!.swigluBackward.bind(wm) },
      ];
      for (const { name, fwd, bwd } of variants) {
        const got = new Float32Array(size).fill(NaN);
        fwd(got, gate, up, size);
        expectClose(`swigluForward/${name}`, got, ref, { rel: U });
        const jg = bg.slice(), ju = bu.slice();
        bwd(jg, ju, dout, gate, up, size);
        expectClose(`swigluBackward.dgate/${name}`, jg, rg, { rel: U });
        expectClose(`swigluBackward.dup/${name}`, ju, ru, { rel: U });
      }
    });
  }

  for (const [N, O] of [[1, 1], [3, 7], [5, 64], [2, 4099]] as const) {
    it(`bias N=${N} O=${O}: each row plus the bias, one rounding`, () => {
      const y = rand(N * O, -3, 3), bias = rand(O);
      const ref = f64(y);
      R.addBias(ref, bias, N, O);
      const js = y.slice();
      K.addBias(js, bias, N, O);
      // one float32 addition per element: correctly rounded
      expectClose('addBias/js', js, ref, { rel: U });
      expect(js[N * O - 1]).toBe(Math.fround(y[N * O - 1]! + bias[O - 1]!));
      expect(() => R.addBias(new Float64Array(N * O - 1), bias, N, O)).toThrow(RangeError);
    });
  }

  for (const [N, H, V] of [[1, 1, 1], [7, 5, 3], [64, 33, 11]] as const) {
    it(`embedding N=${N} H=${H} V=${V}: gather exactly, scatter-add repeated ids`, () => {
      const table = rand(V * H), ids = Int32Array.from({ length: N }, (_, n) => (n === 0 ? V - 1 : rng.nextInt(V)));
      const ref = new Float64Array(N * H);
      R.embeddingForward(ref, ids, table, N, H, V);
      const js = new Float32Array(N * H).fill(NaN);
      K.embeddingForward(js, ids, table, N, H, V);
      expectClose('embeddingForward/js', js, ref, { rel: 0 });
      // scatter-add: a row hit c times takes c float32 roundings of its running sum
      const dout = rand(N * H), base = rand(V * H);
      const dref = f64(base);
      R.embeddingBackward(dref, dout, ids, N, H, V);
      const mag = abs64(base);
      const count = new Array<number>(V).fill(0);
      for (let n = 0; n < N; n++) { count[ids[n]!]!++; for (let h = 0; h < H; h++) mag[ids[n]! * H + h] += Math.abs(dout[n * H + h]!); }
      const djs = base.slice();
      K.embeddingBackward(djs, dout, ids, N, H);
      expectClose('embeddingBackward/js', djs, dref, { rel: 0, mag, coef: gamma(Math.max(...count)) });
      expect(() => K.embeddingForward(new Float32Array(H), Int32Array.of(V), table, 1, H, V)).toThrow(RangeError);
      expect(() => R.embeddingForward(new Float64Array(H), Int32Array.of(V), table, 1, H, V)).toThrow(RangeError);
    });
  }

  for (const p of [0, 0.25, 0.9]) {
    it(`dropout p=${p}: the same mask, forward (also in place) and backward`, () => {
      const size = 1001, seed = 0xdeadbeef;
      const x = rand(size), base = rand(size);
      const ref = new Float64Array(size);
      R.dropoutForward(ref, x, size, p, seed);
      // x · (1/(1−p)) in float64 vs x / (1−p): one float32 rounding each; dropped elements exactly 0
      const js = new Float32Array(size).fill(NaN);
      K.dropoutApply(js, x, size, p, seed, false);
      expectClose('dropoutForward/js', js, ref, { rel: U });
      const inPlace = x.slice();
      K.dropoutApply(inPlace, inPlace, size, p, seed, false);
      expectBits('dropout in place', inPlace, js);
      const dref = f64(base);
      R.dropoutBackward(dref, x, size, p, seed);
      const djs = base.slice();
      K.dropoutApply(djs, x, size, p, seed, true);
      expectClose('dropoutBackward/js', djs, dref, { rel: U });
    });
  }

  for (const size of [1, 13, 1000]) {
    it(`adamw size=${size}: several steps, with and without weight decay`, () => {
      const param = rand(size), m = new Float32Array(size), v = new Float32Array(size);
      for (const [step, weightDecay] of [[1, 0], [2, 0.01], [3, 0.1], [10, 0]] as const) {
        const grad = rand(size, -step, step);
        if (size > 3) grad[3] = 0;
        const hp = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, step };
        const rp = f64(param), rm = f64(m), rv = f64(v);
        R.adamw(rp, grad, rm, rv, size, hp.lr, hp.beta1, hp.beta2, hp.eps, hp.weightDecay, step);
        // every state update is float64 from the float32 state, rounded once
        K.adamw(param, grad, m, v, size, hp.lr, hp.beta1, hp.beta2, hp.eps, hp.weightDecay, step);
        expectClose('adamw.param/js', param, rp, { rel: U });
        expectClose('adamw.m/js', m, rm, { rel: U });
        expectClose('adamw.v/js', v, rv, { rel: U });
      }
    });
  }
});
