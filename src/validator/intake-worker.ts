/**
 * The intake thread's script (see intake-thread.ts): reads datasets as the main thread asks, with
 * its own hub client over the same cache. Up to `concurrency` downloads run at once; scans run one
 * at a time in the order asked, so the first dataset is ready after one download and one scan (not
 * after the scans of every dataset in flight, interleaved), and only one file is parsed at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { HubClient } from '../hub/index.js';
import { errorMessage } from '../util/errors.js';
import { downloadDataset, scanDownloaded, TokenizerCache, type Downloaded } from './dataset-reader.js';
import type { IntakeReplyMessage, IntakeRequestMessage, IntakeWorkerData } from './intake-thread.js';

const data = workerData as IntakeWorkerData;
const hub = new HubClient(data.hub);
const tokenizers = new TokenizerCache();
const waiting: Array<{ message: IntakeRequestMessage; downloaded: (d: Downloaded) => void; failed: (e: unknown) => void }> = [];
let downloading = 0;
let scans: Promise<void> = Promise.resolve();

function startDownloads(): void {
  while (downloading < data.concurrency && waiting.length > 0) {
    const job = waiting.shift()!;
    downloading++;
    downloadDataset(hub, job.message.request).then(job.downloaded, job.failed).finally(() => {
      downloading--;
      startDownloads();
    });
  }
}

parentPort!.on('message', (message: IntakeRequestMessage) => {
  const { id, request } = message;
  const file = new Promise<Downloaded>((downloaded, failed) => waiting.push({ message, downloaded, failed }));
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
