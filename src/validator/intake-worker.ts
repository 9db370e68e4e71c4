/**
 * The intake thread's script (see intake-thread.ts): reads datasets as the main thread asks, with
 * its own hub client over the same cache, and loads training sets one at a time. Downloads run up
 * to `concurrency` at once; scans run one at a time in the order asked, so the first dataset is
 * ready after one download and one scan (not after the scans of every dataset in flight,
 * interleaved), and only one file is parsed at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { HubClient } from '../hub/index.js';
import { errorMessage } from '../util/errors.js';
import { downloadDataset, scanDownloaded, TokenizerCache, type Downloaded, type ReadOutcome, type ReadRequest } from './dataset-reader.js';
import type { IntakeReplyMessage, IntakeRequestMessage, IntakeWorkerData } from './intake-thread.js';
import { loadTrainingSet, type TrainingOutcome } from '../evaluation/training-set.js';

const data = workerData as IntakeWorkerData;
const hub = new HubClient(data.hub);
const tokenizers = new TokenizerCache();
const waiting: Array<{ request: ReadRequest; downloaded: (d: Downloaded) => void; failed: (e: unknown) => void }> = [];
let downloading = 0;
let downloaded = 0;
/** Intake's scans, in the order asked; urgent reads (an evaluation waits) and training loads have their own lanes. */
let scans: Promise<void> = Promise.resolve();
let urgentScans: Promise<void> = Promise.resolve();
let trainingLoads: Promise<void> = Promise.resolve();

/**
 * Start queued downloads. Slow start: one at first, one more for each finished, up to
 * `concurrency` — the first dataset, which training waits for, is not slowed by seven others.
 */
function startDownloads(): void {
  while (downloading < Math.min(data.concurrency, 1 + downloaded) && waiting.length > 0) {
    const job = waiting.shift()!;
    downloading++;
    downloadDataset(hub, job.request).then(job.downloaded, job.failed).finally(() => {
      downloading--;
      downloaded++;
      startDownloads();
    });
  }
}

/** Send a reply; one that cannot be sent (cannot be cloned, …) becomes an error reply. */
function reply(message: IntakeReplyMessage): void {
  try {
    parentPort!.postMessage(message);
  } catch (err) {
    parentPort!.postMessage({ id: message.id, error: `the answer could not be sent back: ${errorMessage(err)}` } satisfies IntakeReplyMessage);
  }
}

/** Run `work` after the lane's earlier work; its outcome (or error) is the reply to `id`. */
function inLane(lane: Promise<void>, id: number, work: () => Promise<ReadOutcome | TrainingOutcome>): Promise<void> {
  return lane.then(async () => {
    try {
      reply({ id, outcome: await work() });
    } catch (err) {
      reply({ id, error: errorMessage(err) });
    }
  });
}

parentPort!.on('message', (message: IntakeRequestMessage) => {
  if ('training' in message) {
    const { id, training } = message;
    trainingLoads = inLane(trainingLoads, id, () => loadTrainingSet(training));
    return;
  }
  const { id, request } = message;
  const file = new Promise<Downloaded>((downloaded, failed) => {
    const job = { request, downloaded, failed };
    if (request.urgent) waiting.unshift(job);
    else waiting.push(job);
  });
  startDownloads();
  const scan = async () => {
    const d = await file;
    return d.kind === 'downloaded' ? scanDownloaded(d.path, request, tokenizers.get(request.tokenizerDir)) : d;
  };
  if (request.urgent) urgentScans = inLane(urgentScans, id, scan);
  else scans = inLane(scans, id, scan);
});
