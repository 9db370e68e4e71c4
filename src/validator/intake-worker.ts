/**
 * The intake thread's script (see intake-thread.ts): reads datasets as the main thread asks,
 * `concurrency` at a time, with its own hub client over the same cache.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { HubClient } from '../hub/index.js';
import { errorMessage } from '../util/errors.js';
import { readDataset, TokenizerCache } from './dataset-reader.js';
import type { IntakeReplyMessage, IntakeRequestMessage, IntakeWorkerData } from './intake-thread.js';

const data = workerData as IntakeWorkerData;
const hub = new HubClient(data.hub);
const tokenizers = new TokenizerCache();
const waiting: IntakeRequestMessage[] = [];
let running = 0;

function pump(): void {
  while (running < data.concurrency && waiting.length > 0) {
    const { id, request } = waiting.shift()!;
    running++;
    Promise.resolve()
      .then(() => readDataset(hub, request, tokenizers.get(request.tokenizerDir)))
      .then((outcome): IntakeReplyMessage => ({ id, outcome }), (err: unknown): IntakeReplyMessage => ({ id, error: errorMessage(err) }))
      .then((reply) => {
        running--;
        parentPort!.postMessage(reply);
        pump();
      });
  }
}

parentPort!.on('message', (m: IntakeRequestMessage) => {
  waiting.push(m);
  pump();
});
