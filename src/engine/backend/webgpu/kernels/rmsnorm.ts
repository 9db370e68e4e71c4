/**
 * RMSNorm forward and backward, fused: one workgroup per row, a fixed-order tree reduction for
 * the row's sum of squares (and for Σ g·x in backward). The weight gradient (only for trainable
 * norms) is a column kernel that walks the rows in order.
 */
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';
import { launch, program, ROW_REDUCE_PRELUDE, WG } from './launch.js';

const f = (name: string) => ({ name, type: 'f32' as const, access: 'read' as const });
const fw = (name: string) => ({ name, type: 'f32' as const, access: 'read_write' as const });

const FWD = program({
  name: 'rmsnorm_forward', bindings: [fw('out'), fw('rstd'), f('x'), f('w')],
  uniforms: [{ name: 'h', type: 'u32' }, { name: 'eps', type: 'f32' }], prelude: ROW_REDUCE_PRELUDE,
  body: `
  let row = wid.x + wid.y * nwg.x;
  let base = row * u.h;
  var ss = 0.0;
  for (var c = lindex; c < u.h; c += ${WG}u) { let v = x[base + c]; ss += v * v; }
  let total = reduceSum(ss, lindex);
  let r = 1.0 / sqrt(total / f32(u.h) + u.eps);
  if (lindex == 0u) { rstd[row] = r; }
  for (var c = lindex; c < u.h; c += ${WG}u) { out[base + c] = x[base + c] * r * w[c]; }`,
});

const BWD = program({
  name: 'rmsnorm_backward', bindings: [fw('dx'), f('dout'), f('x'), f('w'), f('rstd')],
  uniforms: [{ name: 'h', type: 'u32' }], prelude: ROW_REDUCE_PRELUDE,
  body: `
  let row = wid.x + wid.y * nwg.x;
  let base = row * u.h;
  var dot = 0.0;
  for (var c = lindex; c < u.h; c += ${WG}u) { dot += dout[base + c] * w[c] * x[base + c]; }
  let total = reduceSum(dot, lindex);
  let r = rstd[row];
  let k = r * r * r * total / f32(u.h);
  for (var c = lindex; c < u.h; c += ${WG}u) {
    dx[base + c] = dx[base + c] + (r * dout[base + c] * w[c] - k * x[base + c]);
  }`,
});

const BWD_WEIGHT = program({
  name: 'rmsnorm_backward_weight', bindings: [fw('dw'), f('dout'), f('x'), f('rstd')],
  uniforms: [{ name: 'n', type: 'u32' }, { name: 'h', type: 'u32' }],
  body: `
  let c = gid.x;
  if (c >= u.h) { return; }
  var acc = 0.0;
  for (var n = 0u; n < u.n; n++) { acc += dout[n * u.h + c] * x[n * u.h + c] * rstd[n]; }
  dw[c] = dw[c] + acc;`,
});

/** Workgroups for one per row, folded into 2-D past the 65 535 limit of one dimension. */
export function rowGrid(rows: number): [number, number, number] {
  if (rows <= 65535) return [rows, 1, 1];
  // callers index rows as wid.x + wid.y·nwg.x; rows must then divide evenly
  for (let x = 65535; x > 0; x--) if (rows % x === 0) return [x, rows / x, 1];
  return [rows, 1, 1];
}

/** out = x · rstd · w per row; rstd[n] saved. */
export function rmsnormForward(rt: GpuRuntime, out: GpuTensor, rstd: GpuTensor, x: GpuTensor, w: GpuTensor, eps: number): void {
  launch(rt, FWD, [out, rstd, x, w], [w.size, eps], rowGrid(rstd.size));
}

/** dx += ∂/∂x; dw += ∂/∂w unless null. */
export function rmsnormBackward(rt: GpuRuntime, dx: GpuTensor, dw: GpuTensor | null, dout: GpuTensor, x: GpuTensor, w: GpuTensor, rstd: GpuTensor): void {
  launch(rt, BWD, [dx, dout, x, w, rstd], [w.size], rowGrid(rstd.size));
  if (dw) launch(rt, BWD_WEIGHT, [dw, dout, x, rstd], [rstd.size, w.size], [Math.ceil(w.size / WG), 1, 1]);
}
