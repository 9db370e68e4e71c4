/**
 * Matrix multiply C[M,N] (=|+=) alpha · A·B with either operand stored transposed, in two variants:
 * - 'tiled': a 64×64 output tile per workgroup of 16×16 threads (4×4 outputs each), K in steps
 *   of 16 through workgroup memory. Good when there are many output tiles.
 * - 'splitk': the same tile kernel over S slices of K, writing S partial products that a second
 *   kernel sums in slice order (deterministic, no atomics). Pays for LoRA's thin shapes
 *   (x·Aᵀ is [T,R], dB is [O,R], …: few output tiles, a long K).
 * `auto` picks split-K when the output has fewer tiles than the GPU has room for and K is long;
 * FLOCK_WEBGPU_MATMUL=tiled|splitk forces a variant (tests run every one). The tile kernel is a
 * general strided, batched GEMM (`gemm`): attention runs its products through it too.
 */
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';
import { gridFor, gridStride, launch, program, type Bound } from './launch.js';

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

/**
 * Uniforms of the tile kernel. Beyond the sizes: leading dimensions (row strides) of A, B and C,
 * and for batched products (attention) the batch index z = b·heads + h, with operand offsets
 * base + b·sB + h'·sH, where h' = h / group for B (grouped-query attention) and h otherwise.
 * `causal` skips work known to be zero in attention: 1 = only k < m0+64 (A lower-triangular),
 * 2 = only k ≥ m0 (A upper-triangular, transposed), 3 = skip tiles wholly above the diagonal.
 */
const GEMM_UNIFORMS = [
  'm', 'n', 'k', 'alpha', 'accumulate', 'kChunk', 'lda', 'ldb', 'ldc', 'heads', 'group',
  'aBase', 'aSb', 'aSh', 'bBase', 'bSb', 'bSh', 'cBase', 'cSb', 'cSh', 'causal',
].map((name) => ({ name, type: name === 'alpha' ? 'f32' as const : 'u32' as const }));

function tileProgram(layout: MatmulLayout, split: boolean, bf16: boolean) {
  const loadA = layout.a === 'mk'
    ? 'let mm = e / 16u; let kk = e % 16u; let gm = m0 + mm; let gk = k0 + kk; var v = 0.0; if (gm < u.m && gk < kEnd) { v = a[aOff + gm * u.lda + gk]; } As[kk][mm] = v;'
    : 'let kk = e / 64u; let mm = e % 64u; let gm = m0 + mm; let gk = k0 + kk; var v = 0.0; if (gm < u.m && gk < kEnd) { v = a[aOff + gk * u.lda + gm]; } As[kk][mm] = v;';
  const loadB = layout.b === 'kn'
    ? 'let kk = e / 64u; let nn = e % 64u; let gn = n0 + nn; let gk = k0 + kk; var v = 0.0; if (gn < u.n && gk < kEnd) { v = bAt(bOff + gk * u.ldb + gn); } Bs[kk][nn] = v;'
    : 'let nn = e / 16u; let kk = e % 16u; let gn = n0 + nn; let gk = k0 + kk; var v = 0.0; if (gn < u.n && gk < kEnd) { v = bAt(bOff + gn * u.ldb + gk); } Bs[kk][nn] = v;';
  // split-K: z is the K slice and partial products go to slice z of a [S, M, N] scratch;
  // otherwise z is the batch index
  const store = split
    ? 'c[wid.z * u.m * u.n + gm * u.n + gn] = acc[i][j];'
    : 'let idx = cOff + gm * u.ldc + gn; var r = u.alpha * acc[i][j]; if (u.accumulate != 0u) { r = c[idx] + r; } c[idx] = r;';
  const offsets = split
    ? `let aOff = u.aBase;
  let bOff = u.bBase;
  var kBegin = wid.z * u.kChunk;`
    : `let bh = wid.z / u.heads;
  let hh = wid.z % u.heads;
  let aOff = u.aBase + bh * u.aSb + hh * u.aSh;
  let bOff = u.bBase + bh * u.bSb + (hh / u.group) * u.bSh;
  let cOff = u.cBase + bh * u.cSb + hh * u.cSh;
  var kBegin = 0u;`;
  const name = split ? 'matmul_splitk' : 'matmul_tiled';
  return program({
    name,
    key: `${name}_${layout.a}_${layout.b}${bf16 ? '_bf16' : ''}`,
    workgroupSize: [16, 16, 1],
    bindings: [{ name: 'c', type: 'f32', access: 'read_write' }, { name: 'a', type: 'f32', access: 'read' }, { name: 'b', type: bf16 ? 'u32' : 'f32', access: 'read' }],
    uniforms: GEMM_UNIFORMS,
    prelude: `var<workgroup> As: array<array<f32, ${TILE}>, ${TK}>;\nvar<workgroup> Bs: array<array<f32, ${TILE}>, ${TK}>;\n${bf16 ? BF16_B : 'fn bAt(i: u32) -> f32 { return b[i]; }'}`,
    body: `
  let m0 = wid.y * ${TILE}u;
  let n0 = wid.x * ${TILE}u;
  if (u.causal == 3u && n0 > m0 + ${TILE - 1}u) { return; }
  ${offsets}
  var kEnd = min(u.k, kBegin + u.kChunk);
  if (u.causal == 1u) { kEnd = min(kEnd, m0 + ${TILE}u); }
  if (u.causal == 2u) { kBegin = max(kBegin, m0); }
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

/** Strides and batching of a general product (see GEMM_UNIFORMS); defaults: dense, one batch. */
export interface GemmShape {
  m: number;
  n: number;
  k: number;
  lda?: number;
  ldb?: number;
  ldc?: number;
  batch?: { count: number; heads: number; group: number; a: [number, number]; b: [number, number]; c: [number, number] };
  base?: { a: number; b: number; c: number };
  causal?: 0 | 1 | 2 | 3;
}

/** C (=|+=) alpha · op(A) · op(B) over any strides, batched over z = b·heads + h (always 'tiled'). */
export function gemm(rt: GpuRuntime, c: Bound, a: Bound, b: Bound, s: GemmShape, layout: MatmulLayout, alpha: number, accumulate: boolean): void {
  const bt = s.batch ?? { count: 1, heads: 1, group: 1, a: [0, 0], b: [0, 0], c: [0, 0] };
  const base = s.base ?? { a: 0, b: 0, c: 0 };
  const lda = s.lda ?? (layout.a === 'mk' ? s.k : s.m);
  const ldb = s.ldb ?? (layout.b === 'kn' ? s.n : s.k);
  const ldc = s.ldc ?? s.n;
  launch(rt, tile(layout, false, b.format === 'bf16'), [c, a, b], [
    s.m, s.n, s.k, alpha, accumulate ? 1 : 0, Math.max(s.k, 1), lda, ldb, ldc, bt.heads, bt.group,
    base.a, bt.a[0], bt.a[1], base.b, bt.b[0], bt.b[1], base.c, bt.c[0], bt.c[1], s.causal ?? 0,
  ], [Math.ceil(s.n / TILE), Math.ceil(s.m / TILE), bt.count]);
}

/** C[M,N] = alpha·A·B, or C += alpha·A·B when accumulate; dense operands. B may be stored as bf16 (frozen weights). */
export function matmul(rt: GpuRuntime, c: GpuTensor, a: GpuTensor, b: GpuTensor, m: number, n: number, k: number, layout: MatmulLayout, alpha: number, accumulate: boolean, variant: MatmulVariant): void {
  const splits = Math.min(splitsFor(m, n, k, variant), Math.max(1, Math.ceil(k / TK)));
  if (splits <= 1) {
    gemm(rt, c, a, b, { m, n, k }, layout, alpha, accumulate);
    return;
  }
  const kChunk = Math.ceil(k / splits / TK) * TK;
  const used = Math.ceil(k / kChunk);
  const partial = { buffer: rt.allocate(used * m * n * 4, 'matmul.partial'), bytes: used * m * n * 4 };
  const lda = layout.a === 'mk' ? k : m;
  const ldb = layout.b === 'kn' ? n : k;
  launch(rt, tile(layout, true, b.format === 'bf16'), [partial, a, b], [
    m, n, k, alpha, 0, kChunk, lda, ldb, n, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  ], [Math.ceil(n / TILE), Math.ceil(m / TILE), used]);
  launch(rt, SPLITK_REDUCE, [c, partial], [m * n, used, alpha, accumulate ? 1 : 0], gridFor(m * n));
  rt.release(partial.buffer); // queued commands keep their order, so the next user of this buffer runs after us
}
