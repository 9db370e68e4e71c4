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
 * - 'subgroup-matrix': tensor cores through subgroup matrices (matmul-subgroup.ts) for shapes with
 *   many output tiles, the others as 'auto'; only after the device passed its self-check
 *   (matmul-check.ts), else the backend falls back to 'auto'.
 *
 * At f16 precision (precision.ts) the tile kernels round A and B to f16 as they stage them in
 * workgroup memory (clamped to ±65504, times a power-of-two operand scale) and accumulate the
 * exact f16×f16 products in f32; B may be stored as f32, bf16 or f16.
 */
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor, StorageFormat } from '../tensor.js';
import type { Precision } from '../precision.js';
import { gridFor, gridStride, launch, program, type Bound } from './launch.js';
import { readB, TO_HALF, type OperandScales } from './operands.js';

export type { OperandScales } from './operands.js';

export type MatmulVariant = 'auto' | 'tiled' | 'splitk' | 'subgroup-matrix';
/** The variants every adapter runs (tests run each in turn). */
export const MATMUL_VARIANTS: readonly Exclude<MatmulVariant, 'auto' | 'subgroup-matrix'>[] = ['tiled', 'splitk'];

/** How A and B are stored: A as [M,K] ('mk') or [K,M] ('km'); B as [K,N] ('kn') or [N,K] ('nk'). */
export interface MatmulLayout {
  a: 'mk' | 'km';
  b: 'kn' | 'nk';
}

const TILE = 64;
const TK = 16;

const UNSCALED: OperandScales = { a: 1, b: 1 };

/**
 * Uniforms of the tile kernel. Beyond the sizes: leading dimensions (row strides) of A, B and C,
 * and for batched products (attention) the batch index z = b·heads + h, with operand offsets
 * base + b·sB + h'·sH, where h' = h / group for B (grouped-query attention) and h otherwise.
 * `causal` skips work known to be zero in attention: 1 = only k < m0+64 (A lower-triangular),
 * 2 = only k ≥ m0 (A upper-triangular, transposed), 3 = skip tiles wholly above the diagonal.
 */
const GEMM_UNIFORMS = [
  'm', 'n', 'k', 'alpha', 'accumulate', 'kChunk', 'lda', 'ldb', 'ldc', 'heads', 'group',
  'aBase', 'aSb', 'aSh', 'bBase', 'bSb', 'bSh', 'cBase', 'cSb', 'cSh', 'causal', 'aScale', 'bScale',
].map((name) => ({ name, type: name === 'alpha' || name.endsWith('Scale') ? 'f32' as const : 'u32' as const }));

function tileProgram(layout: MatmulLayout, split: boolean, bFormat: StorageFormat, precision: Precision) {
  const half = precision === 'f16';
  // f16: operands rounded as they are staged; the f16×f16 products are exact in f32
  const stageA = half ? 'As[kk][mm] = toHalf(v * u.aScale);' : 'As[kk][mm] = v;';
  const stageB = half ? 'Bs[kk][nn] = toHalf(v * u.bScale);' : 'Bs[kk][nn] = v;';
  const loadA = layout.a === 'mk'
    ? `let mm = e / 16u; let kk = e % 16u; let gm = m0 + mm; let gk = k0 + kk; var v = 0.0; if (gm < u.m && gk < kEnd) { v = a[aOff + gm * u.lda + gk]; } ${stageA}`
    : `let kk = e / 64u; let mm = e % 64u; let gm = m0 + mm; let gk = k0 + kk; var v = 0.0; if (gm < u.m && gk < kEnd) { v = a[aOff + gk * u.lda + gm]; } ${stageA}`;
  const loadB = layout.b === 'kn'
    ? `let kk = e / 64u; let nn = e % 64u; let gn = n0 + nn; let gk = k0 + kk; var v = 0.0; if (gn < u.n && gk < kEnd) { v = bAt(bOff + gk * u.ldb + gn); } ${stageB}`
    : `let nn = e / 16u; let kk = e % 16u; let gn = n0 + nn; let gk = k0 + kk; var v = 0.0; if (gn < u.n && gk < kEnd) { v = bAt(bOff + gn * u.ldb + gk); } ${stageB}`;
  const elem = half ? 'f16' : 'f32';
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
    key: `${name}_${layout.a}_${layout.b}${bFormat === 'f32' ? '' : `_${bFormat}`}${half ? '_x16' : ''}`,
    workgroupSize: [16, 16, 1],
    bindings: [{ name: 'c', type: 'f32', access: 'read_write' }, { name: 'a', type: 'f32', access: 'read' }, { name: 'b', type: bFormat === 'f32' ? 'f32' : 'u32', access: 'read' }],
    uniforms: GEMM_UNIFORMS,
    enables: half ? ['f16'] : [],
    prelude: `var<workgroup> As: array<array<${elem}, ${TILE}>, ${TK}>;\nvar<workgroup> Bs: array<array<${elem}, ${TILE}>, ${TK}>;\n${readB(bFormat)}${half ? `\n${TO_HALF}` : ''}`,
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
      for (var i = 0u; i < 4u; i++) { av[i] = f32(As[kk][lid.y + 16u * i]); bv[i] = f32(Bs[kk][lid.x + 16u * i]); }
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
function tile(layout: MatmulLayout, split: boolean, bFormat: StorageFormat, precision: Precision) {
  const key = `${split}_${layout.a}_${layout.b}_${bFormat}_${precision}`;
  let p = PROGRAMS.get(key);
  if (!p) PROGRAMS.set(key, (p = tileProgram(layout, split, bFormat, precision)));
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
  if (v === 'tiled' || v === 'splitk' || v === 'subgroup-matrix') return v;
  return 'auto';
}

/** Number of K slices the split-K variant uses for this shape (1 = plain tiled). */
export function splitsFor(m: number, n: number, k: number, variant: MatmulVariant): number {
  if (variant === 'tiled') return 1;
  if (variant === 'subgroup-matrix') variant = 'auto';
  const tiles = Math.ceil(m / TILE) * Math.ceil(n / TILE);
  if (variant === 'auto' && (tiles >= 64 || k < 512)) return 1;
  // aim for ~64 workgroups in all, each slice at least 128 deep
  const byWork = Math.max(1, Math.floor(k / 128));
  return Math.max(variant === 'splitk' ? 2 : 1, Math.min(byWork, Math.ceil(64 / tiles), 32));
}

/**
 * Bytes of the split-K partial sums `matmul` allocates for this shape (and frees at once), 0 when
 * it takes none: the memory estimator (memory.ts) counts them.
 */
export function splitKPartialBytes(m: number, n: number, k: number, variant: MatmulVariant): number {
  const splits = Math.min(splitsFor(m, n, k, variant), Math.max(1, Math.ceil(k / TK)));
  if (splits <= 1) return 0;
  const kChunk = Math.ceil(k / splits / TK) * TK;
  return Math.ceil(k / kChunk) * m * n * 4;
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

/**
 * C (=|+=) alpha · op(A) · op(B) over any strides, batched over z = b·heads + h (always 'tiled');
 * at f16 precision with operand scales (see the header).
 */
export function gemm(rt: GpuRuntime, c: Bound, a: Bound, b: Bound, s: GemmShape, layout: MatmulLayout, alpha: number, accumulate: boolean, precision: Precision = 'f32', scales: OperandScales = UNSCALED): void {
  const bt = s.batch ?? { count: 1, heads: 1, group: 1, a: [0, 0], b: [0, 0], c: [0, 0] };
  const base = s.base ?? { a: 0, b: 0, c: 0 };
  const lda = s.lda ?? (layout.a === 'mk' ? s.k : s.m);
  const ldb = s.ldb ?? (layout.b === 'kn' ? s.n : s.k);
  const ldc = s.ldc ?? s.n;
  const sc = precision === 'f16' ? scales : UNSCALED;
  launch(rt, tile(layout, false, b.format ?? 'f32', precision), [c, a, b], [
    s.m, s.n, s.k, alpha / (sc.a * sc.b), accumulate ? 1 : 0, Math.max(s.k, 1), lda, ldb, ldc, bt.heads, bt.group,
    base.a, bt.a[0], bt.a[1], base.b, bt.b[0], bt.b[1], base.c, bt.c[0], bt.c[1], s.causal ?? 0, sc.a, sc.b,
  ], [Math.ceil(s.n / TILE), Math.ceil(s.m / TILE), bt.count]);
}

/** How a dense product is computed: precision and, at f16, the operand scales. */
export interface MatmulOptions {
  precision?: Precision;
  scales?: OperandScales;
}

/**
 * C[M,N] = alpha·A·B, or C += alpha·A·B when accumulate; dense operands. B may be stored as bf16
 * or f16 (frozen weights). 'subgroup-matrix' needs `rt.subgroupMatmul` (set once the kernel
 * passed its self-check on the device).
 */
export function matmul(rt: GpuRuntime, c: GpuTensor, a: GpuTensor, b: GpuTensor, m: number, n: number, k: number, layout: MatmulLayout, alpha: number, accumulate: boolean, variant: MatmulVariant, options: MatmulOptions = {}): void {
  const precision = options.precision ?? 'f32';
  const scales = precision === 'f16' ? options.scales ?? UNSCALED : UNSCALED;
  const splits = Math.min(splitsFor(m, n, k, variant), Math.max(1, Math.ceil(k / TK)));
  if (variant === 'subgroup-matrix' && splits <= 1) {
    const kernel = rt.subgroupMatmul;
    if (!kernel) throw new Error('webgpu matmul: the subgroup-matrix variant was chosen on a device where it did not pass its self-check');
    kernel(c, a, b, { m, n, k }, layout, alpha / (scales.a * scales.b), accumulate, scales);
    return;
  }
  if (splits <= 1) {
    gemm(rt, c, a, b, { m, n, k }, layout, alpha, accumulate, precision, scales);
    return;
  }
  const kChunk = Math.ceil(k / splits / TK) * TK;
  const used = Math.ceil(k / kChunk);
  const partial = { buffer: rt.allocate(used * m * n * 4, 'matmul.partial'), bytes: used * m * n * 4 };
  const lda = layout.a === 'mk' ? k : m;
  const ldb = layout.b === 'kn' ? n : k;
  launch(rt, tile(layout, true, b.format, precision), [partial, a, b], [
    m, n, k, alpha, 0, kChunk, lda, ldb, n, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, scales.a, scales.b,
  ], [Math.ceil(n / TILE), Math.ceil(m / TILE), used]);
  launch(rt, SPLITK_REDUCE, [c, partial], [m * n, used, alpha / (scales.a * scales.b), accumulate ? 1 : 0], gridFor(m * n));
  rt.release(partial.buffer); // queued commands keep their order, so the next user of this buffer runs after us
}
