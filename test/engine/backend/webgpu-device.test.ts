/**
 * WebGPU device handling: the errors a user sees with no adapter, a lost device or a tensor too
 * big for the adapter; and the one place shaders are generated (makeShader).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createWebGpuBackend } from '../../../src/engine/backend/webgpu/backend.js';
import { makeShader, printWgslRequested, type Program } from '../../../src/engine/backend/webgpu/program.js';
import { errorMessage } from '../../../src/util/errors.js';

describe('webgpu errors', () => {
  it('with no adapter, webgpu fails with a hint and auto falls back to the cpu', () => {
    const script = `
      const { createBackend } = await import('./src/engine/backend/select.ts');
      const { createLogger } = await import('./src/util/log.ts');
      const { errorMessage } = await import('./src/util/errors.ts');
      const log = createLogger({ level: 'info', stream: { write: (l) => process.stdout.write(l) } });
      const b = await createBackend('auto', log, { threads: 1 });
      console.log('auto=' + b.name);
      b.dispose();
      try { await createBackend('webgpu', log); } catch (e) { console.log(errorMessage(e)); }`;
    // no Vulkan driver manifest: Dawn finds no adapter
    const env = { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' };
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('backend: cpu, 1 threads (auto: no WebGPU adapter)');
    expect(r.stdout).toContain('auto=cpu');
    expect(r.stdout).toContain('WebGPU: no adapter found');
    expect(r.stdout).toContain('---> HINT: install a Vulkan driver');
  });

  it('a tensor beyond what the adapter can bind is refused, naming the adapter', async () => {
    const g = await createWebGpuBackend();
    try {
      const limit = g.adapter.maxStorageBufferBindingSize;
      const err = (() => { try { g.zeros([Math.ceil(limit / 4) + 64]); } catch (e) { return e; } return null; })();
      expect(errorMessage(err)).toMatch(/^WebGPU: tensor\[\d+\] needs [\d.]+ [KMG]iB, more than .* can bind in one buffer/);
      expect(errorMessage(err)).toContain(g.adapter.description || g.adapter.device);
      expect(errorMessage(err)).toContain('--backend cpu');
      const ok = g.zeros([4]); // still usable afterwards
      expect(Array.from(await g.read(ok))).toEqual([0, 0, 0, 0]);
    } finally {
      g.dispose();
    }
  });

  it('a lost device stops the next op with a message naming the adapter', async () => {
    const g = await createWebGpuBackend();
    g.runtime.device.destroy(); // what a driver reset looks like to us
    await g.runtime.device.lost;
    expect(() => g.zeros([4])).toThrow(/WebGPU: the device .* was lost/);
    g.dispose();
  });
});

describe('kernel profile', () => {
  it('times every kernel by key when asked (timestamp queries)', async () => {
    const g = await createWebGpuBackend(undefined, { profile: true });
    try {
      expect(g.runtime.device.features.has('timestamp-query'), 'lavapipe offers timestamp-query').toBe(true);
      const x = g.fromArray(new Float32Array(1000).fill(1), [1000]);
      for (let i = 0; i < 3; i++) g.scale(x, x, 2);
      const out = g.zeros([10, 10]);
      g.linearForward(out, g.zeros([10, 20]), g.zeros([10, 20]));
      expect((await g.read(x))[999]).toBe(8);
      const profile = (await g.runtime.profile())!;
      const scale = profile.find((k) => k.key === 'scale_inplace');
      expect(scale?.calls).toBe(3);
      expect(profile.some((k) => k.key.startsWith('matmul_'))).toBe(true);
      expect(profile.every((k) => k.ms >= 0)).toBe(true);
    } finally {
      g.dispose();
    }
  });

  it('is off by default', async () => {
    const g = await createWebGpuBackend(undefined, { profile: false });
    expect(await g.runtime.profile()).toBeNull();
    g.dispose();
  });
});

describe('kernel variant flags', () => {
  it('FLOCK_WEBGPU_MATMUL and FLOCK_WEBGPU_ATTENTION force a variant; the defaults are auto and tiled', async () => {
    const saved = { m: process.env['FLOCK_WEBGPU_MATMUL'], a: process.env['FLOCK_WEBGPU_ATTENTION'] };
    try {
      process.env['FLOCK_WEBGPU_MATMUL'] = 'splitk';
      process.env['FLOCK_WEBGPU_ATTENTION'] = 'rows';
      const forced = await createWebGpuBackend();
      expect([forced.matmulVariant, forced.attentionVariant]).toEqual(['splitk', 'rows']);
      // the variants and the adapter (with its driver) make the compute identity recorded in receipts
      const id = forced.identity();
      expect(id).toMatchObject({ backend: 'webgpu', kernels: { matmul: 'splitk', attention: 'rows' } });
      expect(id.device).toContain(forced.adapter.description || forced.adapter.device);
      forced.dispose();
      delete process.env['FLOCK_WEBGPU_MATMUL'];
      delete process.env['FLOCK_WEBGPU_ATTENTION'];
      const plain = await createWebGpuBackend();
      expect([plain.matmulVariant, plain.attentionVariant]).toEqual(['auto', 'tiled']);
      plain.dispose();
    } finally {
      for (const [k, v] of [['FLOCK_WEBGPU_MATMUL', saved.m], ['FLOCK_WEBGPU_ATTENTION', saved.a]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('makeShader', () => {
  const p: Program = {
    name: 'demo', key: 'demo', workgroupSize: [64, 1, 1],
    bindings: [{ name: 'out', type: 'f32', access: 'read_write' }, { name: 'ids', type: 'i32', access: 'read' }],
    uniforms: [{ name: 'n', type: 'u32' }, { name: 'alpha', type: 'f32' }],
    prelude: 'const K = 2u;',
    body: 'if (gid.x < u.n) { out[gid.x] = u.alpha * f32(ids[gid.x]); }',
  };

  it('generates bindings in order, one uniform struct, the prelude and the entry point', () => {
    const code = makeShader(p);
    expect(code).toContain('@group(0) @binding(0) var<storage, read_write> out: array<f32>;');
    expect(code).toContain('@group(0) @binding(1) var<storage, read> ids: array<i32>;');
    expect(code).toContain('struct Uniforms {\n  n: u32,\n  alpha: f32,\n};');
    expect(code).toContain('@group(0) @binding(2) var<uniform> u: Uniforms;');
    expect(code).toContain('const K = 2u;');
    expect(code).toContain('@compute @workgroup_size(64, 1, 1)');
    expect(code.indexOf('const K')).toBeLessThan(code.indexOf('@compute'));
  });

  it('compiles on the device, and FLOCK_WEBGPU_PRINT_WGSL turns printing on', async () => {
    const g = await createWebGpuBackend();
    try {
      const before = g.runtime.pipelineCount;
      g.runtime.pipeline(p);
      g.runtime.pipeline(p); // cached by key
      expect(g.runtime.pipelineCount).toBe(before + 1);
      g.runtime.check(); // no compilation error was reported
    } finally {
      g.dispose();
    }
    const saved = process.env['FLOCK_WEBGPU_PRINT_WGSL'];
    process.env['FLOCK_WEBGPU_PRINT_WGSL'] = '1';
    expect(printWgslRequested()).toBe(true);
    process.env['FLOCK_WEBGPU_PRINT_WGSL'] = '0';
    expect(printWgslRequested()).toBe(false);
    if (saved === undefined) delete process.env['FLOCK_WEBGPU_PRINT_WGSL'];
    else process.env['FLOCK_WEBGPU_PRINT_WGSL'] = saved;
  });
});
