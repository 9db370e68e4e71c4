/** Widening a packed f16 storage to f32 in place of it (exact), for ops that read only f32. */
import type { GpuRuntime } from '../runtime.js';
import { gridFor, gridStride, launch, program, type Bound } from './launch.js';

const WIDEN_F16 = program({
  name: 'widen_f16',
  bindings: [{ name: 'out', type: 'f32', access: 'read_write' }, { name: 'packed', type: 'u32', access: 'read' }],
  uniforms: [{ name: 'n', type: 'u32' }],
  body: `${gridStride('u.n')} { out[i] = unpack2x16float(packed[i >> 1u])[i & 1u]; }`,
});

/** out[i] = the f32 value of f16 element i of `packed` (exact). */
export function widenF16(rt: GpuRuntime, out: Bound, packed: Bound & { format: 'f16' }, n: number): void {
  launch(rt, WIDEN_F16, [out, packed], [n], gridFor(n));
}
