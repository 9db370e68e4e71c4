/**
 * Dispatch helpers shared by the kernels: binding tensors to a Program (with the aliasing check
 * WebGPU imposes), grid-stride sizing for elementwise kernels, and the row-reduction prelude.
 */
import type { Program } from '../program.js';
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';

/** What a dispatch binds: a tensor, or a scratch buffer with its size (and byte offset, default 0). */
export type Bound = Pick<GpuTensor, 'buffer' | 'bytes'> & { format?: GpuTensor['format']; offset?: number };

/** True when two bindings are the same elements (an in-place op), not just the same buffer. */
export function sameElements(a: Bound, b: Bound): boolean {
  return a.buffer === b.buffer && (a.offset ?? 0) === (b.offset ?? 0);
}

/** Workgroup size of elementwise and row kernels. */
export const WG = 256;
/** Grid-stride kernels use at most this many workgroups (each thread loops over the rest). */
const MAX_WORKGROUPS = 4096;

/**
 * Dispatches `p` over tensors (in binding order). A buffer bound writable may not be bound again in
 * the same dispatch (WebGPU forbids it), so ops whose output may alias an input use an in-place
 * program variant; anything else aliasing (slices of one buffer included) is a caller bug and
 * throws here, naming the op.
 */
export function launch(rt: GpuRuntime, p: Program, tensors: readonly Bound[], uniforms: readonly number[], workgroups: readonly [number, number, number]): void {
  const buffers = tensors.map((t) => t.buffer);
  tensors.forEach((t, i) => {
    const b = p.bindings[i];
    if (b && t.format !== undefined && t.format !== 'f32' && b.type !== 'u32') throw new Error(`webgpu ${p.name}: '${b.name}' is stored as ${t.format}, which this op does not read (only linear weights and embedding tables may be)`);
  });
  p.bindings.forEach((b, i) => {
    if (b.access !== 'read_write') return;
    buffers.forEach((other, j) => {
      if (j !== i && other === buffers[i]) throw new Error(`webgpu ${p.name}: tensor '${b.name}' aliases '${p.bindings[j]!.name}', which this op does not allow`);
    });
  });
  rt.dispatch(p, buffers, tensors.map((t) => t.bytes), uniforms, workgroups, tensors.map((t) => t.offset ?? 0));
}

/** Workgroups for a grid-stride loop over n elements. */
export function gridFor(n: number): [number, number, number] {
  return [Math.max(1, Math.min(MAX_WORKGROUPS, Math.ceil(n / WG))), 1, 1];
}

/** WGSL: `for (i …)` over a grid-stride range of `n` elements; the loop body follows. */
export function gridStride(n: string): string {
  return `for (var i = gid.x; i < ${n}; i += nwg.x * ${WG}u)`;
}

/**
 * WGSL prelude for row kernels (one workgroup of `wg` threads per row, wg a power of two): tree reductions over the
 * workgroup in a fixed order, so the result never depends on scheduling.
 */
export function rowReducePrelude(wg: number): string {
  return `
var<workgroup> red: array<f32, ${wg}>;
fn reduceSum(v: f32, t: u32) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (t < s) { red[t] = red[t] + red[t + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn reduceMax(v: f32, t: u32) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (t < s) { red[t] = max(red[t], red[t + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
`;
}
export const ROW_REDUCE_PRELUDE = rowReducePrelude(WG);

/** Program with the common defaults filled in. */
export function program(p: Omit<Program, 'workgroupSize' | 'key'> & { workgroupSize?: Program['workgroupSize']; key?: string }): Program {
  return { workgroupSize: [WG, 1, 1], key: p.name, ...p };
}
