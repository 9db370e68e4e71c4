/**
 * Tensor-core GEMM through Dawn's experimental subgroup matrices
 * (`chromium-experimental-subgroup-matrix`: Vulkan's VK_KHR_cooperative_matrix on NVIDIA and AMD,
 * simdgroup matrices on Apple). C[M,N] (=|+=) alpha · op(A)·op(B), dense, A f32, B f32/bf16/f16.
 *
 * A workgroup owns a 64×64 output tile and runs 4 × the adapter's largest subgroup size threads.
 * Every thread stages A and B in steps of 32 along K into workgroup memory, converted to the
 * configuration's component type (f16: rounded and clamped as the tile kernels do, times the
 * operand scales); then subgroup q < 4 multiplies its 32×32 quadrant as (32/M)×(32/N) result
 * matrices with subgroupMatrixMultiplyAccumulate (f32 accumulation). At the end each subgroup
 * stores its results to workgroup memory and every thread writes its share of the tile to C with
 * bounds, alpha and accumulation — so any shape and layout works.
 *
 * Lavapipe has no cooperative matrices, so this kernel cannot run in CI: the backend uses it only
 * after it agreed with the f32 tile kernel on awkward shapes on the device itself (matmul-check.ts).
 */
import type { GpuRuntime } from '../runtime.js';
import type { StorageFormat } from '../tensor.js';
import type { GpuAdapterDescription, SubgroupMatrixConfig } from '../device.js';
import type { Precision } from '../precision.js';
import { launch, program } from './launch.js';
import type { MatmulKernel } from './matmul-check.js';
import type { MatmulLayout } from './matmul.js';
import { readB, TO_HALF } from './operands.js';

const TILE = 64;
/** K per staging step. */
const TKS = 32;
/** Each of 4 subgroups owns a QUAD × QUAD quadrant of the tile. */
const QUAD = 32;

/** The WGSL enables and device features the kernel needs. */
export const SUBGROUP_MATRIX_FEATURES = ['subgroups', 'chromium-experimental-subgroup-matrix'] as const;

/** A configuration and the workgroup it runs with on this adapter. */
export interface SubgroupMatrixPlan extends SubgroupMatrixConfig {
  /** Threads per workgroup: 4 × the adapter's largest subgroup size. */
  workgroupSize: number;
}

/** Workgroup memory the kernel needs with this component type. */
function workgroupBytes(component: 'f16' | 'f32'): number {
  const e = component === 'f16' ? 2 : 4;
  return 2 * TILE * TKS * e + TILE * TILE * 4;
}

/**
 * The configuration to use at this precision, or null with the reason: components of the
 * precision's type (f16 inputs need f16 precision; f32 inputs serve f32), f32 results, M and N
 * dividing the 32×32 quadrant and K the staging step; the most work per instruction wins.
 */
export function chooseSubgroupMatrixConfig(adapter: GpuAdapterDescription, precision: Precision): { plan: SubgroupMatrixPlan } | { reason: string } {
  if (!adapter.subgroupMatrixConfigs.length) return { reason: 'the adapter lists no subgroup-matrix configurations' };
  const fits = adapter.subgroupMatrixConfigs.filter((c) =>
    c.componentType === precision && c.resultComponentType === 'f32' && QUAD % c.M === 0 && QUAD % c.N === 0 && TKS % c.K === 0);
  if (!fits.length) {
    const listed = adapter.subgroupMatrixConfigs.map(configName).join(', ');
    return { reason: `none of its configurations (${listed}) multiplies ${precision} into f32 in a shape that tiles 32×32×32` };
  }
  const best = fits.reduce((x, y) => (y.M * y.N * y.K > x.M * x.N * x.K ? y : x));
  const workgroupSize = 4 * adapter.subgroupMaxSize;
  if (!adapter.subgroupMaxSize || workgroupSize > adapter.maxComputeInvocationsPerWorkgroup) {
    return { reason: `a workgroup of 4 subgroups (${workgroupSize} threads) exceeds the adapter's ${adapter.maxComputeInvocationsPerWorkgroup}` };
  }
  const bytes = workgroupBytes(precision);
  if (bytes > adapter.maxComputeWorkgroupStorageSize) {
    return { reason: `the kernel needs ${bytes} bytes of workgroup memory, the adapter has ${adapter.maxComputeWorkgroupStorageSize}` };
  }
  return { plan: { ...best, workgroupSize } };
}

/** `f16 16×16×16 → f32`. */
export function configName(c: SubgroupMatrixConfig): string {
  return `${c.componentType} ${c.M}×${c.N}×${c.K} → ${c.resultComponentType}`;
}

const UNIFORMS = ['m', 'n', 'k', 'alpha', 'accumulate', 'lda', 'ldb', 'ldc', 'aScale', 'bScale']
  .map((name) => ({ name, type: ['alpha', 'aScale', 'bScale'].includes(name) ? 'f32' as const : 'u32' as const }));

/** The kernel's WGSL program for a plan, layout and B storage format (exported for tests that print it). */
export function subgroupMatmulProgram(plan: SubgroupMatrixPlan, layout: MatmulLayout, bFormat: StorageFormat) {
  const T = plan.componentType as 'f16' | 'f32';
  const conv = (x: string, scale: string) => (T === 'f16' ? `toHalf(${x} * ${scale})` : x);
  const loadA = layout.a === 'mk'
    ? `let mm = e / ${TKS}u; let kk = e % ${TKS}u; let gm = m0 + mm; let gk = k0 + kk; var v = 0.0; if (gm < u.m && gk < u.k) { v = a[gm * u.lda + gk]; }`
    : `let kk = e / ${TILE}u; let mm = e % ${TILE}u; let gm = m0 + mm; let gk = k0 + kk; var v = 0.0; if (gm < u.m && gk < u.k) { v = a[gk * u.lda + gm]; }`;
  const loadB = layout.b === 'kn'
    ? `let kk = e / ${TILE}u; let nn = e % ${TILE}u; let gn = n0 + nn; let gk = k0 + kk; var v = 0.0; if (gn < u.n && gk < u.k) { v = bAt(gk * u.ldb + gn); }`
    : `let nn = e / ${TKS}u; let kk = e % ${TKS}u; let gn = n0 + nn; let gk = k0 + kk; var v = 0.0; if (gn < u.n && gk < u.k) { v = bAt(gn * u.ldb + gk); }`;
  const rows = QUAD / plan.M, cols = QUAD / plan.N;
  const ij: [number, number][] = [];
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) ij.push([i, j]);
  const left = `subgroup_matrix_left<${T}, ${plan.K}, ${plan.M}>`;
  const right = `subgroup_matrix_right<${T}, ${plan.N}, ${plan.K}>`;
  const result = `subgroup_matrix_result<f32, ${plan.N}, ${plan.M}>`;
  const wg = plan.workgroupSize;
  const name = 'matmul_subgroup';
  return program({
    name,
    key: `${name}_${T}_${plan.M}x${plan.N}x${plan.K}_${wg}_${layout.a}_${layout.b}_${bFormat}`,
    workgroupSize: [wg, 1, 1],
    bindings: [{ name: 'c', type: 'f32', access: 'read_write' }, { name: 'a', type: 'f32', access: 'read' }, { name: 'b', type: bFormat === 'f32' ? 'f32' : 'u32', access: 'read' }],
    uniforms: UNIFORMS,
    enables: [...(T === 'f16' ? ['f16'] : []), 'subgroups', 'chromium_experimental_subgroup_matrix'],
    // the matrix operations run under `sid < 4`, which is uniform within each subgroup
    diagnostics: ['off, subgroup_matrix_uniformity'],
    entryParams: ['@builtin(subgroup_id) sid: u32'],
    prelude: [
      `var<workgroup> As: array<${T}, ${TILE * TKS}>; // As[m · ${TKS} + k]`,
      `var<workgroup> Bs: array<${T}, ${TKS * TILE}>; // Bs[k · ${TILE} + n]`,
      `var<workgroup> Cs: array<f32, ${TILE * TILE}>;`,
      readB(bFormat),
      ...(T === 'f16' ? [TO_HALF] : []),
    ].join('\n'),
    body: `
  let m0 = wid.y * ${TILE}u;
  let n0 = wid.x * ${TILE}u;
  let qm = (sid / 2u) * ${QUAD}u;
  let qn = (sid % 2u) * ${QUAD}u;
  ${ij.map(([i, j]) => `var acc${i}_${j} = ${result}();`).join('\n  ')}
  for (var k0 = 0u; k0 < u.k; k0 += ${TKS}u) {
    for (var e = lindex; e < ${TILE * TKS}u; e += ${wg}u) { ${loadA} As[mm * ${TKS}u + kk] = ${conv('v', 'u.aScale')}; }
    for (var e = lindex; e < ${TKS * TILE}u; e += ${wg}u) { ${loadB} Bs[kk * ${TILE}u + nn] = ${conv('v', 'u.bScale')}; }
    workgroupBarrier();
    if (sid < 4u) {
      for (var kk = 0u; kk < ${TKS}u; kk += ${plan.K}u) {
        ${Array.from({ length: rows }, (_, i) => `let l${i} = subgroupMatrixLoad<${left}>(&As, (qm + ${i * plan.M}u) * ${TKS}u + kk, false, ${TKS}u);`).join('\n        ')}
        ${Array.from({ length: cols }, (_, j) => `let r${j} = subgroupMatrixLoad<${right}>(&Bs, kk * ${TILE}u + qn + ${j * plan.N}u, false, ${TILE}u);`).join('\n        ')}
        ${ij.map(([i, j]) => `acc${i}_${j} = subgroupMatrixMultiplyAccumulate(l${i}, r${j}, acc${i}_${j});`).join('\n        ')}
      }
    }
    workgroupBarrier();
  }
  if (sid < 4u) {
    ${ij.map(([i, j]) => `subgroupMatrixStore(&Cs, (qm + ${i * plan.M}u) * ${TILE}u + qn + ${j * plan.N}u, acc${i}_${j}, false, ${TILE}u);`).join('\n    ')}
  }
  workgroupBarrier();
  for (var e = lindex; e < ${TILE * TILE}u; e += ${wg}u) {
    let gm = m0 + e / ${TILE}u;
    let gn = n0 + e % ${TILE}u;
    if (gm < u.m && gn < u.n) {
      let idx = gm * u.ldc + gn;
      var r = u.alpha * Cs[e];
      if (u.accumulate != 0u) { r = c[idx] + r; }
      c[idx] = r;
    }
  }`,
  });
}

const PROGRAMS = new Map<string, ReturnType<typeof subgroupMatmulProgram>>();

/**
 * The kernel for `plan` on this runtime: C (=|+=) alpha · op(A)·op(B) on the subgroup-matrix
 * units, `alpha` already divided by the operand scales; dense operands.
 */
export function subgroupMatmulKernel(rt: GpuRuntime, plan: SubgroupMatrixPlan): MatmulKernel {
  return (c, a, b, s, layout, alpha, accumulate, scales) => {
    const bFormat = b.format ?? 'f32';
    const key = `${plan.componentType}_${plan.M}_${plan.N}_${plan.K}_${plan.workgroupSize}_${layout.a}_${layout.b}_${bFormat}`;
    let p = PROGRAMS.get(key);
    if (!p) PROGRAMS.set(key, (p = subgroupMatmulProgram(plan, layout, bFormat)));
    const lda = layout.a === 'mk' ? s.k : s.m;
    const ldb = layout.b === 'kn' ? s.n : s.k;
    launch(rt, p, [c, a, b], [s.m, s.n, s.k, alpha, accumulate ? 1 : 0, lda, ldb, s.n, scales.a, scales.b],
      [Math.ceil(s.n / TILE), Math.ceil(s.m / TILE), 1]);
  };
}
