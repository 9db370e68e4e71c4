/**
 * A task that runs beside the evaluation loop (intake of new datasets), and says when it has
 * queued work, so the loop can train the first datasets while later ones are still downloading.
 */
export class BackgroundTask {
  private state: 'running' | 'done' | 'failed' = 'running';
  private failure: unknown = null;
  private waiters: Array<() => void> = [];
  /** Settles when the task has ended (never rejects: the error is kept for `throwIfFailed`). */
  readonly settled: Promise<void>;

  /** Start `run` now; it calls `progress()` each time it has queued work. */
  constructor(run: (progress: () => void) => Promise<void>) {
    this.settled = run(() => this.wake()).then(
      () => {
        this.state = 'done';
      },
      (err: unknown) => {
        this.state = 'failed';
        this.failure = err;
      },
    ).finally(() => this.wake());
  }

  /** True once the task has ended, well or not. */
  get ended(): boolean {
    return this.state !== 'running';
  }

  /** Rethrow the task's error, if it failed. */
  throwIfFailed(): void {
    if (this.state === 'failed') throw this.failure;
  }

  /** Resolves at the task's next progress or at its end (at once if it has ended). */
  nextProgress(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
