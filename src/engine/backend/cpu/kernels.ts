/**
 * CPU kernels: forward/backward pairs over flat float32 arrays with explicit sizes (llm.c style).
 * Shapes are in the comments; legend in ../backend.ts. Every backward ADDS into its outputs.
 *
 * The heavy kernels take a work range [start, end) so the worker pool (pool.ts) can split them
 * across threads; each thread writes a disjoint slice of the output, and each output element is
 * always computed by the same loop in the same order, so results do not depend on the split.
 * Sums run in float64 (JS numbers) and are rounded to float32 once, on store.
 */

import { uniform } from '../../prng.js';
import { threadKernels } from './wasm-matmul.js';

type F32 = Float32Array;
type I32 = Int32Array;

// ─── linear ────────────────────────────────────────────────────────────────────────────────────

/**
 * out[N,O] (=|+=) scale · x[N,I] · w[O,I]ᵀ for rows n in [n0, n1).
 * Register-blocked 4×4: sixteen running sums, each x and w element loaded once per tile.
 */
export function linearForward(out: F32, x: F32, w: F32, N: number, I: number, O: number, accumulate: boolean, scale: number, n0 = 0, n1 = N): void {
  let n = n0;
  for (; n + 4 <= n1; n += 4) {
    const x0 = n * I, x1 = x0 + I, x2 = x1 + I, x3 = x2 + I;
    let o = 0;
    for (; o + 4 <= O; o += 4) {
      const w0 = o * I, w1 = w0 + I, w2 = w1 + I, w3 = w2 + I;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let k = 0; k < I; k++) {
        const a0 = x[x0 + k]!, a1 = x[x1 + k]!, a2 = x[x2 + k]!, a3 = x[x3 + k]!;
        const b0 = w[w0 + k]!, b1 = w[w1 + k]!, b2 = w[w2 + k]!, b3 = w[w3 + k]!;
        s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3;
        s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3;
        s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3;
        s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3;
      }
      const r0 = n * O + o, r1 = r0 + O, r2 = r1 + O, r3 = r2 + O;
      if (accumulate) {
        out[r0] += scale * s00; out[r0 + 1] += scale * s01; out[r0 + 2] += scale * s02; out[r0 + 3] += scale * s03;
        out[r1] += scale * s10; out[r1 + 1] += scale * s11; out[r1 + 2] += scale * s12; out[r1 + 3] += scale * s13;
        out[r2] += scale * s20; out[r2 + 1] += scale * s21; out[r2 + 2] += scale * s22; out[r2 + 3] += scale * s23;
        out[r3] += scale * s30; out[r3 + 1] += scale * s31; out[r3 + 2] += scale * s32; out[r3 + 3] += scale * s33;
      } else {
        out[r0] = scale * s00; out[r0 + 1] = scale * s01; out[r0 + 2] = scale * s02; out[r0 + 3] = scale * s03;
        out[r1] = scale * s10; out[r1 + 1] = scale * s11; out[r1 + 2] = scale * s12; out[r1 + 3] = scale * s13;
        out[r2] = scale * s20; out[r2 + 1] = scale * s21; out[r2 + 2] = scale * s22; out[r2 + 3] = scale * s23;
        out[r3] = scale * s30; out[r3 + 1] = scale * s31; out[r3 + 2] = scale * s32; out[r3 + 3] = scale * s33;
      }
    }
    for (let r = n; r < n + 4; r++) linearForwardRow(out, x, w, I, O, accumulate, scale, r, o);
  }
  for (; n < n1; n++) linearForwardRow(out, x, w, I, O, accumulate, scale, n, 0);
}

/** One output row n, columns [o0, O): the plain dot-product loop (edges and the reference). */
function linearForwardRow(out: F32, x: F32, w: F32, I: number, O: number, accumulate: boolean, scale: number, n: number, o0: number): void {
  const xr = n * I;
  for (let o = o0; o < O; o++) {
    const wr = o * I;
    let s = 0;
    for (let k = 0; k < I; k++) s += x[xr + k]! * w[wr + k]!;
    if (accumulate) out[n * O + o] += scale * s;
    else out[n * O + o] = scale * s;
  }
}

/**
 * dx[N,I] += scale · dout[N,O] · w[O,I] for rows n in [n0, n1). 4×4 tiles of dx, summing over o.
 */
export function linearBackwardInput(dx: F32, dout: F32, w: F32, N: number, I: number, O: number, scale: number, n0 = 0, n1 = N): void {
  let n = n0;
  for (; n + 4 <= n1; n += 4) {
    const d0 = n * O, d1 = d0 + O, d2 = d1 + O, d3 = d2 + O;
    let i = 0;
    for (; i + 4 <= I; i += 4) {
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let o = 0, wr = i; o < O; o++, wr += I) {
        const a0 = dout[d0 + o]!, a1 = dout[d1 + o]!, a2 = dout[d2 + o]!, a3 = dout[d3 + o]!;
        const b0 = w[wr]!, b1 = w[wr + 1]!, b2 = w[wr + 2]!, b3 = w[wr + 3]!;
        s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3;
        s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3;
        s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3;
        s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3;
      }
      const r0 = n * I + i, r1 = r0 + I, r2 = r1 + I, r3 = r2 + I;
      dx[r0] += scale * s00; dx[r0 + 1] += scale * s01; dx[r0 + 2] += scale * s02; dx[r0 + 3] += scale * s03;
      dx[r1] += scale * s10; dx[r1 + 1] += scale * s11; dx[r1 + 2] += scale * s12; dx[r1 + 3] += scale * s13;
      dx[r2] += scale * s20; dx[r2 + 1] += scale * s21; dx[r2 + 2] += scale * s22; dx[r2 + 3] += scale * s23;
      dx[r3] += scale * s30; dx[r3 + 1] += scale * s31; dx[r3 + 2] += scale * s32; dx[r3 + 3] += scale * s33;
    }
    for (let r = n; r < n + 4; r++) linearBackwardInputRow(dx, dout, w, I, O, scale, r, i);
  }
  for (; n < n1; n++) linearBackwardInputRow(dx, dout, w, I, O, scale, n, 0);
}

function linearBackwardInputRow(dx: F32, dout: F32, w: F32, I: number, O: number, scale: number, n: number, i0: number): void {
  for (let i = i0; i < I; i++) {
    let s = 0;
    for (let o = 0; o < O; o++) s += dout[n * O + o]! * w[o * I + i]!;
    dx[n * I + i] += scale * s;
  }
}

/** dw[O,I] += scale · dout[N,O]ᵀ · x[N,I] for weight rows o in [o0, o1) (sum over n in order). */
export function linearBackwardWeight(dw: F32, dout: F32, x: F32, N: number, I: number, O: number, scale: number, o0 = 0, o1 = O): void {
  for (let o = o0; o < o1; o++) {
    let i = 0;
    for (; i + 4 <= I; i += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let n = 0; n < N; n++) {
        const g = dout[n * O + o]!;
        const xr = n * I + i;
        s0 += g * x[xr]!; s1 += g * x[xr + 1]!; s2 += g * x[xr + 2]!; s3 += g * x[xr + 3]!;
      }
      const r = o * I + i;
      dw[r] += scale * s0; dw[r + 1] += scale * s1; dw[r + 2] += scale * s2; dw[r + 3] += scale * s3;
    }
    for (; i < I; i++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += dout[n * O + o]! * x[n * I + i]!;
      dw[o * I + i] += scale * s;
    }
  }
}

// ─── embedding ─────────────────────────────────────────────────────────────────────────────────

/** out[N,H] = table[ids[n], :]. */
export function embeddingForward(out: F32, ids: I32, table: F32, N: number, H: number, V: number): void {
  for (let n = 0; n < N; n++) {
    const id = ids[n]!;
    if (id < 0 || id >= V) throw new RangeError(`token id ${id} outside the vocabulary [0, ${V})`);
    out.set(table.subarray(id * H, id * H + H), n * H);
  }
}

/** dtable[ids[n], :] += dout[n, :]. */
export function embeddingBackward(dtable: F32, dout: F32, ids: I32, N: number, H: number): void {
  for (let n = 0; n < N; n++) {
    const t = ids[n]! * H;
    const d = n * H;
    for (let h = 0; h < H; h++) dtable[t + h] += dout[d + h]!;
  }
}

// ─── RMSNorm ───────────────────────────────────────────────────────────────────────────────────

/** out[N,H] = x · rstd · w; rstd[N] = 1/sqrt(mean(x²) + eps). */
export function rmsnormForward(out: F32, rstd: F32, x: F32, w: F32, N: number, H: number, eps: number): void {
  for (let n = 0; n < N; n++) {
    const xr = n * H;
    let ss = 0;
    for (let h = 0; h < H; h++) ss += x[xr + h]! * x[xr + h]!;
    const r = Math.fround(1 / Math.sqrt(ss / H + eps));
    rstd[n] = r;
    for (let h = 0; h < H; h++) out[xr + h] = Math.fround(x[xr + h]! * r) * w[h]!;
  }
}

/**
 * With xhat = x·rstd and g = dout·w: dx += rstd · (g − xhat · mean(g·xhat)); dw += Σ_n dout · xhat.
 */
export function rmsnormBackward(dx: F32, dw: F32 | null, dout: F32, x: F32, w: F32, rstd: F32, N: number, H: number): void {
  for (let n = 0; n < N; n++) {
    const xr = n * H;
    const r = rstd[n]!;
    let dot = 0;
    for (let h = 0; h < H; h++) dot += dout[xr + h]! * w[h]! * x[xr + h]! * r;
    const m = dot / H;
    for (let h = 0; h < H; h++) {
      const xhat = x[xr + h]! * r;
      dx[xr + h] += r * (dout[xr + h]! * w[h]! - xhat * m);
      if (dw) dw[h] += dout[xr + h]! * xhat;
    }
  }
}

// ─── RoPE ──────────────────────────────────────────────────────────────────────────────────────

/** out/x [N, heads, D] (may alias), pos [N], cos/sin [P, D/2]; `sign` −1 gives the inverse rotation. */
function ropeApply(out: F32, x: F32, pos: I32, cos: F32, sin: F32, N: number, heads: number, D: number, sign: number, accumulate: boolean): void {
  const half = D / 2;
  for (let n = 0; n < N; n++) {
    const tr = pos[n]! * half;
    for (let h = 0; h < heads; h++) {
      const base = (n * heads + h) * D;
      for (let j = 0; j < half; j++) {
        const c = cos[tr + j]!, s = sign * sin[tr + j]!;
        const a = x[base + j]!, b = x[base + j + half]!;
        const ra = a * c - b * s, rb = b * c + a * s;
        if (accumulate) { out[base + j] += ra; out[base + j + half] += rb; }
        else { out[base + j] = ra; out[base + j + half] = rb; }
      }
    }
  }
}

export function ropeForward(out: F32, x: F32, pos: I32, cos: F32, sin: F32, N: number, heads: number, D: number): void {
  ropeApply(out, x, pos, cos, sin, N, heads, D, 1, false);
}

export function ropeBackward(dx: F32, dout: F32, pos: I32, cos: F32, sin: F32, N: number, heads: number, D: number): void {
  ropeApply(dx, dout, pos, cos, sin, N, heads, D, -1, true);
}

// ─── attention ─────────────────────────────────────────────────────────────────────────────────

/**
 * Causal GQA attention for work units u in [u0, u1), u = b·KV + g (one key/value head g with its
 * NH/KV query heads). out [B,T,NH,D], probs [B,NH,T,T], q [B,T,NH,D], k/v [B,T,KV,D].
 */
export function attentionForward(out: F32, probs: F32, q: F32, k: F32, v: F32, B: number, T: number, NH: number, KV: number, D: number, u0 = 0, u1 = B * KV): void {
  const group = NH / KV;
  const scale = 1 / Math.sqrt(D);
  const row = new Float64Array(T);
  const acc = new Float64Array(D);
  for (let u = u0; u < u1; u++) {
    const b = Math.floor(u / KV), g = u % KV;
    for (let hh = 0; hh < group; hh++) {
      const h = g * group + hh;
      for (let t = 0; t < T; t++) {
        const qr = ((b * T + t) * NH + h) * D;
        let max = -Infinity;
        for (let t2 = 0; t2 <= t; t2++) {
          const kr = ((b * T + t2) * KV + g) * D;
          let s = 0;
          for (let d = 0; d < D; d++) s += q[qr + d]! * k[kr + d]!;
          s *= scale;
          row[t2] = s;
          if (s > max) max = s;
        }
        let sum = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const e = Math.exp(row[t2]! - max);
          row[t2] = e;
          sum += e;
        }
        const pr = ((b * NH + h) * T + t) * T;
        for (let t2 = 0; t2 <= t; t2++) probs[pr + t2] = row[t2]! / sum;
        for (let t2 = t + 1; t2 < T; t2++) probs[pr + t2] = 0;
        acc.fill(0);
        for (let t2 = 0; t2 <= t; t2++) {
          const p = probs[pr + t2]!;
          const vr = ((b * T + t2) * KV + g) * D;
          for (let d = 0; d < D; d++) acc[d] += p * v[vr + d]!;
        }
        for (let d = 0; d < D; d++) out[qr + d] = acc[d]!;
      }
    }
  }
}

/** Gradients of attentionForward for work units [u0, u1) (a unit owns its k/v head, so no races). */
export function attentionBackward(dq: F32, dk: F32, dv: F32, dout: F32, probs: F32, q: F32, k: F32, v: F32, B: number, T: number, NH: number, KV: number, D: number, u0 = 0, u1 = B * KV): void {
  const group = NH / KV;
  const scale = 1 / Math.sqrt(D);
  const dp = new Float64Array(T);
  const dqAcc = new Float64Array(D);
  for (let u = u0; u < u1; u++) {
    const b = Math.floor(u / KV), g = u % KV;
    for (let hh = 0; hh < group; hh++) {
      const h = g * group + hh;
      for (let t = 0; t < T; t++) {
        const qr = ((b * T + t) * NH + h) * D;
        const pr = ((b * NH + h) * T + t) * T;
        // dp[t2] = dout[t]·v[t2]; dv[t2] += p[t,t2]·dout[t]
        let dot = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const vr = ((b * T + t2) * KV + g) * D;
          const p = probs[pr + t2]!;
          let s = 0;
          for (let d = 0; d < D; d++) {
            const go = dout[qr + d]!;
            s += go * v[vr + d]!;
            dv[vr + d] += p * go;
          }
          dp[t2] = s;
          dot += p * s;
        }
        // softmax backward: ds = p·(dp − Σ p·dp); scores = scale·q·k
        dqAcc.fill(0);
        for (let t2 = 0; t2 <= t; t2++) {
          const ds = probs[pr + t2]! * (dp[t2]! - dot) * scale;
          if (ds === 0) continue;
          const kr = ((b * T + t2) * KV + g) * D;
          for (let d = 0; d < D; d++) {
            dqAcc[d] += ds * k[kr + d]!;
            dk[kr + d] += ds * q[qr + d]!;
          }
        }
        for (let d = 0; d < D; d++) dq[qr + d] += dqAcc[d]!;
      }
    }
  }
}

// ─── bias ──────────────────────────────────────────────────────────────────────────────────────

/** y[n,o] += bias[o] for the N rows of y [N,O]. */
export function addBias(y: F32, bias: F32, N: number, O: number): void {
  for (let n = 0; n < N; n++) {
    const row = n * O;
    for (let o = 0; o < O; o++) y[row + o] += bias[o]!;
  }
}

// ─── SwiGLU ────────────────────────────────────────────────────────────────────────────────────
// The backend calls these on the main thread; they run on the WebAssembly kernels (the same
// float64 formulas with a SIMD exp, wasm-matmul.ts) unless FLOCK_CPU_KERNELS=js, like ops.ts.

/** out[N·F] = silu(gate) · up. */
export function swigluForward(out: F32, gate: F32, up: F32, size: number): void {
  if (threadKernels) threadKernels.swigluForward(out, gate, up, size);
  else swigluForwardJs(out, gate, up, size);
}

/** dgate += dout · up · σ(g)(1 + g(1 − σ(g))); dup += dout · silu(g). */
export function swigluBackward(dgate: F32, dup: F32, dout: F32, gate: F32, up: F32, size: number): void {
  if (threadKernels) threadKernels.swigluBackward(dgate, dup, dout, gate, up, size);
  else swigluBackwardJs(dgate, dup, dout, gate, up, size);
}

/** swigluForward in plain JS (Math.exp). */
export function swigluForwardJs(out: F32, gate: F32, up: F32, size: number): void {
  for (let i = 0; i < size; i++) {
    const g = gate[i]!;
    out[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }
}

/** swigluBackward in plain JS (Math.exp). */
export function swigluBackwardJs(dgate: F32, dup: F32, dout: F32, gate: F32, up: F32, size: number): void {
  for (let i = 0; i < size; i++) {
    const g = gate[i]!;
    const sig = 1 / (1 + Math.exp(-g));
    const d = dout[i]!;
    dgate[i] += d * up[i]! * sig * (1 + g * (1 - sig));
    dup[i] += d * g * sig;
  }
}

// ─── cross-entropy ─────────────────────────────────────────────────────────────────────────────

/** losses[n] = logsumexp(logits[n]) − logits[n, t] (0 if t < 0), rows [n0, n1). logits [N,V]. */
export function crossEntropyForward(losses: F32, logits: F32, targets: I32, N: number, V: number, n0 = 0, n1 = N): void {
  for (let n = n0; n < n1; n++) {
    const t = targets[n]!;
    if (t < 0) { losses[n] = 0; continue; }
    if (t >= V) throw new RangeError(`target ${t} outside the vocabulary [0, ${V})`);
    const r = n * V;
    let max = -Infinity;
    for (let j = 0; j < V; j++) if (logits[r + j]! > max) max = logits[r + j]!;
    let sum = 0;
    for (let j = 0; j < V; j++) sum += Math.exp(logits[r + j]! - max);
    losses[n] = Math.log(sum) + max - logits[r + t]!;
  }
}

/** Per-thread scratch row for crossEntropyBackward's exponentials (float64, grown on demand). */
let expRow = new Float64Array(0);

/**
 * dlogits[n] += dlosses[n] · (softmax(logits[n]) − onehot(t)), rows [n0, n1). Each exp(logit − max)
 * is computed once and kept (float64) for the sum and the gradient: one exp per logit, not two.
 */
export function crossEntropyBackward(dlogits: F32, dlosses: F32, logits: F32, targets: I32, N: number, V: number, n0 = 0, n1 = N): void {
  if (expRow.length < V) expRow = new Float64Array(V);
  const e = expRow;
  for (let n = n0; n < n1; n++) {
    const t = targets[n]!;
    if (t < 0) continue;
    const r = n * V;
    const g = dlosses[n]!;
    let max = -Infinity;
    for (let j = 0; j < V; j++) if (logits[r + j]! > max) max = logits[r + j]!;
    let sum = 0;
    for (let j = 0; j < V; j++) sum += e[j] = Math.exp(logits[r + j]! - max);
    const inv = 1 / sum;
    for (let j = 0; j < V; j++) dlogits[r + j] += g * e[j]! * inv;
    dlogits[r + t] -= g;
  }
}

// ─── dropout, optimizer ────────────────────────────────────────────────────────────────────────

/** out[i] = uniform(seed, i) ≥ p ? x[i]/(1−p) : 0 (out may alias x); backward adds instead. */
export function dropoutApply(out: F32, x: F32, size: number, p: number, seed: number, accumulate: boolean): void {
  const keepScale = 1 / (1 - p);
  for (let i = 0; i < size; i++) {
    const keep = uniform(seed, i) >= p;
    const val = keep ? x[i]! * keepScale : 0;
    if (accumulate) out[i] += val;
    else out[i] = val;
  }
}

/** One AdamW step (see Backend.adamwUpdate). */
export function adamw(param: F32, grad: F32, m: F32, v: F32, size: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void {
  const c1 = 1 - Math.pow(beta1, step);
  const c2 = 1 - Math.pow(beta2, step);
  for (let i = 0; i < size; i++) {
    const g = grad[i]!;
    const mi = (m[i] = beta1 * m[i]! + (1 - beta1) * g);
    const vi = (v[i] = beta2 * v[i]! + (1 - beta2) * g * g);
    const mhat = mi / c1;
    const vhat = vi / c2;
    param[i] = param[i]! - lr * weightDecay * param[i]! - (lr * mhat) / (Math.sqrt(vhat) + eps);
  }
}
