/**
 * Causal grouped-query attention, forward and backward, in two variants:
 * - 'tiled' (default): the products as batched tile GEMMs (S = QKᵀ/√D, O = P·V, dP = dO·Vᵀ,
 *   dQ = dS·K/√D, dK = dSᵀ·Q/√D, dV = Pᵀ·dO, one batch per head, tiles above the diagonal
 *   skipped) with row kernels for the softmax and for dS = P ⊙ (dP − rowsum(P ⊙ dP)).
 * - 'rows': one workgroup of 64 threads per row, as described below; simpler, slower.
 * FLOCK_WEBGPU_ATTENTION=rows|tiled forces one (tests run both).
 *
 * Rows variant. Forward, per (b, h, i): scores q_i·k_j/√D for j ≤ i (the row of `probs` doubles as scratch),
 * softmax with fixed-order tree reductions, zeros above the diagonal, then out_i = Σ_j p_ij v_j
 * (thread d owns out[d], j in order).
 * Backward: (1) per (b, h, i): dp_ij = dout_i·v_j, dS_ij = p_ij (dp_ij − Σ_j p_ij dp_ij) into a
 * scratch [B,NH,T,T], then dq_i += Σ_j dS_ij k_j/√D; (2) per (b, g, j): dk_j += Σ_{h∈g, i≥j}
 * dS_hij q_hi/√D and dv_j += Σ p_hij dout_hi — every output owned by one thread, sums in a fixed
 * order, no atomics.
 *
 * Legend: B batch, T sequence, NH query heads, KV key/value heads, D head dim (≤ 256).
 */
import { FlockError } from '../../../../util/errors.js';
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';
import { launch, program, rowReducePrelude, ROW_REDUCE_PRELUDE, WG } from './launch.js';
import { rowGrid } from './rmsnorm.js';
import { gemm } from './matmul.js';

export type AttentionVariant = 'tiled' | 'rows';
export const ATTENTION_VARIANTS: readonly AttentionVariant[] = ['tiled', 'rows'];

/** The variant forced by FLOCK_WEBGPU_ATTENTION, or 'tiled'. */
export function attentionVariantFromEnv(): AttentionVariant {
  return process.env['FLOCK_WEBGPU_ATTENTION'] === 'rows' ? 'rows' : 'tiled';
}

const AW = 64;
const MAX_D = 256;
const f = (name: string) => ({ name, type: 'f32' as const, access: 'read' as const });
const fw = (name: string) => ({ name, type: 'f32' as const, access: 'read_write' as const });
const U = [
  { name: 't', type: 'u32' as const }, { name: 'nh', type: 'u32' as const }, { name: 'kv', type: 'u32' as const },
  { name: 'd', type: 'u32' as const }, { name: 'scale', type: 'f32' as const },
];
// Row r = (b·NH + h)·T + i; qo/ko/po: offsets of q_i, of k_0 for this head's group, of the probs row.
const ROW_INDEX = `
  let r = wid.x + wid.y * nwg.x;
  let i = r % u.t;
  let h = (r / u.t) % u.nh;
  let b = r / (u.t * u.nh);
  let g = h / (u.nh / u.kv);
  let qo = ((b * u.t + i) * u.nh + h) * u.d;
  let po = r * u.t;`;
const KEY = (j: string) => `((b * u.t + ${j}) * u.kv + g) * u.d`;

const FWD = program({
  name: 'attention_forward', workgroupSize: [AW, 1, 1],
  bindings: [fw('out'), fw('probs'), f('q'), f('k'), f('v')], uniforms: U,
  prelude: `${rowReducePrelude(AW)}\nvar<workgroup> qs: array<f32, ${MAX_D}>;`,
  body: `${ROW_INDEX}
  for (var d = lindex; d < u.d; d += ${AW}u) { qs[d] = q[qo + d]; }
  workgroupBarrier();
  var mx = bitcast<f32>(0xff7fffffu);
  for (var j = lindex; j <= i; j += ${AW}u) {
    let ko = ${KEY('j')};
    var s = 0.0;
    for (var d = 0u; d < u.d; d++) { s = fma(qs[d], k[ko + d], s); }
    s = s * u.scale;
    probs[po + j] = s;
    mx = max(mx, s);
  }
  let rowMax = reduceMax(mx, lindex);
  var se = 0.0;
  for (var j = lindex; j <= i; j += ${AW}u) { let e = exp(probs[po + j] - rowMax); probs[po + j] = e; se += e; }
  let sum = reduceSum(se, lindex);
  for (var j = lindex; j < u.t; j += ${AW}u) { probs[po + j] = select(0.0, probs[po + j] / sum, j <= i); }
  storageBarrier();
  workgroupBarrier();
  for (var d = lindex; d < u.d; d += ${AW}u) {
    var acc = 0.0;
    for (var j = 0u; j <= i; j++) { acc = fma(probs[po + j], v[${KEY('j')} + d], acc); }
    out[qo + d] = acc;
  }`,
});

const BWD_Q = program({
  name: 'attention_backward_q', workgroupSize: [AW, 1, 1],
  bindings: [fw('dq'), fw('ds'), f('dout'), f('probs'), f('k'), f('v')], uniforms: U,
  prelude: `${rowReducePrelude(AW)}\nvar<workgroup> dos: array<f32, ${MAX_D}>;`,
  body: `${ROW_INDEX}
  for (var d = lindex; d < u.d; d += ${AW}u) { dos[d] = dout[qo + d]; }
  workgroupBarrier();
  var acc = 0.0;
  for (var j = lindex; j <= i; j += ${AW}u) {
    let vo = ${KEY('j')};
    var dp = 0.0;
    for (var d = 0u; d < u.d; d++) { dp = fma(dos[d], v[vo + d], dp); }
    ds[po + j] = dp;
    acc = fma(probs[po + j], dp, acc);
  }
  let total = reduceSum(acc, lindex);
  for (var j = lindex; j <= i; j += ${AW}u) { ds[po + j] = probs[po + j] * (ds[po + j] - total); }
  storageBarrier();
  workgroupBarrier();
  for (var d = lindex; d < u.d; d += ${AW}u) {
    var s = 0.0;
    for (var j = 0u; j <= i; j++) { s = fma(ds[po + j], k[${KEY('j')} + d], s); }
    dq[qo + d] = dq[qo + d] + s * u.scale;
  }`,
});

const BWD_KV = program({
  name: 'attention_backward_kv', workgroupSize: [AW, 1, 1],
  bindings: [fw('dk'), fw('dv'), f('ds'), f('probs'), f('q'), f('dout')], uniforms: U,
  body: `
  let r = wid.x + wid.y * nwg.x;
  let j = r % u.t;
  let g = (r / u.t) % u.kv;
  let b = r / (u.t * u.kv);
  let group = u.nh / u.kv;
  let ko = ((b * u.t + j) * u.kv + g) * u.d;
  for (var d = lindex; d < u.d; d += ${AW}u) {
    var sk = 0.0;
    var sv = 0.0;
    for (var hh = 0u; hh < group; hh++) {
      let h = g * group + hh;
      for (var i = j; i < u.t; i++) {
        let pr = ((b * u.nh + h) * u.t + i) * u.t + j;
        let qo = ((b * u.t + i) * u.nh + h) * u.d + d;
        sk = fma(ds[pr], q[qo], sk);
        sv = fma(probs[pr], dout[qo], sv);
      }
    }
    dk[ko + d] = dk[ko + d] + sk * u.scale;
    dv[ko + d] = dv[ko + d] + sv;
  }`,
});

interface Dims { b: number; t: number; nh: number; kv: number; d: number }

function dims(probs: GpuTensor, q: GpuTensor, k: GpuTensor): Dims {
  if (probs.shape.length !== 4) throw new Error(`webgpu attention: probs must be [B,NH,T,T], got [${probs.shape.join(',')}]`);
  const [b, nh, t] = probs.shape as [number, number, number, number];
  const d = q.size / (b * t * nh);
  const kv = k.size / (b * t * d);
  if (!Number.isInteger(d) || !Number.isInteger(kv) || nh % kv !== 0) {
    throw new Error(`webgpu attention: shapes q [${q.shape.join(',')}], k [${k.shape.join(',')}], probs [${probs.shape.join(',')}] do not fit`);
  }
  if (d > MAX_D) throw new FlockError(`webgpu attention: head dim ${d} exceeds the kernel's ${MAX_D}`, { hint: 'use --backend cpu for this model' });
  return { b, t, nh, kv, d };
}

function uniforms(x: Dims): number[] {
  return [x.t, x.nh, x.kv, x.d, 1 / Math.sqrt(x.d)];
}

// ─── tiled variant: row kernels between the GEMMs (one workgroup of WG threads per row) ─────

const SOFTMAX_ROWS = program({
  name: 'attention_softmax', bindings: [fw('probs')], uniforms: [{ name: 't', type: 'u32' }], prelude: ROW_REDUCE_PRELUDE,
  body: `
  let r = wid.x + wid.y * nwg.x;
  let i = r % u.t;
  let po = r * u.t;
  var mx = bitcast<f32>(0xff7fffffu);
  for (var j = lindex; j <= i; j += ${WG}u) { mx = max(mx, probs[po + j]); }
  let rowMax = reduceMax(mx, lindex);
  var se = 0.0;
  for (var j = lindex; j <= i; j += ${WG}u) { let e = exp(probs[po + j] - rowMax); probs[po + j] = e; se += e; }
  let sum = reduceSum(se, lindex);
  for (var j = lindex; j < u.t; j += ${WG}u) { probs[po + j] = select(0.0, probs[po + j] / sum, j <= i); }`,
});

const DS_ROWS = program({
  name: 'attention_ds', bindings: [fw('ds'), f('probs')], uniforms: [{ name: 't', type: 'u32' }], prelude: ROW_REDUCE_PRELUDE,
  body: `
  let r = wid.x + wid.y * nwg.x;
  let i = r % u.t;
  let po = r * u.t;
  var acc = 0.0;
  for (var j = lindex; j <= i; j += ${WG}u) { acc = fma(probs[po + j], ds[po + j], acc); }
  let total = reduceSum(acc, lindex);
  for (var j = lindex; j < u.t; j += ${WG}u) { ds[po + j] = select(0.0, probs[po + j] * (ds[po + j] - total), j <= i); }`,
});

/** Batch layouts of the attention GEMMs: per query head (b, h), or per key/value head (b, g). */
function layouts(x: Dims) {
  const { t, nh, kv, d } = x;
  const group = nh / kv;
  const perHead = (a: [number, number], b: [number, number], c: [number, number]) => ({ count: x.b * nh, heads: nh, group, a, b, c });
  return {
    group,
    q: [t * nh * d, d] as [number, number], // q, out, dout, dq rows: [B,T,NH,D]
    kv: [t * kv * d, d] as [number, number], // k, v, dk, dv rows: [B,T,KV,D]
    p: [nh * t * t, t * t] as [number, number], // probs, ds: [B,NH,T,T]
    perHead,
  };
}

function forwardTiled(rt: GpuRuntime, out: GpuTensor, probs: GpuTensor, q: GpuTensor, k: GpuTensor, v: GpuTensor, x: Dims): void {
  const { t, nh, kv, d } = x;
  const L = layouts(x);
  gemm(rt, probs, q, k, { m: t, n: t, k: d, lda: nh * d, ldb: kv * d, ldc: t, batch: L.perHead(L.q, L.kv, L.p), causal: 3 }, { a: 'mk', b: 'nk' }, 1 / Math.sqrt(d), false);
  launch(rt, SOFTMAX_ROWS, [probs], [t], rowGrid(x.b * nh * t));
  gemm(rt, out, probs, v, { m: t, n: d, k: t, lda: t, ldb: kv * d, ldc: nh * d, batch: L.perHead(L.p, L.kv, L.q), causal: 1 }, { a: 'mk', b: 'kn' }, 1, false);
}

function backwardTiled(rt: GpuRuntime, dq: GpuTensor, dk: GpuTensor, dv: GpuTensor, dout: GpuTensor, probs: GpuTensor, q: GpuTensor, k: GpuTensor, v: GpuTensor, x: Dims): void {
  const { t, nh, kv, d } = x;
  const L = layouts(x);
  const scale = 1 / Math.sqrt(d);
  const ds = { buffer: rt.allocate(probs.bytes, 'attention.ds'), bytes: probs.bytes };
  gemm(rt, ds, dout, v, { m: t, n: t, k: d, lda: nh * d, ldb: kv * d, ldc: t, batch: L.perHead(L.q, L.kv, L.p), causal: 3 }, { a: 'mk', b: 'nk' }, 1, false);
  launch(rt, DS_ROWS, [ds, probs], [t], rowGrid(x.b * nh * t));
  gemm(rt, dq, ds, k, { m: t, n: d, k: t, lda: t, ldb: kv * d, ldc: nh * d, batch: L.perHead(L.p, L.kv, L.q), causal: 1 }, { a: 'mk', b: 'kn' }, scale, true);
  // dk, dv per key/value head g: the query heads of its group one after another (a fixed order)
  const perKv = { count: x.b * kv, heads: kv, group: 1, a: [nh * t * t, L.group * t * t] as [number, number], b: [t * nh * d, L.group * d] as [number, number], c: L.kv };
  for (let hh = 0; hh < L.group; hh++) {
    const shape = { m: t, n: d, k: t, lda: t, ldb: nh * d, ldc: kv * d, batch: perKv, base: { a: hh * t * t, b: hh * d, c: 0 }, causal: 2 as const };
    gemm(rt, dk, ds, q, shape, { a: 'km', b: 'kn' }, scale, true);
    gemm(rt, dv, probs, dout, shape, { a: 'km', b: 'kn' }, 1, true);
  }
  rt.release(ds.buffer);
}

/** out, probs = causal GQA attention of q, k, v. */
export function attentionForward(rt: GpuRuntime, out: GpuTensor, probs: GpuTensor, q: GpuTensor, k: GpuTensor, v: GpuTensor, variant: AttentionVariant = 'tiled'): void {
  const x = dims(probs, q, k);
  if (variant === 'tiled') return forwardTiled(rt, out, probs, q, k, v, x);
  launch(rt, FWD, [out, probs, q, k, v], uniforms(x), rowGrid(x.b * x.nh * x.t));
}

/** dq, dk, dv += gradients of attention given dout and the saved probs. */
export function attentionBackward(rt: GpuRuntime, dq: GpuTensor, dk: GpuTensor, dv: GpuTensor, dout: GpuTensor, probs: GpuTensor, q: GpuTensor, k: GpuTensor, v: GpuTensor, variant: AttentionVariant = 'tiled'): void {
  const x = dims(probs, q, k);
  if (variant === 'tiled') return backwardTiled(rt, dq, dk, dv, dout, probs, q, k, v, x);
  const ds = { buffer: rt.allocate(probs.bytes, 'attention.ds'), bytes: probs.bytes };
  launch(rt, BWD_Q, [dq, ds, dout, probs, k, v], uniforms(x), rowGrid(x.b * x.nh * x.t));
  launch(rt, BWD_KV, [dk, dv, ds, probs, q, dout], uniforms(x), rowGrid(x.b * x.kv * x.t));
  rt.release(ds.buffer);
}
