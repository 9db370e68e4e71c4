/**
 * Picks the compute backend for `--backend cpu|webgpu|auto`.
 *
 * `auto` takes a hardware WebGPU adapter when there is one and otherwise the CPU, and logs which
 * and why: a software adapter (Mesa's lavapipe, SwiftShader) is correct but slower than our CPU
 * backend, so auto never picks it — ask for it with `--backend webgpu`. `--precision f16` is the
 * WebGPU backend's (f16 matrix-product inputs, f32 accumulation); the CPU computes in f32.
 *
 * @example
 *   const backend = await createBackend('auto', log); // logs "backend: webgpu on NVIDIA …" or "backend: cpu (…)"
 */
import type { Logger } from '../../util/log.js';
import { UsageError } from '../../util/errors.js';
import type { Backend } from './backend.js';
import { CpuBackend } from './cpu/cpu-backend.js';
import { adapterName, probeAdapter } from './webgpu/device.js';
import { createWebGpuBackend } from './webgpu/backend.js';
import type { Precision } from './webgpu/precision.js';

export { PRECISIONS, parsePrecision, type Precision } from './webgpu/precision.js';

export const BACKEND_KINDS = ['cpu', 'webgpu', 'auto'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

export interface CreateBackendOptions {
  /** CPU threads (default: all cores). */
  threads?: number;
  /** WebGPU compute precision (default: FLOCK_WEBGPU_PRECISION, else f32); the CPU is always f32. */
  precision?: Precision;
}

/** Validates a `--backend` value. */
export function parseBackendKind(value: string): BackendKind {
  if ((BACKEND_KINDS as readonly string[]).includes(value)) return value as BackendKind;
  throw new UsageError(`Invalid --backend "${value}". Expected one of: ${BACKEND_KINDS.join(', ')}.`);
}

/**
 * Creates the backend of this kind. `webgpu` throws a FlockError naming the adapter problem and
 * what to try when there is no usable GPU; `auto` falls back to the CPU instead.
 */
export async function createBackend(kind: BackendKind, log: Logger, options: CreateBackendOptions = {}): Promise<Backend> {
  if (kind === 'cpu') {
    if (options.precision === 'f16') log.warning('backend: --precision f16 is for --backend webgpu; the cpu computes in f32');
    return new CpuBackend({ threads: options.threads });
  }
  const gpuOptions = options.precision ? { precision: options.precision } : {};
  if (kind === 'webgpu') {
    const backend = await createWebGpuBackend(log, gpuOptions);
    if (backend.adapter.software) log.warning(`backend: webgpu on a software adapter, ${adapterName(backend.adapter)}: correct but slow`);
    return backend;
  }
  const adapter = await probeAdapter();
  if (adapter && !adapter.software) {
    log.info(`backend: webgpu on ${adapterName(adapter)} (auto)`);
    return createWebGpuBackend(log, gpuOptions);
  }
  if (options.precision === 'f16') log.info('backend: --precision f16 applies to webgpu only; the cpu computes in f32');
  const cpu = new CpuBackend({ threads: options.threads });
  log.info(adapter
    ? `backend: cpu, ${cpu.threads} threads (auto: the only WebGPU adapter, ${adapterName(adapter)}, is a software one)`
    : `backend: cpu, ${cpu.threads} threads (auto: no WebGPU adapter)`);
  return cpu;
}
