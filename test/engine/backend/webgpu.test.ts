/**
 * The WebGPU backend against the CPU backend (the reference): every op's outputs and gradients on
 * the same inputs, within 1e-4 of the reference's largest magnitude (f32), for every matmul
 * variant; masks, sums of squares and reruns bit-identical. CI has no GPU: it runs these on Mesa's
 * lavapipe (scripts/test.sh installs it); with no adapter at all the suite fails, never skips.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../../../src/engine/backend/backend.js';
import { CpuBackend } from '../../../src/engine/backend/cpu/cpu-backend.js';
import { ropeTables } from '../../../src/engine/backend/rope.js';
import { Stream } from '../../../src/engine/prng.js';
import { createWebGpuBackend, WebGpuBackend } from '../../../src/engine/backend/webgpu/backend.js';
import { MATMUL_VARIANTS } from '../../../src/engine/backend/webgpu/kernels/matmul.js';
import { ATTENTION_VARIANTS } from '../../../src/engine/backend/webgpu/kernels/attention.js';
import { errorMessage } from '../../../src/util/errors.js';

const TOL = 1e-4;

/** Deterministic test data: the same seed gives the same arrays on every backend. */
class Data {
  private readonly s: Stream;
  constructor(seed: number) {
    this.s = new Stream(seed);
  }
  f32(n: number, scale = 1): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = (this.s.next() * 2 - 1) * scale;
    return a;
  }
  ints(n: number, below: number): Int32Array {
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.s.nextInt(below);
    return a;
  }
}

/** One op case: builds inputs from `d` on `be`, runs ops, returns the tensors to compare. */
type OpCase = (be: Backend, d: Data) => Tensor[];

function t(be: Backend, d: Data, shape: number[], scale = 1): Tensor {
  return be.fromArray(d.f32(shape.reduce((a, b) => a * b, 1), scale), shape);
}

const CASES: Record<string, OpCase> = {
  'add, axpy, scale (with aliasing)': (be, d) => {
    const a = t(be, d, [300]), b = t(be, d, [300]), out = be.zeros([300]);
    be.add(out, a, b);
    const c = t(be, d, [300]);
    be.add(c, c, a); // out aliases a
    const e = t(be, d, [300]);
    be.add(e, a, e); // out aliases b
    be.axpy(a, -0.75, b);
    const s = be.zeros([300]);
    be.scale(s, b, 3.5);
    be.scale(b, b, -2); // in place
    return [out, c, e, a, s, b];
  },
  'linearForward (overwrite, accumulate, scaled)': (be, d) => {
    const x = t(be, d, [37, 70]), w = t(be, d, [45, 70]);
    const out = be.zeros([37, 45]);
    be.linearForward(out, x, w);
    const acc = t(be, d, [37, 45]);
    be.linearForward(acc, x, w, true, 0.5);
    return [out, acc];
  },
  'linearForward on LoRA shapes (x·Aᵀ, h·Bᵀ)': (be, d) => {
    const x = t(be, d, [130, 600]), a = t(be, d, [4, 600]), b = t(be, d, [600, 4]);
    const h = be.zeros([130, 4]);
    be.linearForward(h, x, a);
    const y = t(be, d, [130, 600]);
    be.linearForward(y, h, b, true, 2);
    return [h, y];
  },
  'linearBackwardInput and linearBackwardWeight': (be, d) => {
    const x = t(be, d, [70, 33]), w = t(be, d, [90, 33]), dout = t(be, d, [70, 90]);
    const dx = t(be, d, [70, 33]), dw = t(be, d, [90, 33]);
    be.linearBackwardInput(dx, dout, w, 0.5);
    be.linearBackwardWeight(dw, dout, x, 2);
    return [dx, dw];
  },
  'linear backward on LoRA shapes (dA, dB, dh)': (be, d) => {
    const x = t(be, d, [200, 520]), h = t(be, d, [200, 4]), dy = t(be, d, [200, 520]), b = t(be, d, [520, 4]);
    const dB = be.zeros([520, 4]), dA = be.zeros([4, 520]), dh = be.zeros([200, 4]);
    be.linearBackwardWeight(dB, dy, h, 2);
    be.linearBackwardInput(dh, dy, b, 2);
    be.linearBackwardWeight(dA, dh, x);
    return [dB, dh, dA];
  },
  'embedding forward and scatter-add backward (repeated ids)': (be, d) => {
    const table = t(be, d, [50, 24]);
    const ids = be.fromArray(Int32Array.from([3, 7, 3, 49, 0, 7, 7, 12]), [8]);
    const out = be.zeros([8, 24]);
    be.embeddingForward(out, ids, table);
    const dtable = t(be, d, [50, 24]);
    be.embeddingBackward(dtable, t(be, d, [8, 24]), ids);
    return [out, dtable];
  },
  'rmsnorm forward and backward (with and without dw)': (be, d) => {
    const x = t(be, d, [9, 300], 3), w = t(be, d, [300]);
    const out = be.zeros([9, 300]), rstd = be.zeros([9]);
    be.rmsnormForward(out, rstd, x, w, 1e-5);
    const dout = t(be, d, [9, 300]);
    const dx = t(be, d, [9, 300]), dw = t(be, d, [300]);
    be.rmsnormBackward(dx, dw, dout, x, w, rstd);
    const dx2 = be.zeros([9, 300]);
    be.rmsnormBackward(dx2, null, dout, x, w, rstd);
    return [out, rstd, dx, dw, dx2];
  },
  'rope forward (also in place) and backward, llama3 scaling': (be, d) => {
    const { cos, sin } = ropeTables({ headDim: 16, ropeTheta: 500000, ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } }, 64);
    const c = be.fromArray(cos, [64, 8]), s = be.fromArray(sin, [64, 8]);
    const pos = be.fromArray(Int32Array.from({ length: 12 }, (_, i) => (i * 5) % 64), [12]);
    const x = t(be, d, [12, 3, 16]), out = be.zeros([12, 3, 16]);
    be.ropeForward(out, x, pos, c, s);
    const y = t(be, d, [12, 3, 16]);
    be.ropeForward(y, y, pos, c, s);
    const dx = t(be, d, [12, 3, 16]);
    be.ropeBackward(dx, t(be, d, [12, 3, 16]), pos, c, s);
    return [out, y, dx];
  },
  'causal GQA attention forward and backward': (be, d) => {
    const [B, T, NH, KV, D] = [2, 70, 4, 2, 16];
    const q = t(be, d, [B, T, NH, D]), k = t(be, d, [B, T, KV, D]), v = t(be, d, [B, T, KV, D]);
    const out = be.zeros([B, T, NH, D]), probs = be.zeros([B, NH, T, T]);
    be.attentionForward(out, probs, q, k, v);
    const dq = t(be, d, [B, T, NH, D]), dk = t(be, d, [B, T, KV, D]), dv = t(be, d, [B, T, KV, D]);
    be.attentionBackward(dq, dk, dv, t(be, d, [B, T, NH, D]), probs, q, k, v);
    return [out, probs, dq, dk, dv];
  },
  'attention over several 64-row tiles, 4 query heads per key/value head': (be, d) => {
    const [B, T, NH, KV, D] = [1, 150, 8, 2, 8];
    const q = t(be, d, [B, T, NH, D], 2), k = t(be, d, [B, T, KV, D], 2), v = t(be, d, [B, T, KV, D]);
    const out = be.zeros([B, T, NH, D]), probs = be.zeros([B, NH, T, T]);
    be.attentionForward(out, probs, q, k, v);
    const dq = t(be, d, [B, T, NH, D]), dk = t(be, d, [B, T, KV, D]), dv = t(be, d, [B, T, KV, D]);
    be.attentionBackward(dq, dk, dv, t(be, d, [B, T, NH, D]), probs, q, k, v);
    return [out, probs, dq, dk, dv];
  },
  'attention with one key/value head per query head (MHA)': (be, d) => {
    const q = t(be, d, [1, 5, 2, 8]), k = t(be, d, [1, 5, 2, 8]), v = t(be, d, [1, 5, 2, 8]);
    const out = be.zeros([1, 5, 2, 8]), probs = be.zeros([1, 2, 5, 5]);
    be.attentionForward(out, probs, q, k, v);
    const dq = be.zeros([1, 5, 2, 8]), dk = be.zeros([1, 5, 2, 8]), dv = be.zeros([1, 5, 2, 8]);
    be.attentionBackward(dq, dk, dv, t(be, d, [1, 5, 2, 8]), probs, q, k, v);
    return [out, probs, dq, dk, dv];
  },
  'SwiGLU forward and backward': (be, d) => {
    const gate = t(be, d, [7, 130], 6), up = t(be, d, [7, 130]);
    const out = be.zeros([7, 130]);
    be.swigluForward(out, gate, up);
    const dgate = t(be, d, [7, 130]), dup = t(be, d, [7, 130]);
    be.swigluBackward(dgate, dup, t(be, d, [7, 130]), gate, up);
    return [out, dgate, dup];
  },
  'cross-entropy forward and backward (masked rows)': (be, d) => {
    const logits = t(be, d, [6, 300], 8);
    const targets = be.fromArray(Int32Array.from([5, -100, 299, 0, -100, 17]), [6]);
    const losses = be.zeros([6]);
    be.crossEntropyForward(losses, logits, targets);
    const dlogits = t(be, d, [6, 300]);
    be.crossEntropyBackward(dlogits, t(be, d, [6]), logits, targets);
    return [losses, dlogits];
  },
  'dropout forward (also in place) and backward': (be, d) => {
    const x = t(be, d, [1000]), out = be.zeros([1000]);
    be.dropoutForward(out, x, 0.1, 0xdeadbeef);
    const y = t(be, d, [1000]);
    be.dropoutForward(y, y, 0.3, 7);
    const dx = t(be, d, [1000]);
    be.dropoutBackward(dx, t(be, d, [1000]), 0.1, 0xdeadbeef);
    return [out, y, dx];
  },
  'AdamW, three steps': (be, d) => {
    const p = t(be, d, [500]), m = be.zeros([500]), v = be.zeros([500]);
    for (let step = 1; step <= 3; step++) {
      be.adamwUpdate(p, t(be, d, [500], 0.01), m, v, { lr: 2e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: step === 3 ? 0.01 : 0, step });
    }
    return [p, m, v];
  },
  'fill, copy, reshape, write': (be, d) => {
    const a = be.zeros([4, 5]);
    be.fill(a, 2.5);
    const b = be.zeros([20]);
    be.copy(b, a);
    const r = be.reshape(b, [5, 4]);
    be.scale(r, r, 2);
    const ids = be.zeros([3], 'i32');
    be.fill(ids, 7);
    const w = be.zeros([6]);
    be.write(w, d.f32(6));
    return [a, b, r, ids, w];
  },
};

/** max |got − want| ≤ TOL · max(1e-6, max |want|), tensor by tensor. */
function expectClose(got: Float32Array[], want: Float32Array[], name: string): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, k) => {
    const g = got[k]!;
    expect(g.length, `${name}: output ${k} length`).toBe(w.length);
    let maxRef = 1e-6, maxDiff = 0, at = -1;
    for (let i = 0; i < w.length; i++) {
      maxRef = Math.max(maxRef, Math.abs(w[i]!));
      const diff = Math.abs(g[i]! - w[i]!);
      if (!(diff <= maxDiff)) { maxDiff = diff; at = i; }
    }
    expect(maxDiff / maxRef, `${name}: output ${k}, worst element ${at}: webgpu ${g[at]} vs cpu ${w[at]}`).toBeLessThanOrEqual(TOL);
  });
}

let cpu: CpuBackend;
let g: WebGpuBackend;

beforeAll(async () => {
  cpu = new CpuBackend({ threads: 1 });
  try {
    g = await createWebGpuBackend();
  } catch (err) {
    throw new Error(`the WebGPU tests need a WebGPU adapter (CI uses Mesa's lavapipe, installed by scripts/test.sh): ${errorMessage(err)}`);
  }
});

afterAll(() => {
  cpu?.dispose();
  g?.dispose();
});

async function runCase(be: Backend, c: OpCase, seed: number): Promise<Float32Array[]> {
  const outs = c(be, new Data(seed));
  return Promise.all(outs.map((o) => be.read(o)));
}

describe('webgpu backend matches the cpu backend', () => {
  Object.entries(CASES).forEach(([name, c], i) => {
    // every matmul variant for the cases that multiply matrices, every attention variant for
    // attention, the defaults for the rest
    const variants: { label: string; set: (g: WebGpuBackend) => void }[] = name.startsWith('linear')
      ? MATMUL_VARIANTS.map((v) => ({ label: ` [matmul ${v}]`, set: (g) => { g.matmulVariant = v; } }))
      : name.includes('attention')
        ? ATTENTION_VARIANTS.map((v) => ({ label: ` [attention ${v}]`, set: (g) => { g.attentionVariant = v; } }))
        : [{ label: '', set: () => undefined }];
    for (const variant of variants) {
      it(`${name}${variant.label}`, async () => {
        const want = await runCase(cpu, c, 1000 + i);
        variant.set(g);
        const got = await runCase(g, c, 1000 + i).finally(() => { g.matmulVariant = 'auto'; g.attentionVariant = 'tiled'; });
        expectClose(got, want, name);
      });
    }
  });
});

describe('webgpu backend is exact where the contract says so', () => {
  it('draws the same dropout mask as the host PRNG', async () => {
    const ones = new Float32Array(4096).fill(1);
    const [a, b] = await Promise.all([cpu, g].map(async (be) => {
      const out = be.zeros([4096]);
      be.dropoutForward(out, be.fromArray(ones, [4096]), 0.1, 12345);
      return be.read(out);
    }));
    const zerosA = a!.map((x) => (x === 0 ? 1 : 0)), zerosB = b!.map((x) => (x === 0 ? 1 : 0));
    expect(Array.from(zerosB)).toEqual(Array.from(zerosA));
    const dropped = zerosA.reduce((s, x) => s + x, 0);
    expect(dropped).toBeGreaterThan(300);
    expect(dropped).toBeLessThan(520);
  });

  it('sums squares exactly as the cpu backend does', async () => {
    const data = new Data(5).f32(10_000);
    expect(await g.sumSquares(g.fromArray(data, [10_000]))).toBe(await cpu.sumSquares(cpu.fromArray(data, [10_000])));
  });

  it('gives bit-identical results when run twice', async () => {
    const c = CASES['causal GQA attention forward and backward']!;
    const first = await runCase(g, c, 77);
    const second = await runCase(g, c, 77);
    first.forEach((f, k) => expect(Buffer.from(second[k]!.buffer).equals(Buffer.from(f.buffer))).toBe(true));
  });

  it('reuses pooled buffers instead of allocating per step', async () => {
    const step = () => {
      const x = g.zeros([64, 64]), y = g.zeros([64, 64]);
      g.linearForward(y, x, g.reshape(x, [64, 64]));
      g.free(x); g.free(x); g.free(y);
    };
    step();
    await g.read(g.zeros([1]));
    const before = g.memory().buffersCreated;
    for (let i = 0; i < 5; i++) step();
    await g.read(g.zeros([1]));
    expect(g.memory().buffersCreated - before).toBeLessThanOrEqual(1); // the zeros([1]) above
  });

  it('reads bf16 weights exactly as their f32 widening (linear layers, embedding)', async () => {
    const d = new Data(9);
    const floats = d.f32(45 * 33);
    const bits = new Uint16Array(floats.length);
    const wide = new Float32Array(floats.length);
    const u32 = new Uint32Array(floats.buffer);
    for (let i = 0; i < floats.length; i++) { bits[i] = u32[i]! >>> 16; wide[i] = new Float32Array(new Uint32Array([bits[i]! << 16]).buffer)[0]!; }
    const x = d.f32(7 * 33), dout = d.f32(7 * 45), ids = Int32Array.from([44, 0, 3, 3, 17]);
    for (const variant of MATMUL_VARIANTS) {
      g.matmulVariant = variant;
      const results = await Promise.all([cpu, g].map(async (be) => {
        const w = be === g ? g.fromBf16(bits, [45, 33]) : be.fromArray(wide, [45, 33]);
        const out = be.zeros([7, 45]), dx = be.zeros([7, 33]), emb = be.zeros([5, 33]);
        be.linearForward(out, be.fromArray(x, [7, 33]), w);
        be.linearBackwardInput(dx, be.fromArray(dout, [7, 45]), w);
        be.embeddingForward(emb, be.fromArray(ids, [5]), w);
        return Promise.all([out, dx, emb, w].map((t) => be.read(t)));
      }));
      expectClose(results[1]!, results[0]!, `bf16 weights (${variant})`);
      expect(Array.from(results[1]![2]!)).toEqual(Array.from(results[0]![2]!)); // a gather is exact
    }
    g.matmulVariant = 'auto';
    // any other use widens the storage to f32 first, views included
    const w = g.fromBf16(Uint16Array.from([0x3f80, 0x4000, 0xbf80, 0x0000]), [2, 2]); // 1, 2, −1, 0
    const view = g.reshape(w, [4]);
    g.add(view, view, g.fromArray(Float32Array.from([1, 1, 1, 1]), [4]));
    expect(Array.from(await g.read(w))).toEqual([2, 3, 0, 1]);
  });

  it('keeps big bf16-exact arrays from fromArray as bf16 and widens them when an op writes them', async () => {
    const d = new Data(12);
    const exact = new Float32Array(d.f32(300 * 256).map((x) => new Float32Array(new Uint32Array([new Uint32Array(new Float32Array([x]).buffer)[0]! & 0xffff0000]).buffer)[0]!));
    const before = g.memory().inUse;
    const gw = g.fromArray(exact, [300, 256]);
    expect(g.memory().inUse - before).toBe(Math.ceil((300 * 256 * 2) / 256) * 256); // half of f32
    const inexact = g.fromArray(d.f32(300 * 256), [300, 256]);
    expect(g.memory().inUse - before).toBe(Math.ceil((300 * 256 * 2) / 256) * 256 + 300 * 256 * 4);
    const x = d.f32(5 * 256), grad = d.f32(300 * 256, 0.01);
    const results = await Promise.all([cpu, g].map(async (be) => {
      const w = be === g ? gw : be.fromArray(exact, [300, 256]);
      const out = be.zeros([5, 300]);
      be.linearForward(out, be.fromArray(x, [5, 256]), w);
      const m = be.zeros([300, 256]), v = be.zeros([300, 256]);
      be.adamwUpdate(w, be.fromArray(grad, [300, 256]), m, v, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 });
      return Promise.all([out, w].map((t) => be.read(t)));
    }));
    expectClose(results[1]!, results[0]!, 'compact weight, then trained');
    g.free(gw);
    g.free(inexact);
  });

  it('refuses tensors of another backend and mismatched shapes with a message', () => {
    expect(() => g.add(g.zeros([3]), g.zeros([3]), cpu.zeros([3]))).toThrow(/another backend/);
    expect(() => g.linearForward(g.zeros([2, 3]), g.zeros([2, 4]), g.zeros([5, 4]))).toThrow(/linearForward/);
  });
});
