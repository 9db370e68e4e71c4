/** BackgroundTask: progress wakes the waiter, the end wakes it too, failures are kept and rethrown. */
import { describe, expect, it } from 'vitest';
import { BackgroundTask } from '../../src/validator/background.js';

describe('BackgroundTask', () => {
  it('wakes a waiter at each progress and at the end', async () => {
    let step!: () => void;
    let finish!: () => void;
    const gate = () => new Promise<void>((r) => { step = r; });
    const task = new BackgroundTask(async (progress) => {
      await gate();
      progress();
      await new Promise<void>((r) => { finish = r; });
    });
    await Promise.resolve();
    const first = task.nextProgress();
    step();
    await first;
    expect(task.ended).toBe(false);
    const second = task.nextProgress();
    finish();
    await second;
    expect(task.ended).toBe(true);
    expect(() => task.throwIfFailed()).not.toThrow();
    await task.nextProgress(); // ended: resolves at once
  });

  it('keeps the error of a failed task for throwIfFailed, and settled does not reject', async () => {
    const task = new BackgroundTask(async () => {
      throw new Error('the hub refused');
    });
    await task.settled;
    expect(task.ended).toBe(true);
    expect(() => task.throwIfFailed()).toThrow('the hub refused');
  });
});
