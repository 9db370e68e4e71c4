/**
 * WebGPU device acquisition through Dawn for Node (the `webgpu` package).
 *
 * One `GPU` object per set of Dawn toggles (Dawn's instance); each `acquireDevice` call requests
 * an adapter and a device with the adapter's largest buffer limits (the model's weights are big)
 * and `shader-f16` when the adapter has it. The adapter's description is kept so every error can
 * name it. A software adapter (Mesa's lavapipe, SwiftShader) is reported as such: it runs every
 * kernel (that is how CI tests them) but `--backend auto` must not pick it.
 *
 * Toggles only when asked for: f16 compute on NVIDIA's Vulkan driver needs Dawn's
 * `vulkan_enable_f16_on_nvidia` (Dawn withholds `shader-f16` there otherwise), and the
 * tensor-core path needs `allow_unsafe_apis` for the experimental subgroup-matrix feature, which
 * is then requested with `subgroups`.
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
  /** The adapter offers `subgroups`. */
  subgroups: boolean;
  subgroupMinSize: number;
  subgroupMaxSize: number;
  /** Matrix shapes of `chromium-experimental-subgroup-matrix` (empty without the feature). */
  subgroupMatrixConfigs: SubgroupMatrixConfig[];
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
}

/** One subgroup-matrix shape the adapter multiplies: left M×K times right K×N into M×N results. */
export interface SubgroupMatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

/** What the caller means to use, which decides the toggles and features requested. */
export interface DeviceWants {
  /** Request `timestamp-query` (kernel profiling). */
  timestamps?: boolean;
  /** f16 compute is wanted: on NVIDIA, enable Dawn's f16 toggle. */
  f16?: boolean;
  /** The tensor-core path is wanted: allow unsafe APIs and request subgroups + subgroup matrices. */
  subgroupMatrix?: boolean;
}

export interface AcquiredDevice {
  device: GPUDevice;
  adapter: GpuAdapterDescription;
}


const instances = new Map<string, GPU>();

/**
 * Dawn's GPU object for these toggles (one per set; also installs the WebGPU globals such as
 * GPUBufferUsage).
 */
export function nodeGpu(toggles: readonly string[] = []): GPU {
  const key = [...toggles].sort().join(',');
  let gpu = instances.get(key);
  if (!gpu) {
    Object.assign(globalThis, globals);
    gpu = create(key ? [`enable-dawn-features=${key}`] : []);
    instances.set(key, gpu);
  }
  return gpu;
}

/** The Dawn toggles for what is wanted on this adapter (none unless asked for). */
export function togglesFor(vendor: string, wants: DeviceWants): string[] {
  const toggles: string[] = [];
  if (wants.subgroupMatrix) toggles.push('allow_unsafe_apis');
  if ((wants.f16 || wants.subgroupMatrix) && /nvidia/i.test(vendor)) toggles.push('vulkan_enable_f16_on_nvidia');
  return toggles;
}

/** A one-line name for an adapter, e.g. `llvmpipe (mesa, software)`. */
export function adapterName(a: GpuAdapterDescription): string {
  const name = a.description || a.device || 'unknown adapter';
  return `${name} (${a.vendor || 'unknown vendor'}${a.software ? ', software' : ''})`;
}

function describe(adapter: GPUAdapter): GpuAdapterDescription {
  const info = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number; subgroupMatrixConfigs?: readonly SubgroupMatrixConfig[] };
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
    subgroups: adapter.features.has('subgroups'),
    subgroupMinSize: info.subgroupMinSize ?? 0,
    subgroupMaxSize: info.subgroupMaxSize ?? 0,
    subgroupMatrixConfigs: adapter.features.has('chromium-experimental-subgroup-matrix')
      ? (info.subgroupMatrixConfigs ?? []).map((c) => ({ componentType: c.componentType, resultComponentType: c.resultComponentType, M: c.M, N: c.N, K: c.K }))
      : [],
    maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
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

async function requestAdapter(toggles: readonly string[]): Promise<GPUAdapter> {
  let adapter: GPUAdapter | null;
  try {
    adapter = await nodeGpu(toggles).requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    throw new FlockError(`WebGPU: requesting an adapter failed: ${(err as Error).message}`, { hint: NO_ADAPTER_HINT, cause: err });
  }
  if (!adapter) throw new FlockError('WebGPU: no adapter found (Dawn sees no Vulkan/Metal/D3D12 device)', { hint: NO_ADAPTER_HINT });
  return adapter;
}

/**
 * Requests an adapter and a device, with the toggles and features `wants` needs (see the header).
 * Throws a FlockError with a hint when there is no adapter or the device cannot be created.
 */
export async function acquireDevice(wants: DeviceWants = {}): Promise<AcquiredDevice> {
  let adapter = await requestAdapter([]);
  const toggles = togglesFor(adapter.info.vendor ?? '', wants);
  if (toggles.length) adapter = await requestAdapter(toggles);
  const desc = describe(adapter);
  const limits = adapter.limits;
  const subgroupMatrix = Boolean(wants.subgroupMatrix) && desc.subgroups && desc.subgroupMatrixConfigs.length > 0;
  try {
    const device = await adapter.requestDevice({
      label: 'flock',
      requiredFeatures: [
        ...(desc.shaderF16 ? ['shader-f16' as const] : []),
        ...(wants.timestamps && adapter.features.has('timestamp-query') ? ['timestamp-query' as const] : []),
        ...(subgroupMatrix ? ['subgroups', 'chromium-experimental-subgroup-matrix'] as GPUFeatureName[] : []),
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
