/**
 * The WebAssembly SIMD kernels against the plain-JS reference kernels (kernels.ts), on shapes
 * that are not multiples of the kernel's tile (padding), and LoRA's thin shapes.
 */
import { describe, expect, it } from 'vitest';
import * as K from '../../../../src/engine/backend/cpu/kernels.js';
import { WasmMatmul, matmulModuleBytes } from '../../../../src/engine/backend/cpu/wasm-matmul.js';
import { attentionBackwardWasm, attentionForwardWasm } from '../../../../src/engine/backend/cpu/attention-wasm.js';
import { Stream } from '../../../../src/engine/prng.js';

const rng = new Stream(7);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
function expectNear(a: Float32Array, b: Float32Array, tol: number): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  expect(worst).toBeLessThan(tol);
}

describe('wasm SIMD matmul', () => {
  const wm = WasmMatmul.create();

  it('assembles a valid module and is available in Node', () => {
    expect(matmulModuleBytes().subarray(0, 4)).toEqual(Uint8Array.from([0, 0x61, 0x73, 0x6d]));
    expect(wm).not.toBeNull();
  });

  // the last shape is split into several weight blocks (wasm-matmul.ts BLOCK_FLOATS)
  for (const [N, I, O] of [[7, 10, 9], [16, 64, 48], [13, 4, 33], [9, 33, 4], [5, 4101, 603]] as const) {
    it(`linear forward and input backward match the JS kernels (N=${N}, I=${I}, O=${O}, rows 3..N)`, () => {
      const x = rand(N * I), w = rand(O * I), base = rand(N * O);
      const tol = I > 1000 ? 1e-4 : 1e-5; // float32 sums over long rows drift further from the float64 reference
      const ref = base.slice(), got = base.slice();
      K.linearForward(ref, x, w, N, I, O, true, 0.5, 3, N);
      wm!.linearForward(got, x, w, I, O, true, 0.5, 3, N);
      expectNear(got, ref, tol);
      const ref2 = new Float32Array(N * O), got2 = new Float32Array(N * O);
      K.linearForward(ref2, x, w, N, I, O, false, 1);
      wm!.linearForward(got2, x, w, I, O, false, 1, 0, N);
      expectNear(got2, ref2, tol);
      const dout = rand(N * O), dx0 = rand(N * I);
      const dref = dx0.slice(), dgot = dx0.slice();
      K.linearBackwardInput(dref, dout, w, N, I, O, 2, 0, N);
      wm!.linearBackwardInput(dgot, dout, w, I, O, 2, 0, N);
      expectNear(dgot, dref, tol);
    });
  }

  it('attention forward and backward match the JS kernels', () => {
    const B = 1, T = 9, NH = 4, KV = 2, D = 6;
    const q = rand(B * T * NH * D), k = rand(B * T * KV * D), v = rand(B * T * KV * D), dout = rand(B * T * NH * D);
    const o1 = new Float32Array(q.length), o2 = new Float32Array(q.length);
    const p1 = new Float32Array(B * NH * T * T), p2 = new Float32Array(B * NH * T * T);
    K.attentionForward(o1, p1, q, k, v, B, T, NH, KV, D);
    attentionForwardWasm(wm!, o2, p2, q, k, v, B, T, NH, KV, D, 0, B * KV);
    expectNear(o2, o1, 1e-5);
    expectNear(p2, p1, 1e-5);
    const g1 = [q, k, v].map((a) => new Float32Array(a.length)), g2 = [q, k, v].map((a) => new Float32Array(a.length));
    K.attentionBackward(g1[0]!, g1[1]!, g1[2]!, dout, p1, q, k, v, B, T, NH, KV, D);
    attentionBackwardWasm(wm!, g2[0]!, g2[1]!, g2[2]!, dout, p1, q, k, v, B, T, NH, KV, D, 0, B * KV);
    for (let i = 0; i < 3; i++) expectNear(g2[i]!, g1[i]!, 1e-5);
  });

  it('attention with an infinite or NaN input gives what the JS kernels give (masked positions never leak it)', () => {
    // the SIMD path multiplies full T×T tiles and relies on 0 × x = 0 above the diagonal, false for x = ±∞ or NaN
    let seed = 7;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    // the same non-finite values in the same places; finite values within the kernels' usual 1e-5
    const same = (a: Float32Array, b: Float32Array) => a.every((x, i) => {
      const y = b[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) return Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y));
      return Math.abs(x - y) <= 1e-5 * Math.max(1, Math.abs(y));
    });
    let differing = 0;
    for (let trial = 0; trial < 200; trial++) {
      const B = 1, NH = 2, KV = 1, T = 2 + Math.floor(rnd() * 12), D = 2 + Math.floor(rnd() * 6);
      const mk = (n: number) => Float32Array.from({ length: n }, () => rnd() * 2 - 1);
      const q = mk(T * NH * D), k = mk(T * KV * D), v = mk(T * KV * D), dout = mk(T * NH * D);
      const hit = [q, k, v, dout][Math.floor(rnd() * 4)]!;
      hit[Math.floor(rnd() * hit.length)] = [Infinity, -Infinity, NaN][Math.floor(rnd() * 3)]!;
      const o = [new Float32Array(q.length), new Float32Array(q.length)], p = [new Float32Array(NH * T * T), new Float32Array(NH * T * T)];
      K.attentionForward(o[0]!, p[0]!, q, k, v, B, T, NH, KV, D);
      attentionForwardWasm(wm!, o[1]!, p[1]!, q, k, v, B, T, NH, KV, D, 0, B * KV);
      const g = [0, 1].map(() => [q, k, v].map((a) => new Float32Array(a.length)));
      K.attentionBackward(g[0]![0]!, g[0]![1]!, g[0]![2]!, dout, p[0]!, q, k, v, B, T, NH, KV, D);
      attentionBackwardWasm(wm!, g[1]![0]!, g[1]![1]!, g[1]![2]!, dout, p[0]!, q, k, v, B, T, NH, KV, D, 0, B * KV);
      if (!same(o[1]!, o[0]!) || !same(p[1]!, p[0]!) || [0, 1, 2].some((i) => !same(g[1]![i]!, g[0]![i]!))) differing++;
    }
    expect(differing).toBe(0);
  });
});
