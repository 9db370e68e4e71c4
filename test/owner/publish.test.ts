/**
 * `flock owner publish` against a devnet and a local hub: the model folder and the competition
 * files are uploaded, the pointer is committed from the owner hotkey, and a validator can load the
 * competition from it; bad input and a non-owner hotkey are refused before anything is committed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keypairFromUri } from '../../src/chain/index.js';
import { parseModelSource, publishCompetition } from '../../src/owner/publish.js';
import { parseCompetitionPointer } from '../../src/protocol/index.js';
import { silentLogger } from '../../src/util/log.js';
import { loadCompetition } from '../../src/evaluation/competition.js';
import { NETUID, OWNER_TOKEN, runFlockAsync, startFixture, type Fixture } from '../miner/fixture.js';

describe('flock owner publish', () => {
  let f: Fixture;
  beforeAll(async () => { f = await startFixture(); });
  afterAll(async () => { await f?.close(); });

  it('uploads model + competition + eval set and commits the pointer; validators can load it', async () => {
    const r = await runFlockAsync(['owner', 'publish', '--competition', f.competitionFile, '--eval', f.evalFile, '--repo', 'flock/comp', '--model', f.modelDir,
      '--wallet.name', 'owner', '--hf-token', OWNER_TOKEN, '--json', ...f.cliArgs]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { pointer: string; block: number; revision: string; baseModel: { repo: string; revision: string } };
    const onChain = await f.chain.getCommitment({ netuid: NETUID, hotkey: f.owner.address });
    expect(onChain?.data).toBe(out.pointer);
    expect(onChain?.block).toBe(out.block);
    const pointer = parseCompetitionPointer(out.pointer);
    expect(pointer.ok).toBe(true);
    if (!pointer.ok) return;
    expect(pointer.value.revision).toBe(out.revision);
    const loaded = await loadCompetition(f.ownerHub, pointer.value, silentLogger);
    expect(loaded.evalRows).toHaveLength(12);
    expect(loaded.competition.baseModel).toEqual(out.baseModel);
    expect(loaded.competition.recipe.maxSeqLen).toBe(160);
  }, 60_000);

  it('refuses an invalid competition, a bad eval set and a non-owner hotkey without committing', async () => {
    const before = await f.chain.getCommitment({ netuid: NETUID, hotkey: f.owner.address });
    const bad = join(f.root, 'bad-competition.json');
    writeFileSync(bad, JSON.stringify({ ...JSON.parse(readFileSync(f.competitionFile, 'utf8')), recipe: { epochs: 0 } }));
    const r = await runFlockAsync(['owner', 'publish', '--competition', bad, '--eval', f.evalFile, '--repo', 'flock/comp', '--model', f.modelDir,
      '--wallet.name', 'owner', '--hf-token', OWNER_TOKEN, ...f.cliArgs]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('recipe.epochs');

    const badEval = join(f.root, 'bad-eval.jsonl');
    writeFileSync(badEval, '{"conversations": [{"role": "assistant", "content": "x"}]}\n');
    await expect(publishCompetition({
      chain: f.chain, hub: f.ownerHub, netuid: NETUID, owner: f.owner, competitionJson: JSON.parse(readFileSync(f.competitionFile, 'utf8')),
      evalPath: badEval, repo: 'flock/comp', model: { dir: f.modelDir }, log: silentLogger,
    })).rejects.toThrow(/evaluation set .* is invalid/);

    const notOwner = await keypairFromUri('//Charlie');
    await expect(publishCompetition({
      chain: f.chain, hub: f.ownerHub, netuid: NETUID, owner: notOwner, competitionJson: JSON.parse(readFileSync(f.competitionFile, 'utf8')),
      evalPath: f.evalFile, repo: 'flock/comp', model: { dir: f.modelDir }, log: silentLogger,
    })).rejects.toThrow(/is not the owner of subnet 1/);
    expect(await f.chain.getCommitment({ netuid: NETUID, hotkey: f.owner.address })).toEqual(before);
  }, 60_000);

  it('takes --model as REPO@REVISION and refuses anything else', async () => {
    await expect(parseModelSource('no-such-folder')).rejects.toThrow(/--model must be/);
    expect(await parseModelSource(`flock/m@${'a'.repeat(40)}`)).toEqual({ repo: 'flock/m', revision: 'a'.repeat(40) });
    expect(await parseModelSource(f.modelDir)).toEqual({ dir: f.modelDir });
  });
});
