/**
 * Rotary position embedding in Hugging Face's rotate-half layout; one thread per (row, head, j)
 * pair, cos/sin looked up in host-built tables (llama3 scaling is the host's business).
 */
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';
import { gridFor, gridStride, launch, program, sameElements } from './launch.js';

const U = [{ name: 'pairs', type: 'u32' as const }, { name: 'heads', type: 'u32' as const }, { name: 'half', type: 'u32' as const }];
const TABLES = [
  { name: 'pos', type: 'i32' as const, access: 'read' as const },
  { name: 'cosT', type: 'f32' as const, access: 'read' as const },
  { name: 'sinT', type: 'f32' as const, access: 'read' as const },
];
// n = row, base = first element of this head, t = table entry
const INDEX = `
    let perRow = u.heads * u.half;
    let n = i / perRow;
    let r = i - n * perRow;
    let h = r / u.half;
    let j = r - h * u.half;
    let base = (n * u.heads + h) * 2u * u.half;
    let t = u32(pos[n]) * u.half + j;
    let c = cosT[t];
    let s = sinT[t];`;

function forwardProgram(inPlace: boolean) {
  const src = inPlace ? 'out' : 'x';
  return program({
    name: inPlace ? 'rope_forward_inplace' : 'rope_forward',
    bindings: [{ name: 'out', type: 'f32', access: 'read_write' }, ...(inPlace ? [] : [{ name: 'x', type: 'f32' as const, access: 'read' as const }]), ...TABLES],
    uniforms: U,
    body: `${gridStride('u.pairs')} {${INDEX}
    let x0 = ${src}[base + j];
    let x1 = ${src}[base + j + u.half];
    out[base + j] = x0 * c - x1 * s;
    out[base + j + u.half] = x1 * c + x0 * s;
  }`,
  });
}
const FWD = forwardProgram(false);
const FWD_INPLACE = forwardProgram(true);
const BWD = program({
  name: 'rope_backward',
  bindings: [{ name: 'dx', type: 'f32', access: 'read_write' }, { name: 'dout', type: 'f32', access: 'read' }, ...TABLES],
  uniforms: U,
  body: `${gridStride('u.pairs')} {${INDEX}
    let d0 = dout[base + j];
    let d1 = dout[base + j + u.half];
    dx[base + j] = dx[base + j] + (d0 * c + d1 * s);
    dx[base + j + u.half] = dx[base + j + u.half] + (d1 * c - d0 * s);
  }`,
});

function sizes(x: GpuTensor, pos: GpuTensor, cos: GpuTensor): [number, number, number] {
  const half = cos.shape[cos.shape.length - 1]!;
  const heads = x.size / (pos.size * 2 * half);
  return [pos.size * heads * half, heads, half];
}

/** out = R(pos) · x per head; out may alias x. */
export function ropeForward(rt: GpuRuntime, out: GpuTensor, x: GpuTensor, pos: GpuTensor, cos: GpuTensor, sin: GpuTensor): void {
  const u = sizes(x, pos, cos);
  if (sameElements(out, x)) launch(rt, FWD_INPLACE, [out, pos, cos, sin], u, gridFor(u[0]));
  else launch(rt, FWD, [out, x, pos, cos, sin], u, gridFor(u[0]));
}

/** dx += R(pos)ᵀ · dout. */
export function ropeBackward(rt: GpuRuntime, dx: GpuTensor, dout: GpuTensor, pos: GpuTensor, cos: GpuTensor, sin: GpuTensor): void {
  const u = sizes(dx, pos, cos);
  launch(rt, BWD, [dx, dout, pos, cos, sin], u, gridFor(u[0]));
}
