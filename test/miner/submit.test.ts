/**
 * `flock miner submit` against a devnet and a local hub: a valid dataset goes to the hub and its
 * commitment to the chain; an invalid one is refused before anything is uploaded or committed;
 * re-submitting the same content makes no new hub commit; when the chain's commitment space for
 * the epoch is used up, the tool waits for the next epoch (counting down) and retries; `status`
 * shows the competition, with sealed rounds their schedule and the round the commitment takes part from.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpaceLimitExceededError } from '../../src/chain/index.js';
import { activeCompetition, InvalidDatasetError, submitDataset } from '../../src/miner/submit.js';
import { publishCompetition } from '../../src/owner/publish.js';
import { COMPETITION_FILE, formatCommitment, formatCompetitionPointer, parseCommitment } from '../../src/protocol/index.js';
import { taskRows, toJsonl } from '../../src/localnet/tasks.js';
import { localnetProfile } from '../../src/localnet/localnet.js';
import { silentLogger } from '../../src/util/log.js';
import { HubClient } from '../../src/hub/index.js';
import { signResults, type WalletKeypair } from '../../src/chain/index.js';
import { formatResultsPointer, formatSignedResults, RESULTS_FILE } from '../../src/protocol/index.js';
import { sampleDocument } from '../protocol/results-fixture.js';
import { MINER_TOKEN, NETUID, runFlockAsync, startFixture, type Fixture } from './fixture.js';

describe('flock miner submit', () => {
  let f: Fixture;
  let good: string;
  beforeAll(async () => {
    f = await startFixture({ tempo: 360 });
    await publishCompetition({
      chain: f.chain, hub: f.ownerHub, netuid: NETUID, owner: f.owner, competitionJson: localnetProfile(true).competition,
      evalPath: f.evalFile, repo: 'flock/comp', model: { dir: f.modelDir }, log: silentLogger,
    });
    good = join(f.root, 'good.jsonl');
    writeFileSync(good, toJsonl(taskRows(20, 42)));
  }, 60_000);
  afterAll(async () => { await f?.close(); });

  it('uploads a valid dataset and commits repo:competition:sha (CLI)', async () => {
    const m = await f.register('alice');
    const r = await runFlockAsync(['miner', 'submit', '--dataset', good, '--repo', 'miners/alice', '--wallet.name', 'alice', '--hf-token', MINER_TOKEN, '--json', ...f.cliArgs]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { uid: number; commitment: string; block: number; uploaded: boolean; revision: string };
    expect(out.uid).toBe(m.uid);
    expect(out.uploaded).toBe(true);
    const onChain = await f.chain.getCommitment({ netuid: NETUID, hotkey: m.key.address });
    expect(onChain?.data).toBe(out.commitment);
    expect(onChain?.block).toBe(out.block);
    const parsed = parseCommitment(out.commitment);
    expect(parsed.ok && parsed.value).toEqual({ repoId: 'miners/alice', competitionId: '1', revision: out.revision });
    expect(await f.minerHub.resolveRevision({ repo: 'miners/alice', type: 'dataset' })).toBe(out.revision);

    const status = await runFlockAsync(['miner', 'status', '--wallet.name', 'alice', '--json', ...f.cliArgs]);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      uid: m.uid, commitment: out.commitment, commitmentBlock: out.block, verdicts: [],
      competition: { id: '1', repoId: 'flock/comp' }, competitionProblem: null, schedule: null, commitmentRound: null,
    });

    // a validator publishes its round: status shows its verdict on alice, and why another validator's results are refused
    const validator = await f.register('validator-a');
    const liar = await f.register('validator-b');
    const entry = { ...sampleDocument().uids[0]!, uid: m.uid, hotkey: m.key.address, weight: 0, stage: 'copy', reason: 'copy: 100% of its rows <b>match</b> uid 9\u001b[2J' };
    const publishAs = async (key: WalletKeypair, repo: string, tamper: boolean) => {
      const signed = await signResults(sampleDocument({ validator: key.address, netuid: NETUID, uids: [entry] }), key.pair!);
      if (tamper) signed.document.uids[0]!.weight = 1;
      await f.minerHub.createRepo({ repo, type: 'dataset', existOk: true });
      await f.minerHub.uploadFiles({ repo, type: 'dataset', files: [{ path: RESULTS_FILE, content: formatSignedResults(signed) }] });
      await f.chain.setCommitment({ netuid: NETUID, data: formatResultsPointer({ repoId: repo }), signer: key });
    };
    await publishAs(validator.key, 'miners/results-a', false);
    await publishAs(liar.key, 'miners/results-b', true);
    const json = await runFlockAsync(['miner', 'status', '--wallet.name', 'alice', '--json', ...f.cliArgs]);
    expect(json.code, json.stderr).toBe(0);
    const verdicts = (JSON.parse(json.stdout) as { verdicts: Array<Record<string, unknown>> }).verdicts;
    expect(verdicts).toHaveLength(2);
    expect(verdicts.find((v) => v['validator'] === validator.key.address)).toMatchObject({ ok: true, uid: m.uid, weight: 0, stage: 'copy', round: 3, repoId: 'miners/results-a' });
    expect(verdicts.find((v) => v['validator'] === liar.key.address)).toMatchObject({ ok: false, reason: expect.stringContaining('signature does not match') });
    const text = await runFlockAsync(['miner', 'status', '--wallet.name', 'alice', ...f.cliArgs]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("validators' verdicts (their signed published results; 1 of 2 readable):");
    expect(text.stdout).toMatch(/\ncompetition 1 \(flock\/comp at [0-9a-f]{12}\): the evaluation set \S+ is open \(no sealed rounds\)\n/);
    expect(text.stdout).toMatch(/4\.50000 +6\.50000 +1\.000 +0\.0000 +copy: copy: 100% of its rows <b>match<\/b> uid 9\\x1b\[2J/);
    expect(text.stdout).toMatch(/\(uid \d+\): .*refused: the signature does not match/);
  }, 90_000);

  it('refuses an invalid dataset before uploading or committing', async () => {
    const m = await f.register('bob');
    const bad = join(f.root, 'bad.jsonl');
    writeFileSync(bad, `${toJsonl(taskRows(3, 1))}{"conversations": [{"role": "assistant", "content": "no user turn"}]}\n`);
    await expect(submitDataset({ chain: f.chain, hub: f.minerHub, netuid: NETUID, hotkey: m.key, datasetPath: bad, repo: 'miners/bob', log: silentLogger }))
      .rejects.toBeInstanceOf(InvalidDatasetError);
    expect(await f.chain.getCommitment({ netuid: NETUID, hotkey: m.key.address })).toBeUndefined();
    await expect(f.minerHub.resolveRevision({ repo: 'miners/bob', type: 'dataset' })).rejects.toThrow();
  }, 30_000);

  it('refuses an unregistered hotkey', async () => {
    const { localKey } = await import('../../src/localnet/keys.js');
    const stranger = await localKey('test-stranger');
    await expect(submitDataset({ chain: f.chain, hub: f.minerHub, netuid: NETUID, hotkey: stranger, datasetPath: good, repo: 'miners/stranger', log: silentLogger }))
      .rejects.toThrow(/is not registered on subnet 1/);
  }, 30_000);

  it('--private: nobody reads the data before its commitment is on chain; it is public after', async () => {
    const m = await f.register('erin');
    const anonymous = new HubClient({ hubUrl: f.hub.url, token: '', cacheDir: join(f.root, 'cache-anon'), retries: 0 });
    // watch the hub as a copier would: whenever it can read the data, the commitment must already be on chain
    let seenPrivate = false;
    let readBeforeCommitment = false;
    let done = false;
    const watch = (async () => {
      while (!done) {
        const readable = await anonymous.resolveRevision({ repo: 'miners/erin', type: 'dataset' }).then(() => true, () => false);
        if (readable) {
          if (!(await f.chain.getCommitment({ netuid: NETUID, hotkey: m.key.address }))) readBeforeCommitment = true;
        } else if (await f.minerHub.resolveRevision({ repo: 'miners/erin', type: 'dataset' }).then(() => true, () => false)) {
          seenPrivate = true; // the repo exists, its owner reads it, nobody else can
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const r = await submitDataset({ chain: f.chain, hub: f.minerHub, netuid: NETUID, hotkey: m.key, datasetPath: good, repo: 'miners/erin', log: silentLogger, private: true });
    done = true;
    await watch;
    expect(r.published).toBe(true);
    expect(seenPrivate).toBe(true);
    expect(readBeforeCommitment).toBe(false);
    expect(await anonymous.resolveRevision({ repo: 'miners/erin', type: 'dataset' })).toBe(r.revision);
    expect(await f.minerHub.isPrivate({ repo: 'miners/erin', type: 'dataset' })).toBe(false);
  }, 30_000);

  it('--private with a public repo makes it private before the upload, and says its earlier data was visible', async () => {
    const m = await f.register('frank');
    await f.minerHub.createRepo({ repo: 'miners/frank', type: 'dataset' });
    const warnings: string[] = [];
    const log = { ...silentLogger, warning: (msg: string) => { warnings.push(msg); }, child: () => log } as typeof silentLogger;
    const r = await submitDataset({ chain: f.chain, hub: f.minerHub, netuid: NETUID, hotkey: m.key, datasetPath: good, repo: 'miners/frank', log, private: true });
    expect(r.published).toBe(true);
    expect(warnings.join('\n')).toMatch(/miners\/frank is public: making it private before the upload/);
  }, 30_000);

  it('makes no new hub commit when the content is already at the head', async () => {
    const m = await f.register('carol');
    const first = await submitDataset({ chain: f.chain, hub: f.minerHub, netuid: NETUID, hotkey: m.key, datasetPath: good, repo: 'miners/carol', log: silentLogger });
    const second = await submitDataset({ chain: f.chain, hub: f.minerHub, netuid: NETUID, hotkey: m.key, datasetPath: good, repo: 'miners/carol', log: silentLogger });
    expect(first.uploaded).toBe(true);
    expect(second.uploaded).toBe(false);
    expect(second.revision).toBe(first.revision);
    expect(second.block).toBeGreaterThan(first.block);
    expect(await f.minerHub.resolveRevision({ repo: 'miners/carol', type: 'dataset' })).toBe(first.revision);
  }, 30_000);

  it('waits for the next epoch with a countdown when the commitment space is used up, then commits', async () => {
    const m = await f.register('dave');
    // use up this epoch's commitment space (MaxSpace 3100 bytes, at least 100 per commitment)
    const filler = `miners/dave:1:${'f'.repeat(40)}`.padEnd(100, 'x'); // 100 bytes: the space fills exactly
    let refused = false;
    for (let i = 0; i < 40 && !refused; i++) {
      try {
        await f.chain.setCommitment({ netuid: NETUID, data: filler, signer: m.key });
      } catch (err) {
        expect(err).toBeInstanceOf(SpaceLimitExceededError);
        expect(String(err)).toContain('SpaceLimitExceeded');
        refused = true;
      }
    }
    expect(refused).toBe(true);
    const ticks: number[] = [];
    const refusedAt = f.dev.bestNumber();
    // blocks arrive while the tool waits (as on a live chain): start producing at the first countdown tick
    let timer: NodeJS.Timeout | undefined;
    try {
      const r = await submitDataset({
        chain: f.chain, hub: f.minerHub, netuid: NETUID, hotkey: m.key, datasetPath: good, repo: 'miners/dave', log: silentLogger, pollMs: 10,
        onCountdown: (left) => {
          ticks.push(left);
          timer ??= setInterval(() => { void f.dev.produceBlocks(10); }, 20);
        },
      });
      expect(r.retries).toBe(1);
      expect(ticks.length).toBeGreaterThan(0);
      expect(ticks[0]).toBeGreaterThan(0);
      const info = await f.chain.subnetInfo({ netuid: NETUID });
      expect(r.block).toBeGreaterThan(refusedAt);
      expect(r.block).toBeGreaterThan(info.lastEpochBlock - info.tempo - 1);
      expect((await f.chain.getCommitment({ netuid: NETUID, hotkey: m.key.address }))?.data).toBe(r.commitment);
    } finally {
      clearInterval(timer);
    }
  }, 60_000);

  it('status shows the sealed rounds and the round the commitment takes part from; an unusable competition is one line, the rest still printed', async () => {
    const m = await f.register('grace');
    const commitment = formatCommitment({ repoId: 'miners/grace', competitionId: '1', revision: 'c'.repeat(40) });
    const committed = (await f.chain.setCommitment({ netuid: NETUID, data: commitment, signer: m.key })).blockNumber;
    const now = f.dev.bestNumber();
    const { pointer, competition } = await activeCompetition(f.chain, f.ownerHub, NETUID);
    const hex = (c: string) => c.repeat(64);
    // round 1 revealed, round 2 closed and sealed, round 3 open since grace committed, round 4 announced
    const rounds = [
      { opens: 0, closes: 1, evalSha256: hex('a'), evalFile: 'eval-round-1.jsonl' },
      { opens: 1, closes: committed, evalSha256: hex('b') },
      { opens: committed, closes: now + 1000, evalSha256: hex('c') },
      { opens: now + 2000, closes: now + 3000, evalSha256: hex('d') },
    ];
    const repoPointer = async (content: string) => {
      const revision = await f.ownerHub.uploadFiles({ repo: pointer.repoId, type: 'dataset', files: [{ path: COMPETITION_FILE, content }] });
      await f.chain.setCommitment({ netuid: NETUID, data: formatCompetitionPointer({ competitionId: '1', repoId: pointer.repoId, revision }), signer: f.owner });
      return revision;
    };
    const status = async (json: boolean) => {
      const r = await runFlockAsync(['miner', 'status', '--wallet.name', 'grace', ...(json ? ['--json'] : []), ...f.cliArgs]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    try {
      const revision = await repoPointer(JSON.stringify({ ...competition, rounds }));
      const json = JSON.parse(await status(true)) as { block: number };
      expect(json).toMatchObject({
        competition: { id: '1', repoId: pointer.repoId, revision }, competitionProblem: null,
        schedule: {
          open: { round: 3, opens: committed, closes: now + 1000, blocksLeft: now + 1000 - json.block }, next: { round: 4, opens: now + 2000, closes: now + 3000 },
          awaitingReveal: [2], scoring: 1, rounds: 4,
        },
        commitmentRound: { block: committed, round: 3, scoredNow: false, problem: null },
      });
      const text = await status(false);
      const left = /round 3 open: window closes at block (\d+) \(in (\d+) blocks, ≈ (\d+) h (\d+) min at 12 s a block\)/.exec(text);
      expect(left, text).not.toBeNull();
      expect(Number(left![1])).toBe(now + 1000);
      const blocks = Number(left![2]);
      expect(Number(left![3]) * 60 + Number(left![4])).toBe(Math.round((blocks * 12) / 60));
      expect(text).toContain(`next window: round 4, blocks ${now + 2000}–${now + 2999}`);
      expect(text).toContain("waiting for their evaluation set's reveal: round 2\n");
      expect(text).toContain('validators score round 1 now');
      expect(text).toContain(`this hotkey's commitment (block ${committed}): takes part from round 3 (and the later ones): scored once round 3's evaluation set is revealed`);

      // between windows: submit refuses before uploading or committing, saying when the next round opens
      await repoPointer(JSON.stringify({ ...competition, rounds: [rounds[0], rounds[3]] }));
      const late = await f.register('heidi');
      const good = join(f.root, 'heidi.jsonl');
      writeFileSync(good, toJsonl(taskRows(8, 3)));
      await expect(submitDataset({ chain: f.chain, hub: f.minerHub, netuid: NETUID, hotkey: late.key, datasetPath: good, repo: 'miners/heidi', log: silentLogger }))
        .rejects.toThrow(new RegExp(`no round of competition 1 is open for submissions at block \\d+: the next, round 2, opens at block ${now + 2000} \\(in \\d+ blocks\\); a commitment now would take part in no round`));
      expect(await f.chain.getCommitment({ netuid: NETUID, hotkey: late.key.address })).toBeUndefined();
      await expect(f.minerHub.resolveRevision({ repo: 'miners/heidi', type: 'dataset' })).rejects.toThrow();

      // rounds that overlap: the competition is one line with the reason; the hotkey and the verdicts are still shown
      await repoPointer(JSON.stringify({ ...competition, rounds: [rounds[2], rounds[1]] }));
      const broken = await status(false);
      expect(broken).toMatch(/\ncompetition: competition\.json of flock\/comp@[0-9a-f]{12} is unusable: competition\.json is invalid: rounds\.1\.opens: round 2 opens at block 1, before round 1 closes/);
      expect(broken).toContain(`hotkey ${m.key.address}: uid ${m.uid} on subnet ${NETUID}`);
      expect(broken).toMatch(/validators' verdicts/);
      expect(JSON.parse(await status(true))).toMatchObject({ competition: null, competitionProblem: expect.stringMatching(/is unusable/), schedule: null, commitmentRound: null });
    } finally {
      await f.chain.setCommitment({ netuid: NETUID, data: formatCompetitionPointer({ competitionId: '1', repoId: pointer.repoId, revision: pointer.revision }), signer: f.owner });
    }
  }, 90_000);
});
