/**
 * WebGPU device acquisition through Dawn for Node (the `webgpu` package).
 *
 * One `GPU` object per process (Dawn's instance); each `acquireDevice` call requests an adapter
 * and a device with the adapter's largest buffer limits (the model's weights are big) and
 * `shader-f16` when the adapter has it. The adapter's description is kept so every error can name
 * it. A software adapter (Mesa's lavapipe, SwiftShader) is reported as such: it runs every kernel
 * (that is how CI tests them) but `--backend auto` must not pick it.
 */
import { create, globals } from 'webgpu';
import { FlockError } from '../../../util/errors.js';

/** What we know about the adapter behind a device, for logs, receipts and error messages. */
export interface GpuAdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (lavapipe, SwiftShader, WARP): correct but slow. */
  software: boolean;
  /** The adapter offers `shader-f16` (half-precision storage and arithmetic in WGSL). */
  shaderF16: boolean;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface AcquiredDevice {
  device: GPUDevice;
  adapter: GpuAdapterDescription;
}


let gpu: GPU | undefined;

/** Dawn's GPU object (created once; also installs the WebGPU globals such as GPUBufferUsage). */
export function nodeGpu(): GPU {
  if (!gpu) {
    Object.assign(globalThis, globals);
    gpu = create([]);
  }
  return gpu;
}

/** A one-line name for an adapter, e.g. `llvmpipe (mesa, software)`. */
export function adapterName(a: GpuAdapterDescription): string {
  const name = a.description || a.device || 'unknown adapter';
  return `${name} (${a.vendor || 'unknown vendor'}${a.software ? ', software' : ''})`;
}

function describe(adapter: GPUAdapter): GpuAdapterDescription {
  const info = adapter.info;
  const architecture = info.architecture ?? '';
  const software = Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter) ||
    architecture === 'software' || /llvmpipe|lavapipe|swiftshader|warp/i.test(`${info.device} ${info.description}`);
  return {
    vendor: info.vendor ?? '',
    architecture,
    device: info.device ?? '',
    description: info.description ?? '',
    software,
    shaderF16: adapter.features.has('shader-f16'),
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  };
}

/**
 * Finds the best adapter without creating a device (for `--backend auto`), or null when there is
 * none. Never throws for a missing adapter.
 */
export async function probeAdapter(): Promise<GpuAdapterDescription | null> {
  try {
    const adapter = await nodeGpu().requestAdapter({ powerPreference: 'high-performance' });
    return adapter ? describe(adapter) : null;
  } catch {
    return null;
  }
}

export const NO_ADAPTER_HINT =
  'install a Vulkan driver for your GPU (NVIDIA/AMD/Intel; on a machine without a GPU, Mesa\'s lavapipe: ' +
  '`apt-get install -t bookworm-backports mesa-vulkan-drivers`), check `vulkaninfo --summary`, or use --backend cpu';

/**
 * Requests an adapter and a device. Throws a FlockError with a hint when there is no adapter or
 * the device cannot be created.
 */
export async function acquireDevice(options: { timestamps?: boolean } = {}): Promise<AcquiredDevice> {
  let adapter: GPUAdapter | null;
  try {
    adapter = await nodeGpu().requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    throw new FlockError(`WebGPU: requesting an adapter failed: ${(err as Error).message}`, { hint: NO_ADAPTER_HINT, cause: err });
  }
  if (!adapter) throw new FlockError('WebGPU: no adapter found (Dawn sees no Vulkan/Metal/D3D12 device)', { hint: NO_ADAPTER_HINT });
  const desc = describe(adapter);
  const limits = adapter.limits;
  try {
    const device = await adapter.requestDevice({
      label: 'flock',
      requiredFeatures: [
        ...(desc.shaderF16 ? ['shader-f16' as const] : []),
        ...(options.timestamps && adapter.features.has('timestamp-query') ? ['timestamp-query' as const] : []),
      ],
      requiredLimits: {
        maxBufferSize: limits.maxBufferSize,
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
        maxComputeWorkgroupSizeY: limits.maxComputeWorkgroupSizeY,
      },
    });
    return { device, adapter: desc };
  } catch (err) {
    throw new FlockError(`WebGPU: creating a device on ${adapterName(desc)} failed: ${(err as Error).message}`, {
      hint: 'update the GPU driver, close other programs using the GPU, or use --backend cpu',
      cause: err,
    });
  }
}
