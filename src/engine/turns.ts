/**
 * Turns of the event loop handed out during long engine work. The CPU backend computes
 * synchronously, so without them a training run holds the event loop for its whole length: no
 * timer, socket, `/metrics` scrape or signal is served until it ends. Training yields once per
 * optimizer step and evaluation once per example; the time spent away (other work that ran) is
 * counted here so that engine timings leave it out.
 */
export class EventLoopTurns {
  /** Milliseconds spent away from the engine in turns so far. */
  awayMs = 0;

  /** Let pending I/O, timers and signals run, then come back. */
  async turn(): Promise<void> {
    const started = performance.now();
    await new Promise<void>((resume) => setImmediate(resume));
    this.awayMs += performance.now() - started;
  }
}
