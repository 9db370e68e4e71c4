/**
 * Every CPU op: backward against central finite differences of L = Σ r·forward(x) (r random), and
 * a few forward values against direct formulas. Run with 1 and 2 threads: results must be identical.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../../../src/engine/backend/cpu/cpu-backend.js';
import type { Tensor } from '../../../../src/engine/backend/backend.js';
import { ropeTables } from '../../../../src/engine/backend/rope.js';
import { Stream } from '../../../../src/engine/prng.js';

const be = new CpuBackend({ threads: 2 });
const be1 = new CpuBackend({ threads: 1 });
afterAll(() => { be.dispose(); be1.dispose(); });

const rng = new Stream(12345);
function randn(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.next() * 2 - 1) * scale;
  return a;
}
function t(shape: number[], scale = 1): Tensor {
  return be.fromArray(randn(shape.reduce((a, b) => a * b, 1), scale), shape);
}

/**
 * Checks ∂L/∂input against finite differences on `samples` coordinates of `input`, where
 * L = Σ r·out after `forward()`, and `grad` holds the analytic gradient from backward with dout = r.
 */
function checkGrad(name: string, forward: () => void, out: Tensor, r: Float32Array, input: Tensor, grad: Tensor, samples = 12, eps = 1e-2, tol = 2e-2): void {
  const x = be.view(input);
  const g = be.view(grad);
  const loss = () => {
    forward();
    const o = be.view(out);
    let s = 0;
    for (let i = 0; i < o.length; i++) s += r[i]! * o[i]!;
    return s;
  };
  for (let j = 0; j < samples; j++) {
    const i = Math.floor(rng.next() * x.length);
    const orig = x[i]!;
    x[i] = orig + eps;
    const lp = loss();
    x[i] = orig - eps;
    const lm = loss();
    x[i] = orig;
    const fd = (lp - lm) / (2 * eps);
    const err = Math.abs(fd - g[i]!) / Math.max(1e-2, Math.abs(fd) + Math.abs(g[i]!));
    expect(err, `${name}[${i}]: analytic ${g[i]} vs numeric ${fd}`).toBeLessThan(tol);
  }
  forward();
}

describe('cpu backend ops', () => {
  it('linear: forward matches a plain dot product, backward matches finite differences', () => {
    const N = 7, I = 10, O = 9; // not multiples of 4: exercises the tile edges
    const x = t([N, I]), w = t([O, I]), out = be.zeros([N, O]);
    be.linearForward(out, x, w);
    const xv = be.view(x), wv = be.view(w), ov = be.view(out);
    let s = 0;
    for (let k = 0; k < I; k++) s += xv[2 * I + k]! * wv[5 * I + k]!;
    expect(ov[2 * O + 5]).toBeCloseTo(s, 5);
    const r = randn(N * O);
    const dx = be.zeros([N, I]), dw = be.zeros([O, I]);
    const dout = be.fromArray(r, [N, O]);
    be.linearBackwardInput(dx, dout, w);
    be.linearBackwardWeight(dw, dout, x);
    checkGrad('dx', () => be.linearForward(out, x, w), out, r, x, dx);
    checkGrad('dw', () => be.linearForward(out, x, w), out, r, w, dw);
  });

  it('linear: accumulate and scale', () => {
    const x = t([4, 8]), w = t([4, 8]), out = t([4, 4]);
    const before = be.view(out).slice();
    const plain = be.zeros([4, 4]);
    be.linearForward(plain, x, w);
    be.linearForward(out, x, w, true, 0.5);
    const o = be.view(out), p = be.view(plain);
    for (let i = 0; i < 16; i++) expect(o[i]).toBeCloseTo(before[i]! + 0.5 * p[i]!, 5);
  });

  it('embedding: gather and scatter-add', () => {
    const table = t([5, 3]), ids = be.fromArray(Int32Array.from([4, 1, 4]), [3]), out = be.zeros([3, 3]);
    be.embeddingForward(out, ids, table);
    expect(Array.from(be.view(out).subarray(0, 3))).toEqual(Array.from(be.view(table).subarray(12, 15)));
    const dt = be.zeros([5, 3]);
    be.embeddingBackward(dt, be.fromArray(new Float32Array(9).fill(1), [3, 3]), ids);
    expect(Array.from(be.view(dt))).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 2, 2, 2]);
  });

  it('rmsnorm backward (input and weight)', () => {
    const N = 3, H = 6;
    const x = t([N, H]), w = t([H]), out = be.zeros([N, H]), rstd = be.zeros([N]);
    const f = () => be.rmsnormForward(out, rstd, x, w, 1e-5);
    f();
    const r = randn(N * H);
    const dx = be.zeros([N, H]), dw = be.zeros([H]);
    be.rmsnormBackward(dx, dw, be.fromArray(r, [N, H]), x, w, rstd);
    checkGrad('dx', f, out, r, x, dx);
    checkGrad('dw', f, out, r, w, dw, 6);
  });

  it('rope backward, and rotation preserves the norm', () => {
    const N = 5, heads = 2, D = 8;
    const { cos, sin } = ropeTables({ headDim: D, ropeTheta: 10000, ropeScaling: null }, 16);
    const c = be.fromArray(cos, [16, D / 2]), s = be.fromArray(sin, [16, D / 2]);
    const pos = be.fromArray(Int32Array.from([0, 3, 7, 11, 15]), [N]);
    const x = t([N, heads, D]), out = be.zeros([N, heads, D]);
    const f = () => be.ropeForward(out, x, pos, c, s);
    f();
    const norm = (a: Float32Array) => a.reduce((acc, v) => acc + v * v, 0);
    expect(norm(be.view(out))).toBeCloseTo(norm(be.view(x)), 4);
    expect(Array.from(be.view(out).subarray(0, D))).toEqual(Array.from(be.view(x).subarray(0, D))); // position 0
    const r = randn(N * heads * D);
    const dx = be.zeros([N, heads, D]);
    be.ropeBackward(dx, be.fromArray(r, [N, heads, D]), pos, c, s);
    checkGrad('dx', f, out, r, x, dx);
  });

  it('causal GQA attention backward (q, k, v), and probabilities are causal', () => {
    const B = 1, T = 6, NH = 4, KV = 2, D = 4;
    const q = t([B, T, NH, D]), k = t([B, T, KV, D]), v = t([B, T, KV, D]);
    const out = be.zeros([B, T, NH, D]), probs = be.zeros([B, NH, T, T]);
    const f = () => be.attentionForward(out, probs, q, k, v);
    f();
    const p = be.view(probs);
    for (let h = 0; h < NH; h++) for (let i = 0; i < T; i++) {
      let sum = 0;
      for (let j = 0; j < T; j++) { sum += p[(h * T + i) * T + j]!; if (j > i) expect(p[(h * T + i) * T + j]).toBe(0); }
      expect(sum).toBeCloseTo(1, 6);
    }
    // first position attends only to itself: out = v of its kv head
    expect(be.view(out)[0]).toBeCloseTo(be.view(v)[0]!, 6);
    const r = randn(out.size);
    const dq = be.zeros(q.shape as number[]), dk = be.zeros(k.shape as number[]), dv = be.zeros(v.shape as number[]);
    be.attentionBackward(dq, dk, dv, be.fromArray(r, out.shape as number[]), probs, q, k, v);
    checkGrad('dq', f, out, r, q, dq);
    checkGrad('dk', f, out, r, k, dk);
    checkGrad('dv', f, out, r, v, dv);
  });

  it('swiglu backward', () => {
    const gate = t([3, 5], 3), up = t([3, 5]), out = be.zeros([3, 5]);
    const f = () => be.swigluForward(out, gate, up);
    f();
    const r = randn(15);
    const dg = be.zeros([3, 5]), du = be.zeros([3, 5]);
    be.swigluBackward(dg, du, be.fromArray(r, [3, 5]), gate, up);
    checkGrad('dgate', f, out, r, gate, dg);
    checkGrad('dup', f, out, r, up, du);
  });

  it('cross-entropy: masked targets give 0, backward matches finite differences', () => {
    const N = 4, V = 7;
    const logits = t([N, V], 3), targets = be.fromArray(Int32Array.from([2, -100, 6, 0]), [N]), losses = be.zeros([N]);
    const f = () => be.crossEntropyForward(losses, logits, targets);
    f();
    const l = be.view(losses), z = be.view(logits);
    expect(l[1]).toBe(0);
    let lse = 0;
    for (let j = 0; j < V; j++) lse += Math.exp(z[j]!);
    expect(l[0]).toBeCloseTo(Math.log(lse) - z[2]!, 5);
    const r = randn(N);
    const dz = be.zeros([N, V]);
    be.crossEntropyBackward(dz, be.fromArray(r, [N]), logits, targets);
    expect(Array.from(be.view(dz).subarray(V, 2 * V))).toEqual(new Array(V).fill(0));
    checkGrad('dlogits', f, losses, r, logits, dz, 20);
  });

  it('dropout: seeded mask, rate about p, backward matches finite differences', () => {
    const x = t([1000]), out = be.zeros([1000]);
    be.dropoutForward(out, x, 0.25, 42);
    const o = be.view(out);
    const zeros = o.filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(180);
    expect(zeros).toBeLessThan(320);
    const again = be.zeros([1000]);
    be.dropoutForward(again, x, 0.25, 42);
    expect(Array.from(be.view(again))).toEqual(Array.from(o));
    const other = be.zeros([1000]);
    be.dropoutForward(other, x, 0.25, 43);
    expect(Array.from(be.view(other))).not.toEqual(Array.from(o));
    const r = randn(1000);
    const dx = be.zeros([1000]);
    be.dropoutBackward(dx, be.fromArray(r, [1000]), 0.25, 42);
    checkGrad('dx', () => be.dropoutForward(out, x, 0.25, 42), out, r, x, dx);
  });

  it('add, axpy, scale, sumSquares', async () => {
    const a = be.fromArray(Float32Array.from([1, 2, 3]), [3]), b = be.fromArray(Float32Array.from([4, 5, 6]), [3]), o = be.zeros([3]);
    be.add(o, a, b);
    expect(Array.from(be.view(o))).toEqual([5, 7, 9]);
    be.axpy(o, -2, a);
    expect(Array.from(be.view(o))).toEqual([3, 3, 3]);
    be.scale(o, o, 0.5);
    expect(Array.from(await be.read(o))).toEqual([1.5, 1.5, 1.5]);
    expect(await be.sumSquares(b)).toBe(16 + 25 + 36);
  });

  it('addBias adds the bias to every row (any leading dims); its backward is the identity (no op)', async () => {
    const y = be.fromArray(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), [2, 2, 3]);
    be.addBias(y, be.fromArray(Float32Array.from([0.5, -1, 100]), [3]));
    expect(Array.from(await be.read(y))).toEqual([1.5, 1, 103, 4.5, 4, 106, 7.5, 7, 109, 10.5, 10, 112]);
    expect(() => be.addBias(y, be.zeros([4]))).toThrow(/last dimension 4/);
    expect(() => be.addBias(y, be.zeros([1, 3]))).toThrow(/bias must be 1-d/);
  });

  it('adamw matches a hand-computed first step', () => {
    const p = be.fromArray(Float32Array.from([1, -1]), [2]), g = be.fromArray(Float32Array.from([0.5, -2]), [2]);
    const m = be.zeros([2]), v = be.zeros([2]);
    be.adamwUpdate(p, g, m, v, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 });
    // first bias-corrected step moves each weight by lr·sign(g)
    expect(be.view(p)[0]).toBeCloseTo(0.9, 6);
    expect(be.view(p)[1]).toBeCloseTo(-0.9, 6);
  });

  it('two threads and one thread give bit-identical results', async () => {
    await be.ready();
    const N = 64, I = 96, O = 80;
    const xs = randn(N * I), ws = randn(O * I), rs = randn(N * O);
    const run = (b: CpuBackend) => {
      const x = b.fromArray(xs, [N, I]), w = b.fromArray(ws, [O, I]), out = b.zeros([N, O]), dx = b.zeros([N, I]), dw = b.zeros([O, I]);
      const r = b.fromArray(rs, [N, O]);
      b.linearForward(out, x, w);
      b.linearBackwardInput(dx, r, w);
      b.linearBackwardWeight(dw, r, x);
      return [b.view(out), b.view(dx), b.view(dw)].map((a) => Array.from(a));
    };
    expect(run(be)).toEqual(run(be1));
  });

  it('slices: named views into one buffer, read and written in place by every thread', async () => {
    await be.ready();
    const N = 40, I = 48, O = 56; // N·I·O above the parallel threshold: the worker computes half the rows
    const xs = randn(N * I), ws = randn(O * I), rs = randn(N * O);
    const flat = be.zeros([64 + O * I + 64]), grads = be.zeros([64 + O * I + 64]);
    const w = be.slice(flat, 64, [O, I]), dw = be.slice(grads, 64, [O, I]);
    be.write(w, ws);
    const x = be.fromArray(xs, [N, I]), r = be.fromArray(rs, [N, O]);
    const out = be.zeros([N, O]);
    be.linearForward(out, x, w);
    be.linearBackwardWeight(dw, r, x);
    // the same ops on tensors of their own
    const w2 = be.fromArray(ws, [O, I]), out2 = be.zeros([N, O]), dw2 = be.zeros([O, I]);
    be.linearForward(out2, x, w2);
    be.linearBackwardWeight(dw2, r, x);
    expect(Array.from(be.view(out))).toEqual(Array.from(be.view(out2)));
    const [g] = await be.readAll([grads]);
    expect(Array.from(g!.subarray(64, 64 + O * I))).toEqual(Array.from(be.view(dw2)));
    // nothing outside the view was touched
    expect(g!.subarray(0, 64).every((v) => v === 0) && g!.subarray(64 + O * I).every((v) => v === 0)).toBe(true);
    expect(Array.from((await be.read(flat)).subarray(64, 64 + O * I))).toEqual(Array.from(ws));
    expect(() => be.slice(flat, 32, [4])).toThrow(/multiple of 64/);
    expect(() => be.slice(flat, 192, [O * I])).toThrow(/outside/);
    for (const tt of [w, dw, flat, grads, x, r, out, w2, out2, dw2]) be.free(tt);
  });

  it('a worker thread that stopped answering cannot hang an op: the main thread runs its slice', async () => {
    const b = new CpuBackend({ threads: 2 });
    try {
      await b.ready();
      // stop the worker thread behind the pool's back (white-box: the pool still thinks it is up)
      const worker = (b as unknown as { pool: { workers: Array<{ worker: { terminate(): Promise<number> } }> } }).pool.workers[0]!.worker;
      await worker.terminate();
      const N = 64, I = 96, O = 80;
      const xs = randn(N * I), ws = randn(O * I);
      const linear = (be_: CpuBackend) => {
        const out = be_.zeros([N, O]);
        be_.linearForward(out, be_.fromArray(xs, [N, I]), be_.fromArray(ws, [O, I]));
        return Array.from(be_.view(out));
      };
      expect(linear(b)).toEqual(linear(be1));
      expect(linear(b)).toEqual(linear(be1)); // and again, with the dead worker retired
    } finally {
      b.dispose();
    }
  });

  it('rejects mismatched shapes with a message naming them', () => {
    expect(() => be.linearForward(be.zeros([2, 3]), be.zeros([2, 4]), be.zeros([3, 5]))).toThrow(/last dimension 5/);
  });
});
