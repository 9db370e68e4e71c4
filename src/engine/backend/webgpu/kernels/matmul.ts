/**
 * Matrix multiply C[M,N] (=|+=) alpha · A·B with either operand stored transposed, in two variants:
 * - 'tiled': a 64×64 output tile per workgroup of 16×16 threads (4×4 outputs each), K in steps
 *   of 16 through workgroup memory. Good when there are many output tiles.
 * - 'splitk': the same tile kernel over S slices of K, writing S partial products that a second
 *   kernel sums in slice order (deterministic, no atomics). Pays for LoRA's thin shapes
 *   (x·Aᵀ is [T,R], dB is [O,R], …: few output tiles, a long K).
 * `auto` picks split-K when the output has fewer tiles than the GPU has room for and K is long;
 * FLOCK_WEBGPU_MATMUL=tiled|splitk forces a variant (tests run every one).
 */
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';
import { gridFor, gridStride, launch, program } from './launch.js';

export type MatmulVariant = 'auto' | 'tiled' | 'splitk';
export const MATMUL_VARIANTS: readonly Exclude<MatmulVariant, 'auto'>[] = ['tiled', 'splitk'];

/** How A and B are stored: A as [M,K] ('mk') or [K,M] ('km'); B as [K,N] ('kn') or [N,K] ('nk'). */
export interface MatmulLayout {
  a: 'mk' | 'km';
  b: 'kn' | 'nk';
}

const TILE = 64;
const TK = 16;

/** WGSL: element i of a bf16 operand packed two per u32, widened to f32 exactly. */
const BF16_B = `
fn bAt(i: u32) -> f32 {
  let w = b[i >> 1u];
  return bitcast<f32>(select(w << 16u, w & 0xffff0000u, (i & 1u) == 1u));
}`;

function tileProgram(layout: MatmulLayout, split: boolean, bf16: boolean) {
  const loadA = layout.a === 'mk'
    ? 'let mm = e / 16u; let kk = e % 16u; let gm = m0 + mm; let gk = k0 + kk; var v = 0.0; if (gm < u.m && gk < kEnd) { v = a[gm * u.k + gk]; } As[kk][mm] = v;'
    : 'let kk = e / 64u; let mm = e % 64u; let gm = m0 + mm; let gk = k0 + kk; var v = 0.0; if (gm < u.m && gk < kEnd) { v = a[gk * u.m + gm]; } As[kk][mm] = v;';
  const loadB = layout.b === 'kn'
    ? 'let kk = e / 64u; let nn = e % 64u; let gn = n0 + nn; let gk = k0 + kk; var v = 0.0; if (gn < u.n && gk < kEnd) { v = bAt(gk * u.n + gn); } Bs[kk][nn] = v;'
    : 'let nn = e / 16u; let kk = e % 16u; let gn = n0 + nn; let gk = k0 + kk; var v = 0.0; if (gn < u.n && gk < kEnd) { v = bAt(gn * u.k + gk); } Bs[kk][nn] = v;';
  const store = split
    ? 'c[wid.z * u.m * u.n + idx] = acc[i][j];'
    : 'var r = u.alpha * acc[i][j]; if (u.accumulate != 0u) { r = c[idx] + r; } c[idx] = r;';
  const name = split ? 'matmul_splitk' : 'matmul_tiled';
  return program({
    name,
    key: `${name}_${layout.a}_${layout.b}${bf16 ? '_bf16' : ''}`,
    workgroupSize: [16, 16, 1],
    bindings: [{ name: 'c', type: 'f32', access: 'read_write' }, { name: 'a', type: 'f32', access: 'read' }, { name: 'b', type: bf16 ? 'u32' : 'f32', access: 'read' }],
    uniforms: [
      { name: 'm', type: 'u32' }, { name: 'n', type: 'u32' }, { name: 'k', type: 'u32' },
      { name: 'alpha', type: 'f32' }, { name: 'accumulate', type: 'u32' }, { name: 'kChunk', type: 'u32' },
    ],
    prelude: `var<workgroup> As: array<array<f32, ${TILE}>, ${TK}>;\nvar<workgroup> Bs: array<array<f32, ${TILE}>, ${TK}>;\n${bf16 ? BF16_B : 'fn bAt(i: u32) -> f32 { return b[i]; }'}`,
    body: `
  let m0 = wid.y * ${TILE}u;
  let n0 = wid.x * ${TILE}u;
  let kBegin = wid.z * u.kChunk;
  let kEnd = min(u.k, kBegin + u.kChunk);
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = kBegin; k0 < kEnd; k0 += ${TK}u) {
    for (var r = 0u; r < 4u; r++) {
      let e = lindex + r * 256u;
      { ${loadA} }
      { ${loadB} }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { av[i] = As[kk][lid.y + 16u * i]; bv[i] = Bs[kk][lid.x + 16u * i]; }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(av[i], bv[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let gm = m0 + lid.y + 16u * i;
    if (gm >= u.m) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let gn = n0 + lid.x + 16u * j;
      if (gn >= u.n) { continue; }
      let idx = gm * u.n + gn;
      ${store}
    }
  }`,
  });
}

const PROGRAMS = new Map<string, ReturnType<typeof tileProgram>>();
function tile(layout: MatmulLayout, split: boolean, bf16: boolean) {
  const key = `${split}_${layout.a}_${layout.b}_${bf16}`;
  let p = PROGRAMS.get(key);
  if (!p) PROGRAMS.set(key, (p = tileProgram(layout, split, bf16)));
  return p;
}

const SPLITK_REDUCE = program({
  name: 'matmul_splitk_reduce',
  bindings: [{ name: 'c', type: 'f32', access: 'read_write' }, { name: 'partial', type: 'f32', access: 'read' }],
  uniforms: [{ name: 'mn', type: 'u32' }, { name: 'splits', type: 'u32' }, { name: 'alpha', type: 'f32' }, { name: 'accumulate', type: 'u32' }],
  body: `${gridStride('u.mn')} {
    var s = 0.0;
    for (var z = 0u; z < u.splits; z++) { s += partial[z * u.mn + i]; }
    var r = u.alpha * s;
    if (u.accumulate != 0u) { r = c[i] + r; }
    c[i] = r;
  }`,
});

/** The variant forced by FLOCK_WEBGPU_MATMUL, or 'auto'. */
export function matmulVariantFromEnv(): MatmulVariant {
  const v = process.env['FLOCK_WEBGPU_MATMUL'];
  if (v === 'tiled' || v === 'splitk') return v;
  return 'auto';
}

/** Number of K slices the split-K variant uses for this shape (1 = plain tiled). */
export function splitsFor(m: number, n: number, k: number, variant: MatmulVariant): number {
  if (variant === 'tiled') return 1;
  const tiles = Math.ceil(m / TILE) * Math.ceil(n / TILE);
  if (variant === 'auto' && (tiles >= 64 || k < 512)) return 1;
  // aim for ~64 workgroups in all, each slice at least 128 deep
  const byWork = Math.max(1, Math.floor(k / 128));
  return Math.max(variant === 'splitk' ? 2 : 1, Math.min(byWork, Math.ceil(64 / tiles), 32));
}

/** C[M,N] = alpha·A·B, or C += alpha·A·B when accumulate. B may be stored as bf16 (frozen weights). */
export function matmul(rt: GpuRuntime, c: GpuTensor, a: GpuTensor, b: GpuTensor, m: number, n: number, k: number, layout: MatmulLayout, alpha: number, accumulate: boolean, variant: MatmulVariant): void {
  const splits = Math.min(splitsFor(m, n, k, variant), Math.max(1, Math.ceil(k / TK)));
  const grid: [number, number, number] = [Math.ceil(n / TILE), Math.ceil(m / TILE), 1];
  if (splits <= 1) {
    launch(rt, tile(layout, false, b.format === 'bf16'), [c, a, b], [m, n, k, alpha, accumulate ? 1 : 0, Math.max(k, 1)], grid);
    return;
  }
  const kChunk = Math.ceil(k / splits / TK) * TK;
  const used = Math.ceil(k / kChunk);
  const partial = rt.allocate(used * m * n * 4, 'matmul.partial');
  const partialTensor = { buffer: partial, bytes: used * m * n * 4 };
  launch(rt, tile(layout, true, b.format === 'bf16'), [partialTensor, a, b], [m, n, k, alpha, 0, kChunk], [grid[0], grid[1], used]);
  launch(rt, SPLITK_REDUCE, [c, partialTensor], [m * n, used, alpha, accumulate ? 1 : 0], gridFor(m * n));
  rt.release(partial); // queued commands keep their order, so the next user of this buffer runs after us
}
