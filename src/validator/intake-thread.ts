/**
 * Intake's reading work (download, validate, fingerprint: `readDataset`) and the loading of the
 * next dataset to train (`loadTrainingSet`) in a worker thread, so a large dataset being parsed
 * never holds up training — on a GPU the main thread feeds the device — or the event loop
 * (`/metrics`, signals, the chain connection). Up to `concurrency` downloads run at once.
 */
import { Worker } from 'node:worker_threads';
import type { HubClientOptions } from '../hub/index.js';
import { FlockError } from '../util/errors.js';
import { workerEntry } from '../util/worker-entry.js';
import type { DatasetReader, ReadOutcome, ReadRequest } from './dataset-reader.js';
import type { TrainingOutcome, TrainingRequest } from './training-set.js';

/** What the worker is started with. */
export interface IntakeWorkerData {
  hub: Omit<HubClientOptions, 'log'>;
  concurrency: number;
}

/** Messages between the threads. */
export type IntakeRequestMessage = { id: number; request: ReadRequest } | { id: number; training: TrainingRequest };
export type IntakeReplyMessage = { id: number; outcome: ReadOutcome | TrainingOutcome } | { id: number; error: string };

/** A read failed in the worker for a reason that is neither the submission's nor the hub's. */
export class IntakeThreadError extends FlockError {
  override name = 'IntakeThreadError';
}

interface Pending { resolve: (o: ReadOutcome | TrainingOutcome) => void; reject: (e: Error) => void }

export class IntakeThread implements DatasetReader {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /** `hub`: the options of the client to download with (`HubClient.portableOptions()`). */
  constructor(private readonly hub: Omit<HubClientOptions, 'log'>, private readonly concurrency = 8) {}

  read(request: ReadRequest): Promise<ReadOutcome> {
    return this.ask((id) => ({ id, request })) as Promise<ReadOutcome>;
  }

  loadTraining(training: TrainingRequest): Promise<TrainingOutcome> {
    return this.ask((id) => ({ id, training })) as Promise<TrainingOutcome>;
  }

  private ask(message: (id: number) => IntakeRequestMessage): Promise<ReadOutcome | TrainingOutcome> {
    const worker = this.started();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref(); // work in flight keeps the process alive; an idle worker does not
      worker.postMessage(message(id));
    });
  }

  /** Start the worker now (loading its modules takes a moment) rather than at the first read. */
  warm(): void {
    this.started();
  }

  /** Stop the worker (reads in flight fail). The next read starts a new one. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const { entry, evalCode } = workerEntry(import.meta.url, 'intake-worker');
    const worker = new Worker(entry, { eval: evalCode, workerData: { hub: this.hub, concurrency: this.concurrency } satisfies IntakeWorkerData });
    worker.unref();
    worker.on('message', (m: IntakeReplyMessage) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if ('error' in m) p.reject(new IntakeThreadError(`reading a dataset failed: ${m.error}`));
      else p.resolve(m.outcome);
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(new IntakeThreadError(`the intake thread failed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => fail(new IntakeThreadError(`the intake thread stopped (exit code ${code})`)));
    this.worker = worker;
    return worker;
  }
}
