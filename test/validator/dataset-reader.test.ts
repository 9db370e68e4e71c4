/** readDataset: downloads at the revision and reports validity, the first problem and the first row over the token limit. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePresetCheckpoint } from '../../src/engine/presets.js';
import { HubClient, startHubServer, type HubServer } from '../../src/hub/index.js';
import { inThreadReader, type DatasetReader } from '../../src/validator/dataset-reader.js';
import { taskRows, toJsonl } from './subnet.js';

const TOKEN = 'hf_dataset_reader_test_token';
let root: string;
let hub: HubServer;
let reader: DatasetReader;
let modelDir: string;
let writer: HubClient;

const publish = async (content: string) => writer.uploadFiles({ repo: 'miners/r', type: 'dataset', files: [{ path: 'data.jsonl', content }] });
const read = (revision: string, maxTokensPerRow = 512) =>
  reader.read({ repo: 'miners/r', revision, maxBytes: 64 * 1024, maxRows: 100, maxTokensPerRow, tokenizerDir: modelDir });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'flock-dataset-reader-'));
  hub = await startHubServer({ dir: join(root, 'hub'), tokens: [{ name: 'miners', token: TOKEN }] });
  modelDir = join(root, 'model');
  writePresetCheckpoint(modelDir, 'tiny', { seed: 3 });
  writer = new HubClient({ hubUrl: hub.url, token: TOKEN, cacheDir: join(root, 'writer-cache'), retries: 0 });
  await writer.createRepo({ repo: 'miners/r', type: 'dataset' });
  reader = inThreadReader(new HubClient({ hubUrl: hub.url, cacheDir: join(root, 'cache'), retries: 0 }));
});
afterAll(async () => {
  await hub?.close();
});

describe('readDataset', () => {
  it('reads a valid dataset: its fingerprints, bytes and no over-long row', async () => {
    const content = toJsonl(taskRows(7, 1));
    const r = await read(await publish(content));
    expect(r).toMatchObject({ kind: 'read', valid: true, errorCount: 0, firstError: null, tooLongLine: null, truncated: false, bytes: Buffer.byteLength(content) });
    expect(r.kind === 'read' && r.fingerprints.rows).toBe(7);
  });

  it('reports the first problem of an invalid file, named data.jsonl rather than the cache path', async () => {
    const r = await read(await publish(`${toJsonl(taskRows(2, 2))}not json\n`));
    expect(r).toMatchObject({ kind: 'read', valid: false, errorCount: 1 });
    expect(r.kind === 'read' && r.firstError).toMatch(/^data\.jsonl:3: /);
  });

  it('finds the first row over the token limit, in the base model\'s tokens', async () => {
    const long = { conversations: [{ role: 'user', content: 'say it' }, { role: 'assistant', content: 'word '.repeat(80) }] };
    const revision = await publish(`${toJsonl(taskRows(3, 3))}${JSON.stringify(long)}\n`);
    expect(await read(revision, 512)).toMatchObject({ kind: 'read', tooLongLine: null });
    expect(await read(revision, 300)).toMatchObject({ kind: 'read', valid: true, tooLongLine: 4 });
  });
});
