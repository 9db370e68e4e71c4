/**
 * Embedding gather and its deterministic scatter-add: one thread owns one column of the table and
 * walks the tokens in order, so repeated ids sum in order of n with no atomics.
 */
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';
import { gridFor, gridStride, launch, program } from './launch.js';

const U = [{ name: 'n', type: 'u32' as const }, { name: 'h', type: 'u32' as const }];

const GATHER = program({
  name: 'embedding_forward',
  bindings: [{ name: 'out', type: 'f32', access: 'read_write' }, { name: 'ids', type: 'i32', access: 'read' }, { name: 'table', type: 'f32', access: 'read' }],
  uniforms: U,
  body: `${gridStride('u.n * u.h')} { let row = i / u.h; out[i] = table[u32(ids[row]) * u.h + (i - row * u.h)]; }`,
});

/** The gather from a table of 16-bit values packed two to a u32; `unpack` reads element `at` of word `w` as f32. */
function packedGather(name: string, unpack: string) {
  return program({
    name,
    bindings: [{ name: 'out', type: 'f32', access: 'read_write' }, { name: 'ids', type: 'i32', access: 'read' }, { name: 'table', type: 'u32', access: 'read' }],
    uniforms: U,
    body: `${gridStride('u.n * u.h')} {
    let row = i / u.h;
    let at = u32(ids[row]) * u.h + (i - row * u.h);
    let w = table[at >> 1u];
    out[i] = ${unpack};
  }`,
  });
}

const GATHER_BF16 = packedGather('embedding_forward_bf16', 'bitcast<f32>(select(w << 16u, w & 0xffff0000u, (at & 1u) == 1u))');
const GATHER_F16 = packedGather('embedding_forward_f16', 'unpack2x16float(w)[at & 1u]');

const SCATTER_ADD = program({
  name: 'embedding_backward',
  bindings: [{ name: 'dtable', type: 'f32', access: 'read_write' }, { name: 'dout', type: 'f32', access: 'read' }, { name: 'ids', type: 'i32', access: 'read' }],
  uniforms: U,
  body: `${gridStride('u.h')} {
    for (var n = 0u; n < u.n; n++) {
      let at = u32(ids[n]) * u.h + i;
      dtable[at] = dtable[at] + dout[n * u.h + i];
    }
  }`,
});

/** out[N,H] = table[ids[n], :]; the table may be stored as bf16 or f16. */
export function embeddingForward(rt: GpuRuntime, out: GpuTensor, ids: GpuTensor, table: GpuTensor): void {
  const n = ids.size, h = out.size / n;
  const p = table.format === 'bf16' ? GATHER_BF16 : table.format === 'f16' ? GATHER_F16 : GATHER;
  launch(rt, p, [out, ids, table], [n, h], gridFor(n * h));
}

/** dtable[ids[n], :] += dout[n, :], in order of n. */
export function embeddingBackward(rt: GpuRuntime, dtable: GpuTensor, dout: GpuTensor, ids: GpuTensor): void {
  const n = ids.size, h = dout.size / n;
  launch(rt, SCATTER_ADD, [dtable, dout, ids], [n, h], gridFor(h));
}
