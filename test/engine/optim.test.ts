import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { AdamW, clipGradNorm, learningRateAt } from '../../src/engine/optim.js';

const be = new CpuBackend({ threads: 1 });
afterAll(() => be.dispose());

describe('optim', () => {
  it('warm-up then linear decay to zero, as transformers schedules it', () => {
    expect(learningRateAt(0, 10, 1, 4)).toBe(0);
    expect(learningRateAt(2, 10, 1, 4)).toBe(0.5);
    expect(learningRateAt(4, 10, 1, 4)).toBe(1);
    expect(learningRateAt(7, 10, 1, 4)).toBe(0.5);
    expect(learningRateAt(10, 10, 1, 4)).toBe(0);
    // fewer steps than warm-up: still rising, never above base
    expect(learningRateAt(3, 5, 1, 100)).toBeCloseTo(0.03);
  });

  it('clips the global gradient norm to maxNorm and reports the norm before', async () => {
    const g = be.fromArray(Float32Array.from([3, 0, 0, 4]), [4]);
    expect(await clipGradNorm(be, g, 1)).toBeCloseTo(5);
    expect(Math.sqrt(await be.sumSquares(g))).toBeCloseTo(1, 5);
    // under the limit: untouched
    expect(await clipGradNorm(be, g, 10)).toBeCloseTo(1, 5);
    expect(be.view(g)[0]).toBeCloseTo(0.6, 5);
    // values already read are used as they are (the trainer reads them with the losses)
    expect(await clipGradNorm(be, g, 0, Float32Array.from([6, 8]))).toBe(10);
    expect(be.view(g)[0]).toBeCloseTo(0.6, 5);
  });

  it('AdamW minimises a quadratic', async () => {
    const p = be.fromArray(Float32Array.from([2, -3]), [2]), g = be.zeros([2]);
    const opt = new AdamW(be, { param: p, grad: g }, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
    for (let i = 0; i < 300; i++) {
      be.scale(g, p, 2); // ∇ of |p|²
      opt.step(0.05);
    }
    expect(Math.abs(be.view(p)[0]!)).toBeLessThan(0.05);
    expect(opt.stepCount).toBe(300);
  });

  it('applies the learning rate it is given, even when its options carry a base lr (recipe.optimizer)', async () => {
    // recipe.optimizer holds lr too; a step at the scheduled lr 0 (the first warm-up step) must not move anything
    const p = be.fromArray(Float32Array.from([1, -2]), [2]), g = be.fromArray(Float32Array.from([0.5, 0.25]), [2]);
    const options = { type: 'adamw' as const, lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
    const opt = new AdamW(be, { param: p, grad: g }, options);
    opt.step(0);
    expect(Array.from(be.view(p))).toEqual([1, -2]);
    // at lr 1e-3, the first bias-corrected Adam step moves each value by lr·(sign + wd·p)
    opt.step(1e-3);
    const after = be.view(p);
    expect(after[0]).toBeCloseTo(1 - 1e-3 * (1 + 0.01 * 1), 6);
    expect(after[1]).toBeCloseTo(-2 - 1e-3 * (1 - 0.01 * 2), 6);
  });
});
