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
import { downloadDataset, scanDownloaded, TokenizerCache, type Downloaded, type ReadRequest } from './dataset-reader.js';
import type { IntakeReplyMessage, IntakeRequestMessage, IntakeWorkerData } from './intake-thread.js';
import { loadTrainingSet } from './training-set.js';

const data = workerData as IntakeWorkerData;
const hub = new HubClient(data.hub);
const tokenizers = new TokenizerCache();
const waiting: Array<{ request: ReadRequest; downloaded: (d: Downloaded) => void; failed: (e: unknown) => void }> = [];
let downloading = 0;
let downloaded = 0;
let scans: Promise<void> = Promise.resolve();

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

let trainingLoads: Promise<void> = Promise.resolve();

parentPort!.on('message', (message: IntakeRequestMessage) => {
  if ('training' in message) {
    // apart from intake's scans: the next dataset to train must not wait behind them
    const { id, training } = message;
    trainingLoads = trainingLoads.then(() => loadTrainingSet(training).then(
      (outcome) => parentPort!.postMessage({ id, outcome } satisfies IntakeReplyMessage),
      (err: unknown) => parentPort!.postMessage({ id, error: errorMessage(err) } satisfies IntakeReplyMessage),
    ));
    return;
  }
  const { id, request } = message;
  const file = new Promise<Downloaded>((downloaded, failed) => waiting.push({ request, downloaded, failed }));
  startDownloads();
  scans = scans.then(async () => {
    let reply: IntakeReplyMessage;
    try {
      const d = await file;
      reply = { id, outcome: d.kind === 'downloaded' ? await scanDownloaded(d.path, request, tokenizers.get(request.tokenizerDir)) : d };
    } catch (err) {
      reply = { id, error: errorMessage(err) };
    }
    parentPort!.postMessage(reply);
  });
});
