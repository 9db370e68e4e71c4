/** EventLoopTurns: a turn lets queued work run and counts the time it took. */
import { describe, expect, it } from 'vitest';
import { EventLoopTurns } from '../../src/engine/turns.js';

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* hold the thread */ }
};

describe('EventLoopTurns', () => {
  it('runs work queued before the turn and counts its time as away', async () => {
    const turns = new EventLoopTurns();
    let ran = false;
    setImmediate(() => {
      busy(30);
      ran = true;
    });
    expect(ran).toBe(false);
    await turns.turn();
    expect(ran).toBe(true);
    expect(turns.awayMs).toBeGreaterThanOrEqual(30);
  });

  it('adds up over turns', async () => {
    const turns = new EventLoopTurns();
    for (let i = 0; i < 3; i++) {
      setImmediate(() => busy(10));
      await turns.turn();
    }
    expect(turns.awayMs).toBeGreaterThanOrEqual(30);
  });
});
