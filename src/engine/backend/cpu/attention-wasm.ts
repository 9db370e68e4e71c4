/**
 * Causal GQA attention with its four products on the WebAssembly SIMD kernel (per query head:
 * S = Q·Kᵀ, O = P·V; backward dP = dO·Vᵀ, dQ = dS·K, dK = dSᵀ·Q, dV = Pᵀ·dO), softmax and its
 * backward in float64 (the softmax's exps on the kernel's SIMD exp, within a few float64 ulps of
 * Math.exp). Same contract, shapes and work units as kernels.attentionForward /
 * attentionBackward (a unit is one key/value head with its query heads, so no two threads write
 * the same dk/dv). The full T×T products are computed and the upper triangle discarded: the SIMD
 * kernel more than pays for the wasted half. Discarding relies on 0 × x = 0, which fails for an
 * infinite or NaN x (0 × ∞ = NaN would leak one position into others), so a unit whose inputs
 * that meet masked zeros are not all finite runs on the JS kernels, which never touch masked
 * positions.
 */
import { attentionBackward, attentionForward } from './kernels.js';
import type { WasmMatmul } from './wasm-matmul.js';

/** Scratch arrays, grown on demand and reused across calls (one set per thread). */
class Scratch {
  private readonly arrays = new Map<string, Float32Array>();
  get(name: string, size: number): Float32Array {
    let a = this.arrays.get(name);
    if (!a || a.length < size) {
      a = new Float32Array(size);
      this.arrays.set(name, a);
    }
    return a;
  }
}
const scratch = new Scratch();

/** rows t of x [B,T,heads,D] for (b, head) → dst [T,D]. */
function gather(dst: Float32Array, x: Float32Array, b: number, head: number, T: number, heads: number, D: number): void {
  for (let t = 0; t < T; t++) dst.set(x.subarray(((b * T + t) * heads + head) * D, ((b * T + t) * heads + head + 1) * D), t * D);
}
/** dstᵀ [D,T] of the rows of x [B,T,heads,D] for (b, head). */
function gatherT(dst: Float32Array, x: Float32Array, b: number, head: number, T: number, heads: number, D: number): void {
  for (let t = 0; t < T; t++) {
    const src = ((b * T + t) * heads + head) * D;
    for (let d = 0; d < D; d++) dst[d * T + t] = x[src + d]!;
  }
}
/** dstᵀ [C,R] of a dense src [R,C]. */
function transpose(dst: Float32Array, src: Float32Array, R: number, C: number): void {
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) dst[c * R + r] = src[r * C + c]!;
}

/** True when the rows of heads [h0, h1) of x [B,T,heads,D] for batch b are all finite. */
function headsFinite(x: Float32Array, b: number, h0: number, h1: number, T: number, heads: number, D: number): boolean {
  for (let t = 0; t < T; t++) {
    const end = ((b * T + t) * heads + h1) * D;
    for (let i = ((b * T + t) * heads + h0) * D; i < end; i++) {
      const value = x[i]!;
      if (value - value !== 0) return false; // NaN or ±∞
    }
  }
  return true;
}

export function attentionForwardWasm(wm: WasmMatmul, out: Float32Array, probs: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, B: number, T: number, NH: number, KV: number, D: number, u0: number, u1: number): void {
  const group = NH / KV;
  const scale = 1 / Math.sqrt(D);
  const qh = scratch.get('qh', T * D), kg = scratch.get('kg', T * D), vgT = scratch.get('vgT', D * T);
  const s = scratch.get('s', T * T), p = scratch.get('p', T * T), o = scratch.get('o', T * D);
  for (let u = u0; u < u1; u++) {
    const b = Math.floor(u / KV), g = u % KV;
    // only O = P·V meets masked zeros (S's upper triangle is never read)
    if (!headsFinite(v, b, g, g + 1, T, KV, D)) {
      attentionForward(out, probs, q, k, v, B, T, NH, KV, D, u, u + 1);
      continue;
    }
    gather(kg, k, b, g, T, KV, D);
    gatherT(vgT, v, b, g, T, KV, D);
    for (let hh = 0; hh < group; hh++) {
      const h = g * group + hh;
      gather(qh, q, b, h, T, NH, D);
      wm.gemm(s, qh, kg, T, T, D);
      for (let t = 0; t < T; t++) {
        const r = t * T;
        let max = -Infinity;
        for (let t2 = 0; t2 <= t; t2++) {
          const z = s[r + t2]! * scale;
          if (z > max) max = z;
        }
        // exp(s·scale − max) and their sum in order, on the SIMD exp (wasm-matmul.ts)
        const { e, sum } = wm.expRow(s.subarray(r, r + t + 1), t + 1, scale, max);
        const pr = ((b * NH + h) * T + t) * T;
        for (let t2 = 0; t2 <= t; t2++) p[r + t2] = probs[pr + t2] = e[t2]! / sum;
        p.fill(0, r + t + 1, r + T);
        probs.fill(0, pr + t + 1, pr + T);
      }
      wm.gemm(o, p, vgT, T, D, T);
      for (let t = 0; t < T; t++) out.set(o.subarray(t * D, (t + 1) * D), ((b * T + t) * NH + h) * D);
    }
  }
}

export function attentionBackwardWasm(wm: WasmMatmul, dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array, probs: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, B: number, T: number, NH: number, KV: number, D: number, u0: number, u1: number): void {
  const group = NH / KV;
  const scale = 1 / Math.sqrt(D);
  const doh = scratch.get('doh', T * D), dohT = scratch.get('dohT', D * T), vg = scratch.get('vg', T * D);
  const kgT = scratch.get('kgT', D * T), qhT = scratch.get('qhT', D * T);
  const dp = scratch.get('dp', T * T), ds = scratch.get('ds', T * T), dsT = scratch.get('dsT', T * T), pT = scratch.get('pT', T * T);
  const r1 = scratch.get('r1', T * D), r2 = scratch.get('r2', T * D), r3 = scratch.get('r3', T * D);
  for (let u = u0; u < u1; u++) {
    const b = Math.floor(u / KV), g = u % KV;
    const heads = [g * group, (g + 1) * group] as const;
    // masked zeros meet K (dQ = dS·K), Q (dK = dSᵀ·Q) and dO (dV = Pᵀ·dO); dP's upper triangle is never read
    if (!headsFinite(k, b, g, g + 1, T, KV, D) || !headsFinite(q, b, heads[0], heads[1], T, NH, D) || !headsFinite(dout, b, heads[0], heads[1], T, NH, D)) {
      attentionBackward(dq, dk, dv, dout, probs, q, k, v, B, T, NH, KV, D, u, u + 1);
      continue;
    }
    gather(vg, v, b, g, T, KV, D);
    gatherT(kgT, k, b, g, T, KV, D);
    for (let hh = 0; hh < group; hh++) {
      const h = g * group + hh;
      gather(doh, dout, b, h, T, NH, D);
      gatherT(dohT, dout, b, h, T, NH, D);
      gatherT(qhT, q, b, h, T, NH, D);
      const P = probs.subarray((b * NH + h) * T * T, (b * NH + h + 1) * T * T);
      wm.gemm(dp, doh, vg, T, T, D); // dP = dO·Vᵀ
      for (let t = 0; t < T; t++) {
        const r = t * T;
        let dot = 0;
        for (let t2 = 0; t2 <= t; t2++) dot += P[r + t2]! * dp[r + t2]!;
        for (let t2 = 0; t2 <= t; t2++) ds[r + t2] = P[r + t2]! * (dp[r + t2]! - dot) * scale;
        for (let t2 = t + 1; t2 < T; t2++) ds[r + t2] = 0;
      }
      wm.gemm(r1, ds, kgT, T, D, T); // dQ = dS·K
      transpose(dsT, ds, T, T);
      wm.gemm(r2, dsT, qhT, T, D, T); // dK = dSᵀ·Q
      transpose(pT, P, T, T);
      wm.gemm(r3, pT, dohT, T, D, T); // dV = Pᵀ·dO
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * NH + h) * D, ko = ((b * T + t) * KV + g) * D;
        for (let d = 0; d < D; d++) {
          dq[qo + d] += r1[t * D + d]!;
          dk[ko + d] += r2[t * D + d]!;
          dv[ko + d] += r3[t * D + d]!;
        }
      }
    }
  }
}
