/**
 * A pool of worker threads that run one op at a time together with the main thread, over
 * SharedArrayBuffers. `run` is synchronous: it hands each worker a work range, does the first range
 * itself, then waits (Atomics.wait) for the workers, so the backend's ops stay synchronous calls.
 */
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import { workerEntry } from '../../../util/worker-entry.js';
import { ARG_IDS, ARG_LENGTH, ARG_OFFSETS, ARG_SCALARS, runOp, type BufferTable } from './ops.js';

/** A tensor as an op names it: the id of its shared buffer and the element it starts at. */
export interface PoolTensor { id: number; offset: number }

interface PoolWorker { worker: Worker; ctl: Int32Array; args: Float64Array; port: MessagePort; seq: number; dead: boolean }

/**
 * How long a worker may take to pick up a job before the main thread runs the job itself. A job
 * is claimed with a compare-and-swap on control word [4], so exactly one thread runs each slice
 * and results stay bit-identical; a worker that stopped answering can then never hang a run.
 */
const PICKUP_TIMEOUT_MS = 5_000;

export class CpuPool {
  private readonly workers: PoolWorker[] = [];
  private readonly buffers: BufferTable = new Map();
  private readonly mainArgs = new Float64Array(ARG_LENGTH);

  /** threads: total threads including the main one (1 = no workers). */
  constructor(readonly threads: number) {
    const entry = workerEntry(import.meta.url, 'worker');
    for (let w = 1; w < threads; w++) {
      const control = new SharedArrayBuffer(5 * 4);
      const args = new SharedArrayBuffer(ARG_LENGTH * 8);
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(entry.entry, { eval: entry.evalCode, workerData: { control, args, port: port2 }, transferList: [port2] });
      worker.unref();
      // A worker that fails to start is simply never used (its "up" word stays 0); errors inside a
      // job are caught in the worker and reported through its control words.
      worker.on('error', (err) => process.stderr.write(`cpu worker thread failed: ${String(err)}\n`));
      this.workers.push({ worker, ctl: new Int32Array(control), args: new Float64Array(args), port: port1, seq: 0, dead: false });
    }
  }

  /** Make a buffer visible to the workers under `id`. */
  register(id: number, buffer: SharedArrayBuffer): void {
    this.buffers.set(id, buffer);
    for (const w of this.workers) w.port.postMessage({ add: id, buffer });
  }

  unregister(id: number): void {
    this.buffers.delete(id);
    for (const w of this.workers) w.port.postMessage({ del: id });
  }

  /**
   * Run `op` over work units [0, units) split into contiguous ranges (multiples of `align`), one per
   * thread; `tensors` name the buffers, `scalars` the sizes and constants (see ops.ts).
   */
  run(op: number, tensors: PoolTensor[], scalars: number[], units: number, align = 1, parallel = true): void {
    const fill = (a: Float64Array, u0: number, u1: number) => {
      a[0] = op; a[1] = u0; a[2] = u1;
      tensors.forEach((t, j) => {
        a[ARG_IDS + j] = t.id;
        a[ARG_OFFSETS + j] = t.offset;
      });
      scalars.forEach((s, j) => (a[ARG_SCALARS + j] = s));
    };
    // workers still starting up are skipped: the split changes, never the result
    const ready = parallel ? this.workers.filter((w) => !w.dead && Atomics.load(w.ctl, 3) === 1) : [];
    const n = Math.min(ready.length + 1, Math.ceil(units / align));
    const per = Math.ceil(units / n / align) * align;
    const active: PoolWorker[] = [];
    for (let t = 1; t < n; t++) {
      const u0 = Math.min(units, t * per), u1 = Math.min(units, (t + 1) * per);
      if (u0 >= u1) continue;
      const w = ready[t - 1]!;
      fill(w.args, u0, u1);
      w.seq++;
      Atomics.store(w.ctl, 0, w.seq);
      Atomics.notify(w.ctl, 0);
      active.push(w);
    }
    fill(this.mainArgs, 0, Math.min(units, per));
    let failure: unknown;
    try {
      runOp(this.mainArgs, this.buffers);
    } catch (err) {
      failure = err;
    }
    for (const w of active) {
      if (!this.awaitWorker(w)) {
        // it never picked the job up: run its slice here
        try {
          runOp(w.args, this.buffers);
        } catch (err) {
          failure ??= err;
        }
        continue;
      }
      if (w.ctl[2] === 1 && !failure) failure = new Error(`cpu worker failed on op ${op}`);
    }
    if (failure) throw failure;
  }

  /**
   * Wait for `w`'s current job. False when the worker did not claim the job within
   * PICKUP_TIMEOUT_MS and the main thread claimed it instead (the worker is then retired).
   */
  private awaitWorker(w: PoolWorker): boolean {
    let waited = 0;
    let finished: number;
    while ((finished = Atomics.load(w.ctl, 1)) !== w.seq) {
      const claimed = Atomics.load(w.ctl, 4) === w.seq;
      if (!claimed && waited >= PICKUP_TIMEOUT_MS) {
        if (Atomics.compareExchange(w.ctl, 4, w.seq - 1, w.seq) === w.seq - 1) {
          w.dead = true;
          process.stderr.write('cpu worker thread stopped answering; continuing without it\n');
          return false;
        }
        continue; // the worker claimed it just now
      }
      // wait on the value just checked: re-reading it here would miss a job finished in between
      // and then wait forever for a word that had already reached w.seq
      Atomics.wait(w.ctl, 1, finished, claimed ? undefined : 100);
      waited += 100;
    }
    return true;
  }

  /** Resolves once every worker has started (or after `timeoutMs`, leaving the rest unused until they do). */
  async ready(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.workers.some((w) => Atomics.load(w.ctl, 3) !== 1) && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  }

  dispose(): void {
    for (const w of this.workers) {
      w.port.postMessage({ stop: true });
      w.seq++;
      Atomics.store(w.ctl, 0, w.seq);
      Atomics.notify(w.ctl, 0);
      void w.worker.terminate();
    }
    this.workers.length = 0;
  }
}
