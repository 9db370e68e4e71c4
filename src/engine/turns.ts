/**
 * Turns of the event loop handed out during long engine work. The CPU backend computes
 * synchronously, so without them a training run holds the event loop for its whole length: no
 * timer, socket, `/metrics` scrape or signal is served until it ends. Training offers a turn after
 * each optimizer step and evaluation after each example; one is taken when at least
 * `MIN_INTERVAL_MS` of engine work has passed since the last, so turns cost little.
 *
 * The time spent away is counted so that engine timings can leave out the other work that ran —
 * except garbage collection: V8 runs the collection work it has scheduled when the event loop
 * turns, and nearly all of that garbage is the engine's, so it stays engine time (`gcMs`).
 */
import { GCProfiler } from 'node:v8';

/** Engine work between two turns, at least (ms). */
export const MIN_INTERVAL_MS = 10;

export class EventLoopTurns {
  /** Milliseconds of other work that ran in turns (garbage collection excluded). */
  awayMs = 0;
  /** Milliseconds of garbage collection that ran in turns. */
  gcMs = 0;
  private last = performance.now();

  /** Let pending I/O, timers and signals run, then come back (at most once per `MIN_INTERVAL_MS`). */
  async turn(): Promise<void> {
    if (performance.now() - this.last < MIN_INTERVAL_MS) return;
    const gc = new GCProfiler();
    gc.start();
    const started = performance.now();
    await new Promise<void>((resume) => setImmediate(resume));
    const away = performance.now() - started;
    const collected = gc.stop().statistics.reduce((ms, s) => ms + s.cost / 1000, 0);
    this.gcMs += Math.min(away, collected);
    this.awayMs += Math.max(0, away - collected);
    this.last = performance.now();
  }
}
