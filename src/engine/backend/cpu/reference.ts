/**
 * Reference kernels: the definition the fast CPU kernels (kernels.ts, wasm-matmul.ts,
 * attention-wasm.ts) are tested against (test/engine/backend/cpu/reference.test.ts). Never used
 * for training: they are slow on purpose.
 *
 * Each op is written from its contract in ../backend.ts (the documented math), not derived from the
 * fast kernels: one obvious loop nest, no blocking, no unrolling, no work ranges, every sum in
 * float64. Outputs may be Float64Array (the test keeps the reference unrounded) or Float32Array.
 * Backward ops ADD (+=) into their outputs, like the fast kernels; each output element is updated
 * once, with its whole float64 sum. Shapes and legend as in ../backend.ts.
 */

import { uniform } from '../../prng.js';

/** A dense array of real numbers: the fast kernels' float32, or float64 for an unrounded result. */
export type Floats = Float32Array | Float64Array;

function need(a: ArrayLike<number>, n: number, name: string): void {
  if (a.length < n) throw new RangeError(`reference: ${name} has ${a.length} elements, needs ${n}`);
}

// ─── linear layers ─────────────────────────────────────────────────────────────────────────────

/** out[N,O] = scale · x[N,I] · w[O,I]ᵀ, or out += that when `accumulate`. */
export function linearForward(out: Floats, x: Floats, w: Floats, N: number, I: number, O: number, accumulate = false, scale = 1): void {
  need(out, N * O, 'out'); need(x, N * I, 'x'); need(w, O * I, 'w');
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      let dot = 0;
      for (let i = 0; i < I; i++) dot += x[n * I + i]! * w[o * I + i]!;
      out[n * O + o] = accumulate ? out[n * O + o]! + scale * dot : scale * dot;
    }
  }
}

/** dx[N,I] += scale · dout[N,O] · w[O,I]. */
export function linearBackwardInput(dx: Floats, dout: Floats, w: Floats, N: number, I: number, O: number, scale = 1): void {
  need(dx, N * I, 'dx'); need(dout, N * O, 'dout'); need(w, O * I, 'w');
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < I; i++) {
      let dot = 0;
      for (let o = 0; o < O; o++) dot += dout[n * O + o]! * w[o * I + i]!;
      dx[n * I + i] = dx[n * I + i]! + scale * dot;
    }
  }
}

/** dw[O,I] += scale · dout[N,O]ᵀ · x[N,I]. */
export function linearBackwardWeight(dw: Floats, dout: Floats, x: Floats, N: number, I: number, O: number, scale = 1): void {
  need(dw, O * I, 'dw'); need(dout, N * O, 'dout'); need(x, N * I, 'x');
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      let dot = 0;
      for (let n = 0; n < N; n++) dot += dout[n * O + o]! * x[n * I + i]!;
      dw[o * I + i] = dw[o * I + i]! + scale * dot;
    }
  }
}

// ─── embedding ─────────────────────────────────────────────────────────────────────────────────

/** out[N,H] = table[ids[n], :], every id in [0, V). */
export function embeddingForward(out: Floats, ids: Int32Array, table: Floats, N: number, H: number, V: number): void {
  need(out, N * H, 'out'); need(ids, N, 'ids'); need(table, V * H, 'table');
  for (let n = 0; n < N; n++) {
    const id = ids[n]!;
    if (id < 0 || id >= V) throw new RangeError(`reference: token id ${id} outside [0, ${V})`);
    for (let h = 0; h < H; h++) out[n * H + h] = table[id * H + h]!;
  }
}

/** dtable[ids[n], :] += dout[n, :] (repeated ids sum; the sums are taken in float64). */
export function embeddingBackward(dtable: Floats, dout: Floats, ids: Int32Array, N: number, H: number, V: number): void {
  need(dtable, V * H, 'dtable'); need(dout, N * H, 'dout'); need(ids, N, 'ids');
  const sum = new Float64Array(V * H);
  for (let n = 0; n < N; n++) {
    const id = ids[n]!;
    if (id < 0 || id >= V) throw new RangeError(`reference: token id ${id} outside [0, ${V})`);
    for (let h = 0; h < H; h++) sum[id * H + h] += dout[n * H + h]!;
  }
  for (let e = 0; e < V * H; e++) dtable[e] = dtable[e]! + sum[e]!;
}

// ─── RMSNorm ───────────────────────────────────────────────────────────────────────────────────

/** out[n,:] = x[n,:] · rstd[n] · w, rstd[n] = 1 / sqrt(mean(x[n,:]²) + eps). */
export function rmsnormForward(out: Floats, rstd: Floats, x: Floats, w: Floats, N: number, H: number, eps: number): void {
  need(out, N * H, 'out'); need(rstd, N, 'rstd'); need(x, N * H, 'x'); need(w, H, 'w');
  for (let n = 0; n < N; n++) {
    let sumSq = 0;
    for (let h = 0; h < H; h++) sumSq += x[n * H + h]! * x[n * H + h]!;
    const r = 1 / Math.sqrt(sumSq / H + eps);
    rstd[n] = r;
    for (let h = 0; h < H; h++) out[n * H + h] = x[n * H + h]! * r * w[h]!;
  }
}

/**
 * Gradients of y_h = x_h · r · w_h with r = (Σx²/H + eps)^(−1/2), so ∂r/∂x_j = −r³ · x_j / H:
 *   dx_j += r · dout_j · w_j − (r³ / H) · x_j · Σ_h dout_h · w_h · x_h
 *   dw_h += Σ_n dout[n,h] · x[n,h] · r[n]            (skipped when dw is null)
 * r is the saved rstd, as the contract passes it.
 */
export function rmsnormBackward(dx: Floats, dw: Floats | null, dout: Floats, x: Floats, w: Floats, rstd: Floats, N: number, H: number): void {
  need(dx, N * H, 'dx'); need(dout, N * H, 'dout'); need(x, N * H, 'x'); need(w, H, 'w'); need(rstd, N, 'rstd');
  if (dw) need(dw, H, 'dw');
  for (let n = 0; n < N; n++) {
    const r = rstd[n]!;
    let gx = 0;
    for (let h = 0; h < H; h++) gx += dout[n * H + h]! * w[h]! * x[n * H + h]!;
    for (let j = 0; j < H; j++) {
      const grad = r * dout[n * H + j]! * w[j]! - ((r * r * r) / H) * x[n * H + j]! * gx;
      dx[n * H + j] = dx[n * H + j]! + grad;
    }
  }
  if (dw) {
    for (let h = 0; h < H; h++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += dout[n * H + h]! * x[n * H + h]! * rstd[n]!;
      dw[h] = dw[h]! + s;
    }
  }
}

// ─── rotary position embedding ─────────────────────────────────────────────────────────────────

/**
 * Rotate-half RoPE, per head and j < D/2, with c = cos[pos[n], j], s = sin[pos[n], j]:
 *   out[j] = x[j]·c − x[j+D/2]·s,   out[j+D/2] = x[j+D/2]·c + x[j]·s.
 * x, out [N, heads, D] (out may alias x), pos [N], cos/sin [P, D/2].
 */
export function ropeForward(out: Floats, x: Floats, pos: Int32Array, cos: Floats, sin: Floats, N: number, heads: number, D: number, P: number): void {
  const half = D / 2;
  need(out, N * heads * D, 'out'); need(x, N * heads * D, 'x'); need(pos, N, 'pos'); need(cos, P * half, 'cos'); need(sin, P * half, 'sin');
  for (let n = 0; n < N; n++) {
    const p = pos[n]!;
    if (p < 0 || p >= P) throw new RangeError(`reference: position ${p} outside [0, ${P})`);
    for (let h = 0; h < heads; h++) {
      for (let j = 0; j < half; j++) {
        const lo = (n * heads + h) * D + j, hi = lo + half;
        const c = cos[p * half + j]!, s = sin[p * half + j]!;
        const a = x[lo]!, b = x[hi]!;
        out[lo] = a * c - b * s;
        out[hi] = b * c + a * s;
      }
    }
  }
}

/** dx += Rᵀ · dout: dx[j] += dout[j]·c + dout[j+D/2]·s, dx[j+D/2] += dout[j+D/2]·c − dout[j]·s. */
export function ropeBackward(dx: Floats, dout: Floats, pos: Int32Array, cos: Floats, sin: Floats, N: number, heads: number, D: number, P: number): void {
  const half = D / 2;
  need(dx, N * heads * D, 'dx'); need(dout, N * heads * D, 'dout'); need(pos, N, 'pos'); need(cos, P * half, 'cos'); need(sin, P * half, 'sin');
  for (let n = 0; n < N; n++) {
    const p = pos[n]!;
    if (p < 0 || p >= P) throw new RangeError(`reference: position ${p} outside [0, ${P})`);
    for (let h = 0; h < heads; h++) {
      for (let j = 0; j < half; j++) {
        const lo = (n * heads + h) * D + j, hi = lo + half;
        const c = cos[p * half + j]!, s = sin[p * half + j]!;
        const ga = dout[lo]!, gb = dout[hi]!;
        dx[lo] = dx[lo]! + (ga * c + gb * s);
        dx[hi] = dx[hi]! + (gb * c - ga * s);
      }
    }
  }
}

// ─── attention ─────────────────────────────────────────────────────────────────────────────────

/**
 * Causal grouped-query attention: for batch b, query head h (key/value head g = ⌊h / (NH/KV)⌋)
 * and position t, scores z[t2] = q[b,t,h]·k[b,t2,g] / √D for t2 ≤ t, p = softmax(z),
 * out[b,t,h] = Σ_{t2≤t} p[t2] · v[b,t2,g]; probs[b,h,t,t2] = p[t2], and 0 for t2 > t.
 * out [B,T,NH,D], probs [B,NH,T,T], q [B,T,NH,D], k and v [B,T,KV,D].
 */
export function attentionForward(out: Floats, probs: Floats, q: Floats, k: Floats, v: Floats, B: number, T: number, NH: number, KV: number, D: number): void {
  if (NH % KV !== 0) throw new RangeError(`reference: NH=${NH} is not a multiple of KV=${KV}`);
  need(out, B * T * NH * D, 'out'); need(probs, B * NH * T * T, 'probs'); need(q, B * T * NH * D, 'q');
  need(k, B * T * KV * D, 'k'); need(v, B * T * KV * D, 'v');
  const qi = (b: number, t: number, h: number) => ((b * T + t) * NH + h) * D;
  const ki = (b: number, t: number, g: number) => ((b * T + t) * KV + g) * D;
  const z = new Float64Array(T), p = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const g = Math.floor(h / (NH / KV));
      for (let t = 0; t < T; t++) {
        let zmax = -Infinity;
        for (let t2 = 0; t2 <= t; t2++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qi(b, t, h) + d]! * k[ki(b, t2, g) + d]!;
          z[t2] = dot / Math.sqrt(D);
          zmax = Math.max(zmax, z[t2]!);
        }
        let denom = 0;
        for (let t2 = 0; t2 <= t; t2++) denom += Math.exp(z[t2]! - zmax);
        const prow = ((b * NH + h) * T + t) * T;
        for (let t2 = 0; t2 < T; t2++) {
          p[t2] = t2 <= t ? Math.exp(z[t2]! - zmax) / denom : 0;
          probs[prow + t2] = p[t2]!;
        }
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let t2 = 0; t2 <= t; t2++) acc += p[t2]! * v[ki(b, t2, g) + d]!;
          out[qi(b, t, h) + d] = acc;
        }
      }
    }
  }
}

/**
 * Gradients of attentionForward given the saved probabilities P = probs:
 *   dP[t,t2] = dout[t]·v[t2],   dS[t,t2] = P[t,t2] · (dP[t,t2] − Σ_{t3≤t} P[t,t3]·dP[t,t3])
 *   dq[t] += Σ_{t2≤t} dS[t,t2] · k[t2] / √D,   dk[t2] += Σ_h Σ_{t≥t2} dS[t,t2] · q[t] / √D,
 *   dv[t2] += Σ_h Σ_{t≥t2} P[t,t2] · dout[t]   (the sums over h run over the query heads of g).
 */
export function attentionBackward(dq: Floats, dk: Floats, dv: Floats, dout: Floats, probs: Floats, q: Floats, k: Floats, v: Floats, B: number, T: number, NH: number, KV: number, D: number): void {
  if (NH % KV !== 0) throw new RangeError(`reference: NH=${NH} is not a multiple of KV=${KV}`);
  need(dq, B * T * NH * D, 'dq'); need(dk, B * T * KV * D, 'dk'); need(dv, B * T * KV * D, 'dv');
  need(dout, B * T * NH * D, 'dout'); need(probs, B * NH * T * T, 'probs'); need(q, B * T * NH * D, 'q');
  need(k, B * T * KV * D, 'k'); need(v, B * T * KV * D, 'v');
  const qi = (b: number, t: number, h: number) => ((b * T + t) * NH + h) * D;
  const ki = (b: number, t: number, g: number) => ((b * T + t) * KV + g) * D;
  const gq = new Float64Array(B * T * NH * D), gk = new Float64Array(B * T * KV * D), gv = new Float64Array(B * T * KV * D);
  const dP = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const g = Math.floor(h / (NH / KV));
      for (let t = 0; t < T; t++) {
        const prow = ((b * NH + h) * T + t) * T;
        let pdp = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += dout[qi(b, t, h) + d]! * v[ki(b, t2, g) + d]!;
          dP[t2] = dot;
          pdp += probs[prow + t2]! * dot;
        }
        for (let t2 = 0; t2 <= t; t2++) {
          const p = probs[prow + t2]!;
          const dS = p * (dP[t2]! - pdp);
          for (let d = 0; d < D; d++) {
            gv[ki(b, t2, g) + d] += p * dout[qi(b, t, h) + d]!;
            gq[qi(b, t, h) + d] += (dS * k[ki(b, t2, g) + d]!) / Math.sqrt(D);
            gk[ki(b, t2, g) + d] += (dS * q[qi(b, t, h) + d]!) / Math.sqrt(D);
          }
        }
      }
    }
  }
  for (let e = 0; e < gq.length; e++) dq[e] = dq[e]! + gq[e]!;
  for (let e = 0; e < gk.length; e++) dk[e] = dk[e]! + gk[e]!;
  for (let e = 0; e < gv.length; e++) dv[e] = dv[e]! + gv[e]!;
}

// ─── bias ──────────────────────────────────────────────────────────────────────────────────────

/** y[n,o] += bias[o] for every row n of y [N,O]. */
export function addBias(y: Floats, bias: Floats, N: number, O: number): void {
  need(y, N * O, 'y'); need(bias, O, 'bias');
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) y[n * O + o] = y[n * O + o]! + bias[o]!;
}

// ─── MLP ───────────────────────────────────────────────────────────────────────────────────────

/** out = silu(gate) · up, silu(g) = g / (1 + e^−g), elementwise over `size` elements. */
export function swigluForward(out: Floats, gate: Floats, up: Floats, size: number): void {
  need(out, size, 'out'); need(gate, size, 'gate'); need(up, size, 'up');
  for (let i = 0; i < size; i++) out[i] = (gate[i]! / (1 + Math.exp(-gate[i]!))) * up[i]!;
}

/** dgate += dout · up · silu'(gate), silu'(g) = σ(g) + g·σ(g)·(1 − σ(g)); dup += dout · silu(gate). */
export function swigluBackward(dgate: Floats, dup: Floats, dout: Floats, gate: Floats, up: Floats, size: number): void {
  need(dgate, size, 'dgate'); need(dup, size, 'dup'); need(dout, size, 'dout'); need(gate, size, 'gate'); need(up, size, 'up');
  for (let i = 0; i < size; i++) {
    const g = gate[i]!;
    const sigma = 1 / (1 + Math.exp(-g));
    dgate[i] = dgate[i]! + dout[i]! * up[i]! * (sigma + g * sigma * (1 - sigma));
    dup[i] = dup[i]! + dout[i]! * g * sigma;
  }
}

// ─── loss ──────────────────────────────────────────────────────────────────────────────────────

/** losses[n] = logsumexp(logits[n,:]) − logits[n, targets[n]], 0 where targets[n] < 0. */
export function crossEntropyForward(losses: Floats, logits: Floats, targets: Int32Array, N: number, V: number): void {
  need(losses, N, 'losses'); need(logits, N * V, 'logits'); need(targets, N, 'targets');
  for (let n = 0; n < N; n++) {
    const t = targets[n]!;
    if (t < 0) { losses[n] = 0; continue; }
    if (t >= V) throw new RangeError(`reference: target ${t} outside [0, ${V})`);
    losses[n] = logSumExp(logits, n * V, V) - logits[n * V + t]!;
  }
}

/** dlogits[n,:] += dlosses[n] · (softmax(logits[n,:]) − onehot(targets[n])); nothing where targets[n] < 0. */
export function crossEntropyBackward(dlogits: Floats, dlosses: Floats, logits: Floats, targets: Int32Array, N: number, V: number): void {
  need(dlogits, N * V, 'dlogits'); need(dlosses, N, 'dlosses'); need(logits, N * V, 'logits'); need(targets, N, 'targets');
  for (let n = 0; n < N; n++) {
    const t = targets[n]!;
    if (t < 0) continue;
    if (t >= V) throw new RangeError(`reference: target ${t} outside [0, ${V})`);
    const lse = logSumExp(logits, n * V, V);
    for (let j = 0; j < V; j++) {
      const softmax = Math.exp(logits[n * V + j]! - lse);
      dlogits[n * V + j] = dlogits[n * V + j]! + dlosses[n]! * (softmax - (j === t ? 1 : 0));
    }
  }
}

/** log Σ_j exp(a[off + j]), j < len, shifted by the maximum so no exp overflows. */
function logSumExp(a: Floats, off: number, len: number): number {
  let m = -Infinity;
  for (let j = 0; j < len; j++) m = Math.max(m, a[off + j]!);
  let s = 0;
  for (let j = 0; j < len; j++) s += Math.exp(a[off + j]! - m);
  return m + Math.log(s);
}

// ─── regularisation ────────────────────────────────────────────────────────────────────────────

/** Inverted dropout: out[i] = x[i] / (1 − p) where uniform(seed, i) ≥ p, else 0 (out may alias x). */
export function dropoutForward(out: Floats, x: Floats, size: number, p: number, seed: number): void {
  need(out, size, 'out'); need(x, size, 'x');
  for (let i = 0; i < size; i++) out[i] = uniform(seed >>> 0, i) >= p ? x[i]! / (1 - p) : 0;
}

/** dx[i] += dout[i] / (1 − p) where uniform(seed, i) ≥ p (the forward's mask, drawn again). */
export function dropoutBackward(dx: Floats, dout: Floats, size: number, p: number, seed: number): void {
  need(dx, size, 'dx'); need(dout, size, 'dout');
  for (let i = 0; i < size; i++) if (uniform(seed >>> 0, i) >= p) dx[i] = dx[i]! + dout[i]! / (1 - p);
}

// ─── optimizer ─────────────────────────────────────────────────────────────────────────────────

/**
 * One AdamW step (PyTorch's): m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
 * param −= lr · (m̂ / (√v̂ + ε) + wd · param), m̂ = m / (1 − β1^step), v̂ = v / (1 − β2^step).
 */
export function adamw(param: Floats, grad: Floats, m: Floats, v: Floats, size: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void {
  need(param, size, 'param'); need(grad, size, 'grad'); need(m, size, 'm'); need(v, size, 'v');
  for (let i = 0; i < size; i++) {
    const g = grad[i]!;
    const mNew = beta1 * m[i]! + (1 - beta1) * g;
    const vNew = beta2 * v[i]! + (1 - beta2) * g * g;
    const mHat = mNew / (1 - beta1 ** step);
    const vHat = vNew / (1 - beta2 ** step);
    param[i] = param[i]! - lr * (mHat / (Math.sqrt(vHat) + eps) + weightDecay * param[i]!);
    m[i] = mNew;
    v[i] = vNew;
  }
}
