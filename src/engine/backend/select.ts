/**
 * Picks the compute backend for `--backend cpu|webgpu|auto`.
 *
 * `auto` takes a hardware WebGPU adapter when there is one and otherwise the CPU, and logs which
 * and why: a software adapter (Mesa's lavapipe, SwiftShader) is correct but slower than our CPU
 * backend, so auto never picks it — ask for it with `--backend webgpu`.
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

export const BACKEND_KINDS = ['cpu', 'webgpu', 'auto'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

export interface CreateBackendOptions {
  /** CPU threads (default: all cores). */
  threads?: number;
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
  if (kind === 'cpu') return new CpuBackend({ threads: options.threads });
  if (kind === 'webgpu') {
    const backend = await createWebGpuBackend(log);
    if (backend.adapter.software) log.warning(`backend: webgpu on a software adapter, ${adapterName(backend.adapter)}: correct but slow`);
    return backend;
  }
  const adapter = await probeAdapter();
  if (adapter && !adapter.software) {
    log.info(`backend: webgpu on ${adapterName(adapter)} (auto)`);
    return createWebGpuBackend(log);
  }
  const cpu = new CpuBackend({ threads: options.threads });
  log.info(adapter
    ? `backend: cpu, ${cpu.threads} threads (auto: the only WebGPU adapter, ${adapterName(adapter)}, is a software one)`
    : `backend: cpu, ${cpu.threads} threads (auto: no WebGPU adapter)`);
  return cpu;
}
