/**
 * The intake thread reads datasets in a worker with its own hub client: the same answers as a read
 * in this thread (fingerprints included), the submission's faults and hub outages told apart,
 * many reads in flight at once, and a new worker after close.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePresetCheckpoint } from '../../src/engine/presets.js';
import { HubClient, startHubServer, type HubServer } from '../../src/hub/index.js';
import { inThreadReader, type ReadRequest } from '../../src/validator/dataset-reader.js';
import { IntakeThread } from '../../src/validator/intake-thread.js';
import { loadTrainingSet } from '../../src/evaluation/training-set.js';
import { fingerprintRows, scanDataset } from '../../src/dataset/index.js';
import { canonicalRow } from '../../src/dataset/canonical.js';
import { taskRows, toJsonl } from './subnet.js';

const TOKEN = 'hf_intake_thread_test_token';
let root: string;
let hub: HubServer;
let modelDir: string;
const revisions: string[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'flock-intake-thread-'));
  hub = await startHubServer({ dir: join(root, 'hub'), tokens: [{ name: 'miners', token: TOKEN }] });
  modelDir = join(root, 'model');
  writePresetCheckpoint(modelDir, 'tiny', { seed: 3 });
  const writer = new HubClient({ hubUrl: hub.url, token: TOKEN, cacheDir: join(root, 'writer-cache'), retries: 0 });
  await writer.createRepo({ repo: 'miners/a', type: 'dataset' });
  for (let i = 0; i < 6; i++) {
    revisions.push(await writer.uploadFiles({ repo: 'miners/a', type: 'dataset', files: [{ path: 'data.jsonl', content: toJsonl(taskRows(10 + i, 70 + i)) }] }));
  }
});
afterAll(async () => {
  await hub?.close();
});

const request = (revision: string, over: Partial<ReadRequest> = {}): ReadRequest => ({
  repo: 'miners/a', revision, maxBytes: 64 * 1024, maxRows: 200, maxTokensPerRow: 512, tokenizerDir: modelDir, ...over,
});

describe('IntakeThread', () => {
  it('answers as a read in this thread does, for many reads in flight at once', async () => {
    const thread = new IntakeThread(new HubClient({ hubUrl: hub.url, cacheDir: join(root, 'thread-cache'), retries: 0 }).portableOptions(), 3);
    const local = inThreadReader(new HubClient({ hubUrl: hub.url, cacheDir: join(root, 'local-cache'), retries: 0 }));
    try {
      const [threaded, here] = await Promise.all([
        Promise.all(revisions.map((r) => thread.read(request(r)))),
        Promise.all(revisions.map((r) => local.read(request(r)))),
      ]);
      for (let i = 0; i < revisions.length; i++) {
        const a = threaded[i]!;
        const b = here[i]!;
        expect(a.kind).toBe('read');
        if (a.kind !== 'read' || b.kind !== 'read') continue;
        expect(a.path).toContain(join(root, 'thread-cache'));
        expect({ ...a, path: '' }).toEqual({ ...b, path: '' });
        expect(a.fingerprints.rows).toBe(10 + i);
        expect(a.fingerprints.bands).toBeInstanceOf(Uint32Array);
      }
    } finally {
      await thread.close();
    }
  });

  it('loads training sets in the worker exactly as in this thread', async () => {
    const thread = new IntakeThread(new HubClient({ hubUrl: hub.url, cacheDir: join(root, 'train-cache'), retries: 0 }).portableOptions());
    try {
      const read = await thread.read(request(revisions[2]!));
      expect(read.kind).toBe('read');
      if (read.kind !== 'read') return;
      const evalFingerprints = fingerprintRows(taskRows(12, 72).slice(0, 3).map((r) => canonicalRow(r.system ?? null, r.conversations)));
      const training = { path: read.path, maxBytes: 64 * 1024, maxRows: 200, evalFingerprints };
      const there = await thread.loadTraining(training);
      expect(there).toEqual(await loadTrainingSet(training));
      expect(there).toMatchObject({ kind: 'training', dropped: 3 });
      expect(there.kind === 'training' && there.rows).toHaveLength(12 - 3);
      await expect(thread.loadTraining({ ...training, path: join(root, 'nowhere.jsonl') })).rejects.toThrow(/nowhere\.jsonl: no such file/);
    } finally {
      await thread.close();
    }
  });

  it('sends large fingerprints across (over 1 MiB: resizable buffers on the reading side) both ways', async () => {
    const writer = new HubClient({ hubUrl: hub.url, token: TOKEN, cacheDir: join(root, 'writer-cache'), retries: 0 });
    const big = taskRows(14_000, 90);
    const revision = await writer.uploadFiles({ repo: 'miners/a', type: 'dataset', files: [{ path: 'data.jsonl', content: toJsonl(big) }] });
    const thread = new IntakeThread(new HubClient({ hubUrl: hub.url, cacheDir: join(root, 'big-cache'), retries: 0 }).portableOptions());
    try {
      const read = await thread.read(request(revision, { maxBytes: 8 << 20, maxRows: 20_000 }));
      expect(read).toMatchObject({ kind: 'read', valid: true });
      if (read.kind !== 'read') return;
      expect(read.fingerprints.rows).toBe(14_000);
      expect(read.fingerprints.bands.byteLength).toBeGreaterThan(1 << 20);
      // an evaluation set as large: its fingerprints come from a scan in this thread
      const evalScan = await scanDataset(read.path, { limits: { maxFileBytes: 8 << 20, maxRows: 20_000 } });
      expect((evalScan.fingerprints.bands.buffer as ArrayBuffer & { resizable: boolean }).resizable).toBe(true);
      const training = await thread.loadTraining({ path: read.path, maxBytes: 8 << 20, maxRows: 20_000, evalFingerprints: evalScan.fingerprints });
      expect(training).toEqual({ kind: 'unusable', reason: 'no row is left to train on after dropping the rows that match evaluation examples' });
    } finally {
      await thread.close();
    }
  }, 60_000);

  it('answers an urgent read (an evaluation waits for it) ahead of intake\'s queue', async () => {
    const thread = new IntakeThread(new HubClient({ hubUrl: hub.url, cacheDir: join(root, 'urgent-cache'), retries: 0 }).portableOptions());
    try {
      const order: string[] = [];
      const queued = revisions.slice(0, 5).map((r, i) => thread.read(request(r)).then(() => order.push(`intake ${i}`)));
      const urgent = thread.read({ ...request(revisions[5]!), urgent: true }).then(() => order.push('urgent'));
      await Promise.all([...queued, urgent]);
      expect(order.indexOf('urgent')).toBeLessThan(order.indexOf('intake 4'));
    } finally {
      await thread.close();
    }
  });

  it('fails a read still pending when the thread is closed, with a clear error', async () => {
    const thread = new IntakeThread(new HubClient({ hubUrl: hub.url, cacheDir: join(root, 'closing-cache'), retries: 0 }).portableOptions());
    const pending = thread.read(request(revisions[3]!));
    await thread.close();
    await expect(pending).rejects.toThrow(/the intake thread stopped/);
  });

  it('tells a missing revision (the submission\'s fault) from a hub that is down (try later), and starts again after close', async () => {
    const thread = new IntakeThread(new HubClient({ hubUrl: hub.url, cacheDir: join(root, 'fault-cache'), retries: 0 }).portableOptions());
    const down = new IntakeThread(new HubClient({ hubUrl: 'http://127.0.0.1:9', cacheDir: join(root, 'down-cache'), retries: 0, timeoutMs: 2000 }).portableOptions());
    try {
      const missing = await thread.read(request('e'.repeat(40)));
      expect(missing).toEqual({ kind: 'fault', reason: `revision ${'e'.repeat(40)} of miners/a does not exist on the hub`, unreadable: true });
      const tooSmall = await thread.read(request(revisions[0]!, { maxBytes: 100 }));
      expect(tooSmall.kind).toBe('fault');
      expect(tooSmall.kind === 'fault' && tooSmall.reason).toMatch(/^data\.jsonl at miners\/a@[0-9a-f]{12} is too large/);
      const unreachable = await down.read(request(revisions[0]!));
      expect(unreachable.kind).toBe('unavailable');

      await thread.close();
      const again = await thread.read(request(revisions[1]!));
      expect(again.kind).toBe('read');
    } finally {
      await thread.close();
      await down.close();
    }
  });
});
