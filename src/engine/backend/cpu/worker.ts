/**
 * A CPU pool worker: sleeps on its control word, wakes for a job, registers any new shared
 * buffers posted to its port (read synchronously), runs its slice of the op, signals done.
 * Control words (Int32Array): [0] job sequence number (main → worker), [1] last finished job
 * (worker → main), [2] 1 when the last job threw, [3] 1 once the worker is up, [4] last claimed job (the main thread
 * only hands work to workers that are up, so it never blocks on one still starting).
 */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { runOp, type BufferTable } from './ops.js';

interface WorkerInit { control: SharedArrayBuffer; args: SharedArrayBuffer; port: MessagePort }
type PortMessage = { add: number; buffer: SharedArrayBuffer } | { del: number } | { stop: true };

const { control, args, port } = workerData as WorkerInit;
const ctl = new Int32Array(control);
const argv = new Float64Array(args);
const buffers: BufferTable = new Map();

let seen = 0;
Atomics.store(ctl, 3, 1);
for (;;) {
  Atomics.wait(ctl, 0, seen);
  seen = Atomics.load(ctl, 0);
  let stop = false;
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
    const msg = m.message as PortMessage;
    if ('add' in msg) buffers.set(msg.add, msg.buffer);
    else if ('del' in msg) buffers.delete(msg.del);
    else stop = true;
  }
  if (stop) break;
  // claim the job; if the main thread already took it over (we were too slow to wake), skip it
  if (Atomics.compareExchange(ctl, 4, seen - 1, seen) !== seen - 1) continue;
  try {
    runOp(argv, buffers);
    ctl[2] = 0;
  } catch (err) {
    ctl[2] = 1;
    process.stderr.write(`cpu worker: ${String(err)}\n`);
  }
  Atomics.store(ctl, 1, seen);
  Atomics.notify(ctl, 1);
}
port.close();
