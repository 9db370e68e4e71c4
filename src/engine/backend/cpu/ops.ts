/**
 * The kernels that the worker pool splits across threads, by op code. The main thread and every
 * worker run the same `runOp` over the same shared buffers, each on its own work range.
 *
 * Argument block (Float64Array): [op, u0, u1, id0…id7, offset0…offset7, s0…s15] — tensor ids name
 * shared buffers, offsets the element each tensor starts at in its buffer (slices), s* are sizes
 * and scalars, in the order each case below reads them.
 */
import * as K from './kernels.js';
import { threadKernels } from './wasm-matmul.js';
import { attentionBackwardWasm, attentionForwardWasm } from './attention-wasm.js';

/**
 * The linear layers, attention and cross-entropy run on the WebAssembly SIMD kernels
 * (wasm-matmul.ts) unless they are unavailable or FLOCK_CPU_KERNELS=js asks for the plain-JS
 * reference kernels. The choice is per process, never per thread or row range, so every output
 * element always comes from the same code.
 */
const wasm = threadKernels;

/** Which kernels the linear layers use in this process. */
export function linearKernelVariant(): 'wasm-simd' | 'js' {
  return wasm ? 'wasm-simd' : 'js';
}

export const OP_LINEAR_FORWARD = 1;
export const OP_LINEAR_BACKWARD_INPUT = 2;
export const OP_LINEAR_BACKWARD_WEIGHT = 3;
export const OP_ATTENTION_FORWARD = 4;
export const OP_ATTENTION_BACKWARD = 5;
export const OP_CROSS_ENTROPY_FORWARD = 6;
export const OP_CROSS_ENTROPY_BACKWARD = 7;

export const ARG_IDS = 3;
export const ARG_OFFSETS = 11;
export const ARG_SCALARS = 19;
export const ARG_LENGTH = 35;

/** Look-up of a tensor's shared buffer by id. */
export type BufferTable = Map<number, SharedArrayBuffer>;

/** Run op `args[0]` on work units [args[1], args[2]). */
export function runOp(args: Float64Array, buffers: BufferTable): void {
  const f = (slot: number) => new Float32Array(buffers.get(args[ARG_IDS + slot]!)!, args[ARG_OFFSETS + slot]! * 4);
  const i = (slot: number) => new Int32Array(buffers.get(args[ARG_IDS + slot]!)!, args[ARG_OFFSETS + slot]! * 4);
  const s = (slot: number) => args[ARG_SCALARS + slot]!;
  const u0 = args[1]!, u1 = args[2]!;
  switch (args[0]) {
    case OP_LINEAR_FORWARD:
      if (wasm) return wasm.linearForward(f(0), f(1), f(2), s(1), s(2), s(3) !== 0, s(4), u0, u1);
      return K.linearForward(f(0), f(1), f(2), s(0), s(1), s(2), s(3) !== 0, s(4), u0, u1);
    case OP_LINEAR_BACKWARD_INPUT:
      if (wasm) return wasm.linearBackwardInput(f(0), f(1), f(2), s(1), s(2), s(3), u0, u1);
      return K.linearBackwardInput(f(0), f(1), f(2), s(0), s(1), s(2), s(3), u0, u1);
    case OP_LINEAR_BACKWARD_WEIGHT:
      return K.linearBackwardWeight(f(0), f(1), f(2), s(0), s(1), s(2), s(3), u0, u1);
    case OP_ATTENTION_FORWARD:
      if (wasm) return attentionForwardWasm(wasm, f(0), f(1), f(2), f(3), f(4), s(0), s(1), s(2), s(3), s(4), u0, u1);
      return K.attentionForward(f(0), f(1), f(2), f(3), f(4), s(0), s(1), s(2), s(3), s(4), u0, u1);
    case OP_ATTENTION_BACKWARD:
      if (wasm) return attentionBackwardWasm(wasm, f(0), f(1), f(2), f(3), f(4), f(5), f(6), f(7), s(0), s(1), s(2), s(3), s(4), u0, u1);
      return K.attentionBackward(f(0), f(1), f(2), f(3), f(4), f(5), f(6), f(7), s(0), s(1), s(2), s(3), s(4), u0, u1);
    case OP_CROSS_ENTROPY_FORWARD:
      if (wasm) return wasm.crossEntropyForward(f(0), f(1), i(2), s(0), s(1), u0, u1);
      return K.crossEntropyForward(f(0), f(1), i(2), s(0), s(1), u0, u1);
    case OP_CROSS_ENTROPY_BACKWARD:
      if (wasm) return wasm.crossEntropyBackward(f(0), f(1), f(2), i(3), s(0), s(1), u0, u1);
      return K.crossEntropyBackward(f(0), f(1), f(2), i(3), s(0), s(1), u0, u1);
    default:
      throw new Error(`unknown cpu op ${args[0]}`);
  }
}
