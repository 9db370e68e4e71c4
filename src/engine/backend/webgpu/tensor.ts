/**
 * The WebGPU backend's tensor handle: a shape over a pooled device buffer. Views made by
 * `reshape` share the storage, which counts its handles (as the CPU backend does): the buffer
 * goes back to the pool when every handle has been freed.
 */
import type { DType, Tensor } from '../backend.js';
import { shapeSize } from '../backend.js';

export interface GpuStorage {
  buffer: GPUBuffer;
  /** Live handles (the tensor and its reshapes). */
  refs: number;
  freed: boolean;
}

export class GpuTensor implements Tensor {
  readonly size: number;
  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly storage: GpuStorage,
  ) {
    this.size = shapeSize(shape);
  }

  get buffer(): GPUBuffer {
    if (this.storage.freed) throw new Error('webgpu: use of a freed tensor');
    return this.storage.buffer;
  }

  /** Bytes of its elements (all dtypes are 4 bytes). */
  get bytes(): number {
    return this.size * 4;
  }
}

/** Narrows a Tensor from the interface to ours; throws for another backend's tensor. */
export function gpu(t: Tensor): GpuTensor {
  if (!(t instanceof GpuTensor)) throw new Error('webgpu: a tensor from another backend was passed to the WebGPU backend');
  return t;
}
