/**
 * Cross-entropy over the vocabulary, fused with its softmax: one workgroup per row; max and
 * Σ exp in fixed-order tree reductions; rows without a target (targets[n] < 0) are skipped
 * (in backward the whole workgroup leaves at once, through a uniform load).
 */
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';
import { launch, program, ROW_REDUCE_PRELUDE, WG } from './launch.js';
import { rowGrid } from './rmsnorm.js';

/** The row this workgroup owns, and its target read once into a workgroup-uniform value. */
const ROW_TARGET = `
  let row = wid.x + wid.y * nwg.x;
  let base = row * u.v;
  if (lindex == 0u) { rowTarget = targets[row]; }
  let t = workgroupUniformLoad(&rowTarget);`;

const LSE = `
  var mx = bitcast<f32>(0xff7fffffu);
  for (var c = lindex; c < u.v; c += ${WG}u) { mx = max(mx, logits[base + c]); }
  let rowMax = reduceMax(mx, lindex);
  var se = 0.0;
  for (var c = lindex; c < u.v; c += ${WG}u) { se += exp(logits[base + c] - rowMax); }
  let sumExp = reduceSum(se, lindex);`;

const FWD = program({
  name: 'cross_entropy_forward',
  bindings: [{ name: 'losses', type: 'f32', access: 'read_write' }, { name: 'logits', type: 'f32', access: 'read' }, { name: 'targets', type: 'i32', access: 'read' }],
  uniforms: [{ name: 'v', type: 'u32' }], prelude: `${ROW_REDUCE_PRELUDE}\nvar<workgroup> rowTarget: i32;`,
  body: `
  ${ROW_TARGET}
  if (t < 0) { if (lindex == 0u) { losses[row] = 0.0; } return; }
  ${LSE}
  if (lindex == 0u) { losses[row] = rowMax + log(sumExp) - logits[base + u32(t)]; }`,
});

const BWD = program({
  name: 'cross_entropy_backward',
  bindings: [
    { name: 'dlogits', type: 'f32', access: 'read_write' }, { name: 'dlosses', type: 'f32', access: 'read' },
    { name: 'logits', type: 'f32', access: 'read' }, { name: 'targets', type: 'i32', access: 'read' },
  ],
  uniforms: [{ name: 'v', type: 'u32' }], prelude: `${ROW_REDUCE_PRELUDE}\nvar<workgroup> rowTarget: i32;`,
  body: `
  ${ROW_TARGET}
  if (t < 0) { return; }
  ${LSE}
  let d = dlosses[row];
  let inv = 1.0 / sumExp;
  for (var c = lindex; c < u.v; c += ${WG}u) {
    let p = exp(logits[base + c] - rowMax) * inv;
    dlogits[base + c] = dlogits[base + c] + d * (p - select(0.0, 1.0, c == u32(t)));
  }`,
});

/** losses[n] = logsumexp(logits[n]) − logits[n, t], 0 without a target. */
export function crossEntropyForward(rt: GpuRuntime, losses: GpuTensor, logits: GpuTensor, targets: GpuTensor): void {
  launch(rt, FWD, [losses, logits, targets], [logits.size / targets.size], rowGrid(targets.size));
}

/** dlogits[n] += dlosses[n] · (softmax − onehot) for rows with a target. */
export function crossEntropyBackward(rt: GpuRuntime, dlogits: GpuTensor, dlosses: GpuTensor, logits: GpuTensor, targets: GpuTensor): void {
  launch(rt, BWD, [dlogits, dlosses, logits, targets], [logits.size / targets.size], rowGrid(targets.size));
}
