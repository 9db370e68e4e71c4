/**
 * The WebGPU backend's tensor handle: a shape over a pooled device buffer, from byte `offset` on.
 * Views made by `reshape` and `slice` share the storage, which counts its handles (as the CPU
 * backend does): the buffer goes back to the pool when every handle has been freed.
 */
import type { DType, Tensor } from '../backend.js';
import { shapeSize } from '../backend.js';

export interface GpuStorage {
  buffer: GPUBuffer;
  /** Live handles (the tensor and its reshapes). */
  refs: number;
  freed: boolean;
  /** How the elements are stored; a bf16 or f16 storage is widened to f32 in place when an op needs it. */
  format: StorageFormat;
}

/**
 * How the elements are stored: 'f32' (and i32) one per 4 bytes; 'bf16' and 'f16' two per 32-bit
 * word, the even element in the low half. Frozen base weights are kept as the checkpoint stores
 * them (bf16; kernels widen them to f32 exactly with a shift) or, at f16 precision, as f16
 * (half.ts; kernels read them with unpack2x16float).
 */
export type StorageFormat = 'f32' | 'bf16' | 'f16';

/** A storage format of two elements per 32-bit word. */
export function isPacked(format: StorageFormat): format is 'bf16' | 'f16' {
  return format !== 'f32';
}

export class GpuTensor implements Tensor {
  readonly size: number;
  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly storage: GpuStorage,
    /** Byte offset of the first element in the buffer (a multiple of 256 for slices). */
    readonly offset = 0,
  ) {
    this.size = shapeSize(shape);
  }

  get buffer(): GPUBuffer {
    if (this.storage.freed) throw new Error('webgpu: use of a freed tensor');
    return this.storage.buffer;
  }

  get format(): StorageFormat {
    return this.storage.format;
  }

  /** Bytes of its elements. */
  get bytes(): number {
    return bytesFor(this.size, this.format);
  }
}

/** Narrows a Tensor from the interface to ours; throws for another backend's tensor. */
export function gpu(t: Tensor): GpuTensor {
  if (!(t instanceof GpuTensor)) throw new Error('webgpu: a tensor from another backend was passed to the WebGPU backend');
  return t;
}

/** Bytes that `size` elements take in a storage format. */
export function bytesFor(size: number, format: StorageFormat): number {
  return isPacked(format) ? Math.ceil(size / 2) * 4 : size * 4;
}
