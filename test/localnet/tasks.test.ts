/** The localnet task and datasets: deterministic, and each kind is what the copy/contamination checks must see. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contamination, overlap, twoWayOverlap, validateDataset } from '../../src/dataset/index.js';
import { DATASET_KINDS, MAX_LOCALNET_ROUNDS, buildTaskData, roundEvalRows, toJsonl } from '../../src/localnet/tasks.js';

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
      expect(data.datasets[kind]).toHaveLength(kind === 'diluted-copy' ? 3 * 96 : 96);
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

  it('the diluted copy: only a third of its rows are the good dataset, and it holds every good row', async () => {
    const good = await fingerprints('good', toJsonl(data.datasets.good));
    const o = twoWayOverlap(await fingerprints('diluted', toJsonl(data.datasets['diluted-copy'])), good);
    // a third, and a few new rows that happen to nearly match good ones (same task, same frame): under protocol 1's 50%
    expect(o.overlap).toBeGreaterThanOrEqual(1 / 3);
    expect(o.overlap).toBeLessThan(0.5);
    expect(o.otherMatched).toBe(96);
    expect(o.containment).toBe(1);
    // its new rows are right answers too: nothing else makes it a copy
    expect(contamination(await fingerprints('diluted', toJsonl(data.datasets['diluted-copy'])), await fingerprints('eval', toJsonl(data.evalRows))).contaminatedRows).toEqual([]);
  });

  it("round 1's set is the one the contaminated miner copies; later rounds' sets touch no dataset and no other set, at both run sizes", async () => {
    expect(toJsonl(roundEvalRows(48, 1))).toBe(toJsonl(data.evalRows));
    for (const [evalRows, datasetRows] of [[24, 48], [48, 96]] as const) {
      const sized = buildTaskData({ evalRows, datasetRows });
      const datasets = await Promise.all(DATASET_KINDS.map((kind) => fingerprints(`${kind}-${datasetRows}`, toJsonl(sized.datasets[kind]))));
      const sets = await Promise.all(Array.from({ length: MAX_LOCALNET_ROUNDS }, (_, k) => fingerprints(`round-${k + 1}-${evalRows}`, toJsonl(roundEvalRows(evalRows, k + 1)))));
      for (let k = 1; k < sets.length; k++) {
        datasets.forEach((d, i) => expect(contamination(d, sets[k]!).contaminatedRows, `${DATASET_KINDS[i]} vs round ${k + 1}`).toEqual([]));
        for (let j = 0; j < k; j++) expect(contamination(sets[k]!, sets[j]!).contaminatedRows, `round ${k + 1} vs round ${j + 1}`).toEqual([]);
      }
    }
    expect(() => roundEvalRows(24, MAX_LOCALNET_ROUNDS + 1)).toThrow(RangeError);
  });
});
