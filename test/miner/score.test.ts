/**
 * `flock miner score`: the validators' evaluation run locally — loss against the base model with
 * the competition's recipe and seed, and the contamination and copy verdicts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { localnetProfile } from '../../src/localnet/localnet.js';
import { buildTaskData, toJsonl } from '../../src/localnet/tasks.js';
import { scoreDataset } from '../../src/miner/score.js';
import { submitDataset } from '../../src/miner/submit.js';
import { publishCompetition } from '../../src/owner/publish.js';
import { parseCompetitionPointer, type CompetitionPointer } from '../../src/protocol/index.js';
import { silentLogger } from '../../src/util/log.js';
import { NETUID, runFlockAsync, startFixture, type Fixture } from './fixture.js';

describe('miner score', () => {
  let f: Fixture;
  let pointer: CompetitionPointer;
  const backend = new CpuBackend({ threads: 1 });
  const data = buildTaskData({ evalRows: 12, datasetRows: 24 });
  beforeAll(async () => {
    f = await startFixture();
    writeFileSync(f.evalFile, toJsonl(data.evalRows));
    const p = await publishCompetition({
      chain: f.chain, hub: f.ownerHub, netuid: NETUID, owner: f.owner, competitionJson: localnetProfile(true).competition,
      evalPath: f.evalFile, repo: 'flock/comp', model: { dir: f.modelDir }, log: silentLogger,
    });
    const parsed = parseCompetitionPointer(p.pointer);
    if (!parsed.ok) throw new Error(parsed.reason);
    pointer = parsed.value;
  }, 60_000);
  afterAll(async () => {
    backend.dispose();
    await f?.close();
  });

  it('trains with the recipe: good data lowers the base loss, no verdicts against it', async () => {
    const path = join(f.root, 'good.jsonl');
    writeFileSync(path, toJsonl(data.datasets.good));
    const steps: Array<[number, number]> = [];
    const r = await scoreDataset({ hub: f.ownerHub, pointer, datasetPath: path, backend, log: silentLogger, onProgress: (s, t) => steps.push([s, t]) });
    expect(r.evalLoss).toBeLessThan(r.baseLoss);
    expect(r.beatsBase).toBe(true);
    expect(r.contamination.zero).toBe(false);
    expect(r.copies).toEqual([]);
    expect(r.verdict).toBeNull();
    expect(steps.at(-1)?.[0]).toBe(steps.at(-1)?.[1]);
  }, 60_000);

  it('reports contamination and a copy of a committed dataset', async () => {
    const m = await f.register('orig');
    const orig = join(f.root, 'orig.jsonl');
    writeFileSync(orig, toJsonl(data.datasets.good));
    const sub = await submitDataset({ chain: f.chain, hub: f.minerHub, netuid: NETUID, hotkey: m.key, datasetPath: orig, repo: 'miners/orig', log: silentLogger });
    const copy = join(f.root, 'copy.jsonl');
    writeFileSync(copy, toJsonl(data.datasets['reworded-copy']));
    const r = await scoreDataset({
      hub: f.ownerHub, pointer, datasetPath: copy, backend, log: silentLogger,
      committed: [{ uid: m.uid, block: sub.block, repo: 'miners/orig', revision: sub.revision }],
    });
    expect(r.copies).toHaveLength(1);
    expect(r.copies[0]).toMatchObject({ uid: m.uid, block: sub.block });
    expect(r.copies[0]!.overlap).toBeGreaterThanOrEqual(0.5);
    expect(r.verdict).toEqual({ stage: 'copy', reason: r.copies[0]!.reason });
    expect(r.verdict!.reason).toContain(`uid ${m.uid}, committed earlier (block ${sub.block}`);

    // the competition is protocol 2: a dataset holding all of the original among new rows is a copy too
    const diluted = join(f.root, 'diluted.jsonl');
    writeFileSync(diluted, toJsonl(data.datasets['diluted-copy']));
    const d = await scoreDataset({
      hub: f.ownerHub, pointer, datasetPath: diluted, backend, log: silentLogger,
      committed: [{ uid: m.uid, block: sub.block, repo: 'miners/orig', revision: sub.revision }],
    });
    expect(d.copies).toHaveLength(1);
    expect(d.copies[0]!.overlap).toBeLessThan(0.5);
    expect(d.copies[0]!.containment).toBe(1);
    expect(d.verdict?.reason).toMatch(/^copy: it holds 24 of the 24 rows \(100%\)/);

    const cont = join(f.root, 'contaminated.jsonl');
    writeFileSync(cont, toJsonl(data.datasets.contaminated));
    const c = await scoreDataset({ hub: f.ownerHub, pointer, datasetPath: cont, backend, log: silentLogger });
    expect(c.contamination.zero).toBe(true);
    expect(c.contamination.contaminatedRows).toBeGreaterThan(0);
    expect(c.verdict?.stage).toBe('contamination');
  }, 90_000);

  it('flock miner score --competition POINTER prints the losses and verdicts (CLI)', async () => {
    const path = join(f.root, 'cli-good.jsonl');
    writeFileSync(path, toJsonl(data.datasets.good));
    const pointerJson = JSON.stringify({ c: pointer.competitionId, r: pointer.repoId, v: pointer.revision });
    const r = await runFlockAsync(['miner', 'score', '--dataset', path, '--competition', pointerJson, '--hub-url', f.hub.url, '--threads', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { baseLoss: number; evalLoss: number; beatsBase: boolean; copies: unknown[] };
    expect(out.evalLoss).toBeLessThan(out.baseLoss);
    expect(out.beatsBase).toBe(true);
    expect(r.stderr).toContain('training [');
  }, 90_000);
});
