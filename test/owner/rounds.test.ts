/**
 * The owner's sealed rounds against a devnet and a local hub: a sealed publish puts only the set's
 * hash on the hub, the next round opens back to back, a reveal is refused before the window closes
 * and for any file but the committed one, and after each reveal a validator's `loadCompetition`
 * scores the round revealed — with a hand-made reveal that does not match its hash refused.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateDataset } from '../../src/dataset/index.js';
import { loadCompetition, NoRoundRevealedError } from '../../src/evaluation/competition.js';
import { taskRows, toJsonl } from '../../src/localnet/tasks.js';
import { publishCompetition } from '../../src/owner/publish.js';
import { approxBlockTime, openRound, revealRound, type RoundCommandResult } from '../../src/owner/rounds.js';
import { parseCompetitionPointer, type CompetitionPointer, type Round } from '../../src/protocol/index.js';
import { createLogger, silentLogger } from '../../src/util/log.js';
import { NETUID, startFixture, type Fixture } from '../miner/fixture.js';

const REPO = 'flock/sealed';
const WINDOW = 20;

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('sealed rounds: flock owner publish --round-eval, round open, round reveal', () => {
  let f: Fixture;
  let set1: string;
  let set2: string;
  let wrong: string;
  let competitionJson: Record<string, unknown>;
  let round1: Round;
  let round2: RoundCommandResult;

  const tools = () => ({ chain: f.chain, hub: f.ownerHub, netuid: NETUID, owner: f.owner, log: silentLogger });
  const chainPointer = async (): Promise<CompetitionPointer> => {
    const c = await f.chain.getCommitment({ netuid: NETUID, hotkey: f.owner.address });
    const p = parseCompetitionPointer(c!.data);
    if (!p.ok) throw new Error(p.reason);
    return p.value;
  };
  const rowHashes = async (path: string) => Array.from((await validateDataset(path)).fingerprints.exact);

  beforeAll(async () => {
    f = await startFixture();
    set1 = f.evalFile;
    set2 = join(f.root, 'eval-2.jsonl');
    writeFileSync(set2, toJsonl(taskRows(10, 2)));
    wrong = join(f.root, 'not-the-set.jsonl');
    writeFileSync(wrong, toJsonl(taskRows(12, 3)));
    competitionJson = JSON.parse(readFileSync(f.competitionFile, 'utf8')) as Record<string, unknown>;
  });
  afterAll(async () => { await f?.close(); });

  it('publishes round 1 sealed: only competition.json with the hash, nothing for validators to score yet', async () => {
    await expect(publishCompetition({ ...tools(), competitionJson: { ...competitionJson, protocol: 1 }, sealed: { evalPath: set1, windowBlocks: WINDOW }, repo: REPO, model: { dir: f.modelDir } }))
      .rejects.toThrow(/sealed rounds need a protocol-2 competition/);

    const before = f.dev.bestNumber();
    const r = await publishCompetition({ ...tools(), competitionJson, sealed: { evalPath: set1, windowBlocks: WINDOW }, repo: REPO, model: { dir: f.modelDir } });
    round1 = r.round!;
    expect(round1).toEqual({ opens: before + 1, closes: before + 1 + WINDOW, evalSha256: sha256File(set1) });
    expect(r.competition.protocol === 2 && r.competition.rounds).toEqual([round1]);
    expect((await f.chain.getCommitment({ netuid: NETUID, hotkey: f.owner.address }))?.data).toBe(r.pointer);

    const files = (await f.ownerHub.listFiles({ repo: REPO, type: 'dataset', revision: r.revision })).map((x) => x.path);
    expect(files).toContain('competition.json');
    expect(files.filter((p) => p.endsWith('.jsonl'))).toEqual([]);
    // the owner's own file, plus the round: no defaults filled in
    const uploaded = JSON.parse(readFileSync(await f.ownerHub.downloadFile({ repo: REPO, type: 'dataset', revision: r.revision, path: 'competition.json' }), 'utf8'));
    expect(uploaded).toEqual({ ...competitionJson, baseModel: { repo: (competitionJson['baseModel'] as { repo: string }).repo, revision: r.modelRevision }, rounds: [round1] });

    const error = await loadCompetition(f.ownerHub, await chainPointer(), silentLogger).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoRoundRevealedError);
    expect(String((error as Error).message)).toContain(`sealed until its window closes at block ${round1.closes}`);
  }, 60_000);

  it('opens round 2 back to back while round 1 is open, and refuses a set already used', async () => {
    await expect(openRound({ ...tools(), evalPath: set1, windowBlocks: WINDOW })).rejects.toThrow(/is round 1's evaluation set .*every round needs a set of its own/);
    expect(f.dev.bestNumber()).toBeLessThan(round1.closes);
    round2 = await openRound({ ...tools(), evalPath: set2, windowBlocks: WINDOW + 5 });
    expect(round2).toMatchObject({ round: 2, opens: round1.closes, closes: round1.closes + WINDOW + 5, evalSha256: sha256File(set2), startedSealing: false });
    expect(await chainPointer()).toMatchObject({ revision: round2.revision });
    const rounds = round2.competition.protocol === 2 ? round2.competition.rounds : undefined;
    expect(rounds).toEqual([round1, { opens: round2.opens, closes: round2.closes, evalSha256: round2.evalSha256 }]);
    const files = (await f.ownerHub.listFiles({ repo: REPO, type: 'dataset', revision: round2.revision })).map((x) => x.path);
    expect(files.filter((p) => p.endsWith('.jsonl'))).toEqual([]);
  }, 60_000);

  it('refuses to reveal round 1 before its window closes, saying when it does', async () => {
    const now = f.dev.bestNumber();
    const left = round1.closes - now;
    expect(left).toBeGreaterThan(0);
    const err = (await revealRound({ ...tools(), evalPath: set1 }).catch((e: unknown) => e)) as Error & { hint?: string };
    expect(err.message).toBe(`round 1's window is still open: it closes at block ${round1.closes}, now block ${now} (${left} blocks left, ${approxBlockTime(left)})`);
    expect(err.hint).toMatch(/revealing early lets miners fit the set/);
    expect((await chainPointer()).revision).toBe(round2.revision);
  }, 60_000);

  it('refuses a file that is not the one committed for the round', async () => {
    await f.dev.produceBlocks(round1.closes - f.dev.bestNumber());
    await expect(revealRound({ ...tools(), evalPath: wrong })).rejects.toThrow(`${wrong} is not the file committed for round 1: its sha256 is ${sha256File(wrong)}, round 1 committed ${round1.evalSha256}`);
    await expect(revealRound({ ...tools(), evalPath: set2, round: 2 })).rejects.toThrow(/round 2's window is still open/);
    await expect(revealRound({ ...tools(), evalPath: set1, round: 3 })).rejects.toThrow(/has no round 3: it has rounds 1–2/);
    expect((await chainPointer()).revision).toBe(round2.revision);
  }, 60_000);

  it('reveals round 1 after its window closed: validators score round 1 on its rows', async () => {
    const r = await revealRound({ ...tools(), evalPath: set1 });
    expect(r).toMatchObject({ round: 1, opens: round1.opens, closes: round1.closes, evalSha256: round1.evalSha256, evalFile: 'eval-round-1.jsonl' });
    const pointer = await chainPointer();
    expect(pointer.revision).toBe(r.revision);
    const files = (await f.ownerHub.listFiles({ repo: REPO, type: 'dataset', revision: r.revision })).map((x) => x.path);
    expect(files.filter((p) => p.endsWith('.jsonl'))).toEqual(['eval-round-1.jsonl']);
    expect(sha256File(await f.ownerHub.downloadFile({ repo: REPO, type: 'dataset', revision: r.revision, path: 'eval-round-1.jsonl' }))).toBe(round1.evalSha256);

    const loaded = await loadCompetition(f.ownerHub, pointer, silentLogger);
    const expected = await validateDataset(set1);
    expect(loaded.round).toMatchObject({ number: 1, revealed: [1], refused: [] });
    expect(loaded.evalSetHash).toBe(expected.identity);
    expect(loaded.evalRows).toEqual(expected.rows);

    await expect(revealRound({ ...tools(), evalPath: set1, round: 1 })).rejects.toThrow(/round 1 of competition 1 is already revealed as eval-round-1.jsonl/);
  }, 60_000);

  it('refuses a set uploaded by hand under a round\'s name that does not match its hash: the round before is scored', async () => {
    await f.dev.produceBlocks(round2.closes - f.dev.bestNumber());
    const current = await chainPointer();
    const raw = JSON.parse(readFileSync(await f.ownerHub.downloadFile({ repo: REPO, type: 'dataset', revision: current.revision, path: 'competition.json' }), 'utf8'));
    raw.rounds[1].evalFile = 'eval-round-2.jsonl';
    const handMade = await f.ownerHub.uploadFiles({
      repo: REPO, type: 'dataset', message: 'by hand',
      files: [{ path: 'competition.json', content: JSON.stringify(raw) }, { path: 'eval-round-2.jsonl', content: readFileSync(wrong) }],
    });
    const loaded = await loadCompetition(f.ownerHub, { ...current, revision: handMade }, silentLogger);
    expect(loaded.round?.number).toBe(1);
    expect(loaded.round?.refused).toHaveLength(1);
    expect(loaded.round?.refused[0]).toMatch(/^round 2's revealed evaluation set eval-round-2\.jsonl at .* does not match the commitment published when the round opened .*: refused$/);
    expect(loaded.evalSetHash).toBe((await validateDataset(set1)).identity);
  }, 60_000);

  it('reveals round 2: validators score it, and contamination covers both rounds\' rows', async () => {
    const r = await revealRound({ ...tools(), evalPath: set2 });
    expect(r).toMatchObject({ round: 2, evalFile: 'eval-round-2.jsonl' });
    const loaded = await loadCompetition(f.ownerHub, await chainPointer(), silentLogger);
    expect(loaded.round).toMatchObject({ number: 2, revealed: [1, 2], refused: [] });
    expect(loaded.evalSetHash).toBe((await validateDataset(set2)).identity);
    expect(loaded.evalRows).toHaveLength(10);
    const both = [...(await rowHashes(set1)), ...(await rowHashes(set2))].sort();
    expect(Array.from(loaded.evalFingerprints.exact).sort()).toEqual(both);
    expect(loaded.evalFingerprints.rows).toBe(22);

    await expect(revealRound({ ...tools(), evalPath: set2 })).rejects.toThrow(/every round of competition 1 is revealed \(2\)/);
    // publishing round 1 again over the same competition would rewrite its rounds: refused before anything is written
    await expect(publishCompetition({ ...tools(), competitionJson, sealed: { evalPath: wrong, windowBlocks: WINDOW }, repo: REPO, model: { dir: f.modelDir } }))
      .rejects.toThrow(/validators would refuse this revision of competition 1: it lists 1 round\(s\) where the revision before listed 2/);
    expect((await chainPointer()).revision).toBe(r.revision);
  }, 60_000);

  it('turns an open protocol-2 competition into a sealed one, this round being round 1', async () => {
    const open = { ...competitionJson, id: '2' };
    const published = await publishCompetition({ ...tools(), competitionJson: open, evalPath: set1, repo: 'flock/open', model: { dir: f.modelDir } });
    expect(published.round).toBeUndefined();
    const lines: string[] = [];
    const log = createLogger({ level: 'info', stream: { write: (l: string) => { lines.push(l); } } });
    const before = f.dev.bestNumber();
    const r = await openRound({ ...tools(), log, evalPath: set2, windowBlocks: WINDOW });
    expect(r).toMatchObject({ round: 1, opens: before + 1, closes: before + 1 + WINDOW, startedSealing: true });
    expect(lines.join('\n')).toMatch(/competition 2 had one open evaluation set; from this revision on it runs in sealed rounds, this one being round 1/);
    const error = await loadCompetition(f.ownerHub, await chainPointer(), silentLogger).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoRoundRevealedError);
  }, 60_000);
});

describe('approxBlockTime', () => {
  it('says how long a number of 12 s blocks takes, for people', () => {
    expect(approxBlockTime(3)).toBe('≈ 36 s');
    expect(approxBlockTime(60)).toBe('≈ 12 min');
    expect(approxBlockTime(300)).toBe('≈ 1 h');
    expect(approxBlockTime(725)).toBe('≈ 2 h 25 min');
    expect(approxBlockTime(7200)).toBe('≈ 1 d');
    expect(approxBlockTime(7200 + 900)).toBe('≈ 1 d 3 h');
    expect(approxBlockTime(10, 6)).toBe('≈ 1 min');
  });
});
