/** EventLoopTurns: a turn lets queued work run and counts the time it took. */
import { describe, expect, it } from 'vitest';
import { EventLoopTurns, MIN_INTERVAL_MS } from '../../src/engine/turns.js';

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* hold the thread */ }
};

describe('EventLoopTurns', () => {
  it('runs work queued before the turn and counts its time as away', async () => {
    const turns = new EventLoopTurns();
    busy(MIN_INTERVAL_MS); // engine work since the last turn
    let ran = false;
    setImmediate(() => {
      busy(30);
      ran = true;
    });
    expect(ran).toBe(false);
    await turns.turn();
    expect(ran).toBe(true);
    expect(turns.awayMs + turns.gcMs).toBeGreaterThanOrEqual(30);
  });

  it('adds up over turns', async () => {
    const turns = new EventLoopTurns();
    for (let i = 0; i < 3; i++) {
      busy(MIN_INTERVAL_MS);
      setImmediate(() => busy(10));
      await turns.turn();
    }
    expect(turns.awayMs + turns.gcMs).toBeGreaterThanOrEqual(30);
  });

  it('takes no turn before MIN_INTERVAL_MS of engine work has passed since the last', async () => {
    const turns = new EventLoopTurns();
    busy(MIN_INTERVAL_MS);
    await turns.turn();
    let ran = false;
    setImmediate(() => { ran = true; });
    await turns.turn(); // right after the last one: no turn
    expect(ran).toBe(false);
    busy(MIN_INTERVAL_MS);
    await turns.turn();
    expect(ran).toBe(true);
  });

  it('counts garbage collection that runs in a turn as gcMs, not as time away', async () => {
    const turns = new EventLoopTurns();
    busy(MIN_INTERVAL_MS);
    let kept = 0;
    setImmediate(() => {
      // ~100 MB of short-lived objects that escape into an array: the young generation is
      // collected many times over
      let live: Array<{ i: number; s: string }> = [];
      for (let i = 0; i < 1_000_000; i++) {
        live.push({ i, s: `row ${i}` });
        if (live.length === 1000) {
          kept += live.length;
          live = [];
        }
      }
    });
    await turns.turn();
    expect(kept).toBe(1_000_000);
    expect(turns.gcMs).toBeGreaterThan(0);
  });
});
