/** The localnet task and datasets: deterministic, and each kind is what the copy/contamination checks must see. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contamination, overlap, validateDataset } from '../../src/dataset/index.js';
import { DATASET_KINDS, buildTaskData, toJsonl } from '../../src/localnet/tasks.js';

const dir = mkdtempSync(join(tmpdir(), 'flock-tasks-'));
async function fingerprints(name: string, text: string) {
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, text);
  const v = await validateDataset(path);
  expect(v.errorCount, v.errors.join('\n')).toBe(0);
  return v.fingerprints;
}

describe('localnet task data', () => {
  const data = buildTaskData({ evalRows: 48, datasetRows: 96 });

  it('is deterministic and every kind is a valid dataset of the asked size', async () => {
    expect(toJsonl(buildTaskData({ evalRows: 48, datasetRows: 96 }).datasets.good)).toBe(toJsonl(data.datasets.good));
    for (const kind of DATASET_KINDS) {
      expect(data.datasets[kind]).toHaveLength(96);
      await fingerprints(kind, toJsonl(data.datasets[kind]));
    }
  });

  it('honest kinds do not touch the eval set; the contaminated one is far over 1%', async () => {
    const evalFp = await fingerprints('eval', toJsonl(data.evalRows));
    for (const kind of ['good', 'medium', 'noisy', 'off-task'] as const) {
      expect(contamination(await fingerprints(kind, toJsonl(data.datasets[kind])), evalFp).contaminatedRows).toEqual([]);
    }
    const c = contamination(await fingerprints('contaminated', toJsonl(data.datasets.contaminated)), evalFp);
    expect(c.contaminatedRows.length / 96).toBeGreaterThan(0.2);
  });

  it('both copies overlap the good dataset fully; honest kinds do not overlap each other', async () => {
    const good = await fingerprints('good', toJsonl(data.datasets.good));
    expect(overlap(await fingerprints('copy', toJsonl(data.datasets.copy)), good).overlap).toBe(1);
    const reworded = data.datasets['reworded-copy'];
    expect(toJsonl(reworded)).not.toBe(toJsonl(data.datasets.good));
    expect(overlap(await fingerprints('reworded', toJsonl(reworded)), good).overlap).toBe(1);
    expect(overlap(await fingerprints('medium', toJsonl(data.datasets.medium)), good).overlap).toBeLessThan(0.5);
  });
});
