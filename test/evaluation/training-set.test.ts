/** loadTrainingSet: rows matching evaluation examples are dropped; a file that cannot be trained on gives a reason. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fingerprintRows, rowHash } from '../../src/dataset/index.js';
import { canonicalRow } from '../../src/dataset/canonical.js';
import { loadTrainingSet } from '../../src/evaluation/training-set.js';
import { taskRows, toJsonl } from '../validator/subnet.js';

const dir = mkdtempSync(join(tmpdir(), 'flock-training-set-'));
const evalRows = taskRows(6, 1);
const evalFingerprints = fingerprintRows(evalRows.map((r) => canonicalRow(r.system ?? null, r.conversations)));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const request = (path: string) => ({ path, maxBytes: 1 << 20, maxRows: 1000, evalFingerprints });

describe('loadTrainingSet', () => {
  it('keeps every row with its row hash, and drops the rows that match evaluation examples', async () => {
    const train = taskRows(10, 2);
    const r = await loadTrainingSet(request(file('mixed.jsonl', toJsonl([...train, ...evalRows.slice(0, 2)]))));
    expect(r.kind).toBe('training');
    if (r.kind !== 'training') return;
    expect(r.dropped).toBe(2);
    expect(r.rows).toHaveLength(10);
    expect(r.rows.map((x) => x.hash)).toEqual(train.map((row) => rowHash(canonicalRow(row.system ?? null, row.conversations))));
  });

  it('gives a reason for a file that turned invalid, or with nothing left to train on', async () => {
    expect(await loadTrainingSet(request(file('bad.jsonl', 'not json\n')))).toMatchObject({ kind: 'unusable', reason: expect.stringMatching(/^the dataset changed on disk and is now invalid: /) });
    expect(await loadTrainingSet(request(file('eval.jsonl', toJsonl(evalRows))))).toEqual({
      kind: 'unusable', reason: 'no row is left to train on after dropping the rows that match evaluation examples',
    });
  });
});
