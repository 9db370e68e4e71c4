/**
 * The tensor-core (subgroup-matrix) matmul path and its fallbacks. Lavapipe has no cooperative
 * matrices, so the real kernel cannot run here: these tests check the choice of configuration,
 * the generated kernel's structure, and — through the backend's test hook, a kernel injected in
 * the real one's place — that the self-check refuses a wrong kernel or one the device rejects
 * (a warning, the fallback, a backend that still works) and accepts a right one, which then
 * computes the products and names itself in the compute identity.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createWebGpuBackend, type WebGpuBackend } from '../../../src/engine/backend/webgpu/backend.js';
import type { GpuAdapterDescription } from '../../../src/engine/backend/webgpu/device.js';
import { togglesFor } from '../../../src/engine/backend/webgpu/device.js';
import { chooseSubgroupMatrixConfig, subgroupMatmulProgram } from '../../../src/engine/backend/webgpu/kernels/matmul-subgroup.js';
import { gemm } from '../../../src/engine/backend/webgpu/kernels/matmul.js';
import { launch, program } from '../../../src/engine/backend/webgpu/kernels/launch.js';
import type { MatmulKernel } from '../../../src/engine/backend/webgpu/kernels/matmul-check.js';
import { makeShader } from '../../../src/engine/backend/webgpu/program.js';
import { computeIdentity } from '../../../src/engine/run.js';
import { Stream } from '../../../src/engine/prng.js';
import { createLogger, type Logger } from '../../../src/util/log.js';
import type { GpuRuntime } from '../../../src/engine/backend/webgpu/runtime.js';

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: createLogger({ level: 'info', stream: { write: (l: string) => lines.push(l) } }) };
}

const ADAPTER: GpuAdapterDescription = {
  vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200', software: false, shaderF16: true,
  maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 2 ** 31, subgroups: true, subgroupMinSize: 32, subgroupMaxSize: 32,
  subgroupMatrixConfigs: [
    { componentType: 'f16', resultComponentType: 'f16', M: 16, N: 16, K: 16 },
    { componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 },
    { componentType: 'u8', resultComponentType: 'u32', M: 16, N: 16, K: 32 },
  ],
  maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024,
};

describe('subgroup-matrix configuration', () => {
  it('takes an f16 → f32 configuration at f16 precision, and explains why there is none otherwise', () => {
    const f16 = chooseSubgroupMatrixConfig(ADAPTER, 'f16');
    expect(f16).toEqual({ plan: { componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16, workgroupSize: 128 } });
    expect(chooseSubgroupMatrixConfig(ADAPTER, 'f32')).toMatchObject({ reason: expect.stringMatching(/multiplies f32 into f32/) });
    const apple = { ...ADAPTER, subgroupMatrixConfigs: [{ componentType: 'f32', resultComponentType: 'f32', M: 8, N: 8, K: 8 }, { componentType: 'f16', resultComponentType: 'f32', M: 8, N: 8, K: 8 }] };
    expect(chooseSubgroupMatrixConfig(apple, 'f32')).toMatchObject({ plan: { componentType: 'f32', M: 8, N: 8, K: 8 } });
    expect(chooseSubgroupMatrixConfig({ ...ADAPTER, subgroupMatrixConfigs: [] }, 'f16')).toMatchObject({ reason: expect.stringMatching(/no subgroup-matrix configurations/) });
    expect(chooseSubgroupMatrixConfig({ ...ADAPTER, maxComputeWorkgroupStorageSize: 16384 }, 'f16')).toMatchObject({ reason: expect.stringMatching(/workgroup memory/) });
    expect(chooseSubgroupMatrixConfig({ ...ADAPTER, subgroupMaxSize: 512 }, 'f16')).toMatchObject({ reason: expect.stringMatching(/exceeds/) });
  });

  it('asks Dawn for its unsafe APIs and NVIDIA f16 toggle only when they are wanted', () => {
    expect(togglesFor('nvidia', {})).toEqual([]);
    expect(togglesFor('nvidia', { f16: true })).toEqual(['vulkan_enable_f16_on_nvidia']);
    expect(togglesFor('amd', { f16: true })).toEqual([]);
    expect(togglesFor('nvidia', { subgroupMatrix: true })).toEqual(['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia']);
    expect(togglesFor('apple', { subgroupMatrix: true })).toEqual(['allow_unsafe_apis']);
  });

  it('generates a kernel with 2×2 16×16 accumulators per subgroup, left M×K, right K×N, in the declared types', () => {
    const plan = { componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16, workgroupSize: 128 };
    const wgsl = makeShader(subgroupMatmulProgram(plan, { a: 'mk', b: 'nk' }, 'f16'));
    expect(wgsl).toMatch(/^enable f16;\nenable subgroups;\nenable chromium_experimental_subgroup_matrix;/);
    expect(wgsl).toContain('@workgroup_size(128, 1, 1)');
    expect(wgsl).toContain('@builtin(subgroup_id) sid: u32');
    expect(wgsl.match(/subgroupMatrixMultiplyAccumulate\(/g)).toHaveLength(4);
    expect(wgsl.match(/subgroupMatrixStore\(/g)).toHaveLength(4);
    expect(wgsl).toContain('subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>(&As, (qm + 16u) * 32u + kk, false, 32u)');
    expect(wgsl).toContain('subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(&Bs, kk * 64u + qn + 16u, false, 64u)');
    expect(wgsl).toContain('var acc1_1 = subgroup_matrix_result<f32, 16, 16>();');
    expect(wgsl).toContain('unpack2x16float'); // f16-stored weights read directly
    const apple = makeShader(subgroupMatmulProgram({ ...plan, componentType: 'f32', M: 8, N: 8, K: 8 }, { a: 'km', b: 'kn' }, 'f32'));
    expect(apple.match(/subgroupMatrixMultiplyAccumulate\(/g)).toHaveLength(16);
    expect(apple).not.toContain('enable f16;');
  });
});

describe('subgroup-matrix self-check on the device (lavapipe)', () => {
  let backend: WebGpuBackend | undefined;
  afterEach(() => {
    backend?.dispose();
    backend = undefined;
  });

  /** A product through the f16 tile kernel, optionally made wrong. */
  const viaTiles = (wrong?: 'scale' | 'edge') => (rt: GpuRuntime): MatmulKernel => (c, a, b, s, layout, alpha, accumulate, scales) => {
    const m = wrong === 'edge' && s.m > 64 ? s.m - 1 : s.m; // forgets the last row of large products
    gemm(rt, c, a, b, { ...s, m, lda: layout.a === 'mk' ? s.k : s.m }, layout, wrong === 'scale' ? alpha * 1.01 : alpha, accumulate, rt.precision, scales);
  };

  async function linearOnce(be: WebGpuBackend, n: number, o: number, i: number): Promise<Float32Array> {
    const s = new Stream(3);
    const x = be.fromArray(Float32Array.from({ length: n * i }, () => s.next() - 0.5), [n, i]);
    const w = be.fromArray(Float32Array.from({ length: o * i }, () => s.next() - 0.5), [o, i]);
    const out = be.zeros([n, o]);
    be.linearForward(out, x, w);
    const r = await be.read(out);
    for (const t of [x, w, out]) be.free(t);
    return r;
  }

  it('without cooperative matrices (lavapipe): a warning, and the ordinary kernels', async () => {
    const { log, lines } = capture();
    backend = await createWebGpuBackend(log, { matmul: 'subgroup-matrix', precision: 'f16' });
    expect(backend.matmulVariant).toBe('auto');
    expect(lines.join('')).toMatch(/subgroup-matrix \(tensor-core\) matmul is not used on .*no chromium-experimental-subgroup-matrix feature.*matmul stays auto/);
    expect(computeIdentity(backend).key).toMatch(/matmul=auto precision=f16/);
    expect((await linearOnce(backend, 70, 90, 40)).every(Number.isFinite)).toBe(true);
  });

  it('a kernel that disagrees with the f32 tile kernel is refused, with the case it got wrong', async () => {
    for (const wrong of ['scale', 'edge'] as const) {
      const { log, lines } = capture();
      backend = await createWebGpuBackend(log, { matmul: 'subgroup-matrix', precision: 'f16', subgroupMatrixKernel: viaTiles(wrong) });
      expect(backend.matmulVariant).toBe('auto');
      expect(backend.runtime.subgroupMatmul).toBeNull();
      expect(lines.join('')).toMatch(/not used on .*: it disagrees with the f32 tile kernel: \d+×\d+×\d+ .*element \[\d+,\d+\]/);
      backend.dispose();
    }
    backend = undefined;
  });

  it('a kernel the device rejects (here: WGSL that does not compile) is refused, and the backend still works', async () => {
    const broken = program({ name: 'broken', bindings: [{ name: 'c', type: 'f32', access: 'read_write' }], uniforms: [], body: 'c[0] = undefined_thing;' });
    const { log, lines } = capture();
    backend = await createWebGpuBackend(log, {
      matmul: 'subgroup-matrix', precision: 'f16',
      subgroupMatrixKernel: (rt) => (c) => launch(rt, broken, [c], [], [1, 1, 1]),
    });
    expect(backend.matmulVariant).toBe('auto');
    expect(lines.join('')).toMatch(/its self-check failed with a device error/);
    expect((await linearOnce(backend, 70, 90, 40)).every(Number.isFinite)).toBe(true);
  });

  it('a kernel that agrees is used for the products with many output tiles, and named in the compute identity', async () => {
    const { log, lines } = capture();
    let calls = 0;
    const right = viaTiles();
    backend = await createWebGpuBackend(log, { matmul: 'subgroup-matrix', precision: 'f16', subgroupMatrixKernel: (rt) => (...args) => { calls++; right(rt)(...args); } });
    expect(backend.matmulVariant).toBe('subgroup-matrix');
    expect(lines.join('')).toMatch(/subgroup-matrix matmul \(injected kernel\) agrees with the f32 tile kernel on 21 products/);
    expect(computeIdentity(backend).key).toMatch(/matmul=subgroup-matrix precision=f16/);
    const before = calls;
    const got = await linearOnce(backend, 300, 300, 64); // 25 output tiles of 64×64: tensor cores
    expect(calls).toBe(before + 1);
    await linearOnce(backend, 600, 4, 700); // thin and long (LoRA's shapes): split-K as 'auto'
    expect(calls).toBe(before + 1);
    backend.matmulVariant = 'auto';
    expect(Array.from(await linearOnce(backend, 300, 300, 64))).toEqual(Array.from(got));
  });
});
