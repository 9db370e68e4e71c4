/**
 * `--backend cpu|webgpu|auto`: auto takes a hardware adapter and never a software one (lavapipe
 * here and in CI), webgpu takes whatever adapter there is, a bad value is a usage error;
 * `--precision` reaches the WebGPU backend and is refused politely by the CPU.
 */
import { describe, expect, it } from 'vitest';
import { createBackend, parseBackendKind, parsePrecision } from '../../../src/engine/backend/select.js';
import { probeAdapter } from '../../../src/engine/backend/webgpu/device.js';
import { WebGpuBackend } from '../../../src/engine/backend/webgpu/backend.js';
import { createLogger } from '../../../src/util/log.js';
import { UsageError } from '../../../src/util/errors.js';

function capture() {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', stream: { write: (l: string) => lines.push(l) } });
  return { log, lines };
}

describe('createBackend', () => {
  it('auto picks a hardware adapter, else the cpu, and says which', async () => {
    const adapter = await probeAdapter();
    expect(adapter, 'no WebGPU adapter at all: CI installs lavapipe through scripts/test.sh').not.toBeNull();
    const { log, lines } = capture();
    const backend = await createBackend('auto', log, { threads: 1 });
    try {
      expect(backend.name).toBe(adapter!.software ? 'cpu' : 'webgpu');
      expect(lines.join('')).toMatch(adapter!.software ? /backend: cpu.*software/ : /backend: webgpu on/);
    } finally {
      backend.dispose();
    }
  });

  it('webgpu runs on whatever adapter there is (lavapipe in CI) and names it', async () => {
    const { log, lines } = capture();
    const backend = await createBackend('webgpu', log);
    try {
      expect(backend).toBeInstanceOf(WebGpuBackend);
      const gpu = backend as WebGpuBackend;
      expect(lines.join('')).toContain(gpu.adapter.description || gpu.adapter.device);
      const t = backend.fromArray(new Float32Array([1, 2, 3]), [3]);
      backend.scale(t, t, 2);
      expect(Array.from(await backend.read(t))).toEqual([2, 4, 6]);
    } finally {
      backend.dispose();
    }
  });

  it('cpu is the cpu backend', async () => {
    const backend = await createBackend('cpu', capture().log, { threads: 1 });
    expect(backend.name).toBe('cpu');
    backend.dispose();
  });

  it('--precision f16 reaches the webgpu backend (lavapipe has shader-f16); the cpu says it computes in f32', async () => {
    const { log } = capture();
    const gpu = await createBackend('webgpu', log, { precision: 'f16' });
    try {
      expect((gpu as WebGpuBackend).precision).toBe('f16');
      expect(gpu.identity().kernels['precision']).toBe('f16');
    } finally {
      gpu.dispose();
    }
    const { log: cpuLog, lines } = capture();
    const cpu = await createBackend('cpu', cpuLog, { threads: 1, precision: 'f16' });
    expect(cpu.name).toBe('cpu');
    expect(lines.join('')).toMatch(/--precision f16 is for --backend webgpu; the cpu computes in f32/);
    cpu.dispose();
    expect(parsePrecision('f16')).toBe('f16');
    expect(() => parsePrecision('bf16')).toThrow('Invalid --precision "bf16". Expected one of: f32, f16.');
  });

  it('rejects an unknown kind as a usage error naming the choices', () => {
    expect(() => parseBackendKind('gpu')).toThrow(UsageError);
    expect(() => parseBackendKind('gpu')).toThrow('Invalid --backend "gpu". Expected one of: cpu, webgpu, auto.');
    expect(parseBackendKind('auto')).toBe('auto');
  });
});
