/**
 * Elementwise kernels: fill, add, axpy, scale, bias, SwiGLU, dropout, AdamW. Each is a grid-stride loop
 * over the elements (any size, at most 4096 workgroups). Where the interface lets the output alias
 * an input, an in-place variant binds the buffer once, read_write.
 */
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';
import { gridFor, gridStride, launch, program, sameElements, type Bound } from './launch.js';

const f = (name: string) => ({ name, type: 'f32' as const, access: 'read' as const });
const fw = (name: string) => ({ name, type: 'f32' as const, access: 'read_write' as const });

const FILL = program({
  name: 'fill', bindings: [fw('out')], uniforms: [{ name: 'n', type: 'u32' }, { name: 'value', type: 'u32' }],
  // the value travels as raw bits so one kernel fills f32 and i32 tensors
  body: `${gridStride('u.n')} { out[i] = bitcast<f32>(u.value); }`,
});

/** Every element of t = value (as f32 bits, or i32 bits for an i32 tensor). */
export function fill(rt: GpuRuntime, t: GpuTensor, value: number): void {
  const bits = new DataView(new ArrayBuffer(4));
  if (t.dtype === 'i32') bits.setInt32(0, value, true);
  else bits.setFloat32(0, value, true);
  launch(rt, FILL, [t], [t.size, bits.getUint32(0, true)], gridFor(t.size));
}

const WIDEN_BF16 = program({
  name: 'widen_bf16', bindings: [fw('out'), { name: 'packed', type: 'u32', access: 'read' }], uniforms: [{ name: 'n', type: 'u32' }],
  body: `${gridStride('u.n')} { let w = packed[i >> 1u]; out[i] = bitcast<f32>(select(w << 16u, w & 0xffff0000u, (i & 1u) == 1u)); }`,
});

/** out[i] = the f32 value of bf16 element i of `packed` (exact). */
export function widenBf16(rt: GpuRuntime, out: Bound, packed: Bound & { format: 'bf16' }, n: number): void {
  launch(rt, WIDEN_BF16, [out, packed], [n], gridFor(n));
}

const ADD = program({
  name: 'add', bindings: [fw('out'), f('a'), f('b')], uniforms: [{ name: 'n', type: 'u32' }],
  body: `${gridStride('u.n')} { out[i] = a[i] + b[i]; }`,
});
const ADD_INPLACE = program({
  name: 'add_inplace', bindings: [fw('out'), f('b')], uniforms: [{ name: 'n', type: 'u32' }],
  body: `${gridStride('u.n')} { out[i] = out[i] + b[i]; }`,
});
const DOUBLE_INPLACE = program({
  name: 'double_inplace', bindings: [fw('out')], uniforms: [{ name: 'n', type: 'u32' }],
  body: `${gridStride('u.n')} { out[i] = out[i] + out[i]; }`,
});

/** out = a + b; out may alias a, b or both. */
export function add(rt: GpuRuntime, out: GpuTensor, a: GpuTensor, b: GpuTensor): void {
  const n = out.size;
  const oa = sameElements(out, a), ob = sameElements(out, b);
  if (oa && ob) launch(rt, DOUBLE_INPLACE, [out], [n], gridFor(n));
  else if (oa) launch(rt, ADD_INPLACE, [out, b], [n], gridFor(n));
  else if (ob) launch(rt, ADD_INPLACE, [out, a], [n], gridFor(n)); // a + b == b + a exactly
  else launch(rt, ADD, [out, a, b], [n], gridFor(n));
}

const AXPY = program({
  name: 'axpy', bindings: [fw('y'), f('x')], uniforms: [{ name: 'n', type: 'u32' }, { name: 'alpha', type: 'f32' }],
  body: `${gridStride('u.n')} { y[i] = y[i] + u.alpha * x[i]; }`,
});

/** y += alpha · x. */
export function axpy(rt: GpuRuntime, y: GpuTensor, alpha: number, x: GpuTensor): void {
  launch(rt, AXPY, [y, x], [y.size, alpha], gridFor(y.size));
}

const SCALE = program({
  name: 'scale', bindings: [fw('out'), f('a')], uniforms: [{ name: 'n', type: 'u32' }, { name: 's', type: 'f32' }],
  body: `${gridStride('u.n')} { out[i] = u.s * a[i]; }`,
});
const SCALE_INPLACE = program({
  name: 'scale_inplace', bindings: [fw('out')], uniforms: [{ name: 'n', type: 'u32' }, { name: 's', type: 'f32' }],
  body: `${gridStride('u.n')} { out[i] = u.s * out[i]; }`,
});

/** out = s · a; out may alias a. */
export function scale(rt: GpuRuntime, out: GpuTensor, a: GpuTensor, s: number): void {
  if (sameElements(out, a)) launch(rt, SCALE_INPLACE, [out], [out.size, s], gridFor(out.size));
  else launch(rt, SCALE, [out, a], [out.size, s], gridFor(out.size));
}

const ADD_BIAS = program({
  name: 'add_bias', bindings: [fw('y'), f('bias')], uniforms: [{ name: 'n', type: 'u32' }, { name: 'cols', type: 'u32' }],
  body: `${gridStride('u.n')} { y[i] = y[i] + bias[i % u.cols]; }`,
});

/** y[n,o] += bias[o] over the rows of y [N,O], bias [O]. */
export function addBias(rt: GpuRuntime, y: GpuTensor, bias: GpuTensor): void {
  launch(rt, ADD_BIAS, [y, bias], [y.size, bias.size], gridFor(y.size));
}

const SWIGLU_FWD = program({
  name: 'swiglu_forward', bindings: [fw('out'), f('gate'), f('up')], uniforms: [{ name: 'n', type: 'u32' }],
  body: `${gridStride('u.n')} { let g = gate[i]; out[i] = g / (1.0 + exp(-g)) * up[i]; }`,
});
const SWIGLU_BWD = program({
  name: 'swiglu_backward', bindings: [fw('dgate'), fw('dup'), f('dout'), f('gate'), f('up')], uniforms: [{ name: 'n', type: 'u32' }],
  body: `${gridStride('u.n')} {
    let g = gate[i];
    let s = 1.0 / (1.0 + exp(-g));
    let d = dout[i];
    dgate[i] = dgate[i] + d * up[i] * (s * (1.0 + g * (1.0 - s)));
    dup[i] = dup[i] + d * (g * s);
  }`,
});

/** out = silu(gate) · up. */
export function swigluForward(rt: GpuRuntime, out: GpuTensor, gate: GpuTensor, up: GpuTensor): void {
  launch(rt, SWIGLU_FWD, [out, gate, up], [out.size], gridFor(out.size));
}

/** dgate += dout · up · silu'(gate), dup += dout · silu(gate). */
export function swigluBackward(rt: GpuRuntime, dgate: GpuTensor, dup: GpuTensor, dout: GpuTensor, gate: GpuTensor, up: GpuTensor): void {
  launch(rt, SWIGLU_BWD, [dgate, dup, dout, gate, up], [dgate.size], gridFor(dgate.size));
}

/** WGSL of src/engine/prng.ts: lowbias32 and randomBits, bit for bit. */
const PRNG_WGSL = `
fn lowbias32(x0: u32) -> u32 {
  var x = x0;
  x = x ^ (x >> 16u); x = x * 0x7feb352du;
  x = x ^ (x >> 15u); x = x * 0x846ca68bu;
  x = x ^ (x >> 16u);
  return x;
}
fn keep(key: u32, i: u32, threshold: u32) -> bool {
  return (lowbias32(lowbias32(i ^ key) + key) >> 8u) >= threshold;
}`;
const DROPOUT_UNIFORMS = [{ name: 'n', type: 'u32' as const }, { name: 'seed', type: 'u32' as const }, { name: 'threshold', type: 'u32' as const }, { name: 'keepP', type: 'f32' as const }];
const DROPOUT_FWD = program({
  name: 'dropout_forward', bindings: [fw('out'), f('x')], uniforms: DROPOUT_UNIFORMS, prelude: PRNG_WGSL,
  body: `${gridStride('u.n')} { out[i] = select(0.0, x[i] / u.keepP, keep(u.seed, i, u.threshold)); }`,
});
const DROPOUT_FWD_INPLACE = program({
  name: 'dropout_forward_inplace', bindings: [fw('out')], uniforms: DROPOUT_UNIFORMS, prelude: PRNG_WGSL,
  body: `${gridStride('u.n')} { out[i] = select(0.0, out[i] / u.keepP, keep(u.seed, i, u.threshold)); }`,
});
const DROPOUT_BWD = program({
  name: 'dropout_backward', bindings: [fw('dx'), f('dout')], uniforms: DROPOUT_UNIFORMS, prelude: PRNG_WGSL,
  body: `${gridStride('u.n')} { if (keep(u.seed, i, u.threshold)) { dx[i] = dx[i] + dout[i] / u.keepP; } }`,
});

/**
 * keep(i) ⇔ uniform(seed, i) ≥ p ⇔ (bits ≫ 8) ≥ ⌈p·2²⁴⌉: comparing integers makes the mask
 * identical to the host's float64 comparison for any p.
 */
function dropoutUniforms(n: number, p: number, seed: number): number[] {
  return [n, seed >>> 0, Math.ceil(p * 16777216), 1 - p];
}

/** out = keep ? x / (1−p) : 0; out may alias x. */
export function dropoutForward(rt: GpuRuntime, out: GpuTensor, x: GpuTensor, p: number, seed: number): void {
  const u = dropoutUniforms(out.size, p, seed);
  if (sameElements(out, x)) launch(rt, DROPOUT_FWD_INPLACE, [out], u, gridFor(out.size));
  else launch(rt, DROPOUT_FWD, [out, x], u, gridFor(out.size));
}

/** dx += keep ? dout / (1−p) : 0. */
export function dropoutBackward(rt: GpuRuntime, dx: GpuTensor, dout: GpuTensor, p: number, seed: number): void {
  launch(rt, DROPOUT_BWD, [dx, dout], dropoutUniforms(dx.size, p, seed), gridFor(dx.size));
}

const ADAMW = program({
  name: 'adamw', bindings: [fw('param'), f('grad'), fw('m'), fw('v')],
  uniforms: [
    { name: 'n', type: 'u32' }, { name: 'lr', type: 'f32' }, { name: 'beta1', type: 'f32' }, { name: 'beta2', type: 'f32' },
    { name: 'eps', type: 'f32' }, { name: 'wd', type: 'f32' }, { name: 'bc1', type: 'f32' }, { name: 'bc2', type: 'f32' },
  ],
  body: `${gridStride('u.n')} {
    let g = grad[i];
    let mi = u.beta1 * m[i] + (1.0 - u.beta1) * g;
    let vi = u.beta2 * v[i] + (1.0 - u.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    let p = param[i];
    param[i] = p - u.lr * ((mi / u.bc1) / (sqrt(vi / u.bc2) + u.eps) + u.wd * p);
  }`,
});

export interface AdamWHyper { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number }

/** One AdamW step (PyTorch's formula, bias-corrected moments). */
export function adamwUpdate(rt: GpuRuntime, param: GpuTensor, grad: GpuTensor, m: GpuTensor, v: GpuTensor, hp: AdamWHyper): void {
  const bc1 = 1 - Math.pow(hp.beta1, hp.step);
  const bc2 = 1 - Math.pow(hp.beta2, hp.step);
  launch(rt, ADAMW, [param, grad, m, v], [param.size, hp.lr, hp.beta1, hp.beta2, hp.eps, hp.weightDecay, bc1, bc2], gridFor(param.size));
}
