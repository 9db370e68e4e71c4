/**
 * Intake's reading work (download, validate, fingerprint: `readDataset`) and the loading of the
 * next dataset to train (`loadTrainingSet`) in a worker thread, so a large dataset being parsed
 * never holds up training — on a GPU the main thread feeds the device — or the event loop
 * (`/metrics`, signals, the chain connection). Up to `concurrency` downloads run at once.
 */
import { Worker } from 'node:worker_threads';
import type { HubClientOptions } from '../hub/index.js';
import { transferableFingerprints, type DatasetFingerprints } from '../dataset/index.js';
import { errorMessage, FlockError } from '../util/errors.js';
import { workerEntry } from '../util/worker-entry.js';
import type { DatasetReader, ReadOutcome, ReadRequest } from './dataset-reader.js';
import type { TrainingOutcome, TrainingRequest } from '../evaluation/training-set.js';

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

/** A running worker and the requests it has not answered yet. */
interface Running { worker: Worker; pending: Map<number, Pending> }

export class IntakeThread implements DatasetReader {
  private running: Running | null = null;
  private nextId = 1;
  /** Evaluation-set fingerprints in postable form, per original (copied once, not per request). */
  private readonly postable = new WeakMap<DatasetFingerprints, DatasetFingerprints>();

  /** `hub`: the options of the client to download with (`HubClient.portableOptions()`). */
  constructor(private readonly hub: Omit<HubClientOptions, 'log'>, private readonly concurrency = 8) {}

  read(request: ReadRequest): Promise<ReadOutcome> {
    return this.ask((id) => ({ id, request })) as Promise<ReadOutcome>;
  }

  loadTraining(training: TrainingRequest): Promise<TrainingOutcome> {
    let evalFingerprints = this.postable.get(training.evalFingerprints);
    if (!evalFingerprints) {
      evalFingerprints = transferableFingerprints(training.evalFingerprints);
      this.postable.set(training.evalFingerprints, evalFingerprints);
    }
    return this.ask((id) => ({ id, training: { ...training, evalFingerprints } })) as Promise<TrainingOutcome>;
  }

  /** Start the worker now (loading its modules takes a moment) rather than at the first read. */
  warm(): void {
    this.started();
  }

  /** Stop the worker (reads in flight fail). The next read starts a new one. */
  async close(): Promise<void> {
    const running = this.running;
    this.running = null;
    if (running) await running.worker.terminate();
  }

  private ask(message: (id: number) => IntakeRequestMessage): Promise<ReadOutcome | TrainingOutcome> {
    const { worker, pending } = this.started();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.ref(); // work in flight keeps the process alive; an idle worker does not
      try {
        worker.postMessage(message(id));
      } catch (err) {
        pending.delete(id);
        if (pending.size === 0) worker.unref();
        reject(new IntakeThreadError(`could not hand the request to the intake thread: ${errorMessage(err)}`, { cause: err }));
      }
    });
  }

  private started(): Running {
    if (this.running) return this.running;
    const { entry, evalCode } = workerEntry(import.meta.url, 'intake-worker');
    const worker = new Worker(entry, { eval: evalCode, workerData: { hub: this.hub, concurrency: this.concurrency } satisfies IntakeWorkerData });
    const running: Running = { worker, pending: new Map() };
    worker.unref();
    worker.on('message', (m: IntakeReplyMessage) => {
      const p = running.pending.get(m.id);
      if (!p) return;
      running.pending.delete(m.id);
      if (running.pending.size === 0) worker.unref();
      if ('error' in m) p.reject(new IntakeThreadError(`reading a dataset failed: ${m.error}`));
      else p.resolve(m.outcome);
    });
    // a worker that fails or stops fails its own requests only (a new worker may be running by then)
    const fail = (err: Error) => {
      if (this.running === running) this.running = null;
      for (const p of running.pending.values()) p.reject(err);
      running.pending.clear();
    };
    worker.on('error', (err) => fail(new IntakeThreadError(`the intake thread failed: ${errorMessage(err)}`, { cause: err })));
    worker.on('exit', (code) => fail(new IntakeThreadError(`the intake thread stopped (exit code ${code})`)));
    this.running = running;
    return running;
  }
}
