/**
 * The validator loop against a devnet and a local hub started here: every bad input or fault a
 * miner can cause gets a zero with a reason while the loop goes on; the same data is trained once; weights
 * are set once per window; hub and chain outages are waited out without losing finished work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { FingerprintIndex, validateDataset } from '../../src/dataset/index.js';
import { HubClient } from '../../src/hub/index.js';
import { formatCommitment, formatCompetitionPointer } from '../../src/protocol/index.js';
import { createLogger, silentLogger, type Logger } from '../../src/util/log.js';
import { BASE_EVALUATION, openStore, type ValidatorStore } from '../../src/validator/store.js';
import { Validator, type ValidatorOptions } from '../../src/validator/validator.js';
import { AdapterCache } from '../../src/evaluation/adapter-cache.js';
import { startMetricsServer } from '../../src/validator/metrics.js';
import { formatLeaderboard, readStatus } from '../../src/validator/status.js';
import { runSql } from '../helpers/sqlite.js';
import { NETUID, noiseRows, startSubnet, taskRows, toJsonl, type Miner, type TestSubnet } from './subnet.js';

const backend = new CpuBackend({ threads: 1 });
afterAll(() => backend.dispose());

function commitmentOf(name: string, revision: string, competitionId = '1'): string {
  return formatCommitment({ repoId: `miners/${name}`, competitionId, revision });
}

function newValidator(net: TestSubnet, stateDir: string, store: ValidatorStore, index: FingerprintIndex, extra: Partial<ValidatorOptions> = {}): Validator {
  return new Validator({
    chain: net.chain, hub: net.validatorHub(join(stateDir, 'cache')), store, index, netuid: NETUID, signer: net.owner, backend,
    log: process.env.VLOG ? createLogger({ level: 'debug' }) : silentLogger, blockSeconds: 12, retryBaseMs: 50, maxBackoffMs: 200, pollMs: 10,
    ...extra,
  });
}

/** A logger whose lines land in `lines`. */
function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: createLogger({ level: 'info', stream: { write: (l: string) => lines.push(l) } }) };
}

/** Produce blocks until the subnet has run its next epoch. */
async function nextEpoch(net: TestSubnet): Promise<void> {
  const info = await net.chain.subnetInfo({ netuid: NETUID });
  await net.dev.produceBlocks(info.nextEpochBlock - info.block.number + 1);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The owner's sealed-round revisions of the test competition: competition.json with `rounds` (and
 * any files) committed to its repo, then pointed to from the owner's hotkey — what `flock owner
 * round open|reveal` do, without their checks, so a test can also publish what they refuse.
 */
async function ownerRevisions(net: TestSubnet): Promise<(rounds: unknown[], files?: Array<{ path: string; content: string }>) => Promise<string>> {
  const path = await net.ownerHub.downloadFile({ repo: 'flock/competition-1', type: 'dataset', revision: net.competitionRevision, path: 'competition.json' });
  const definition = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  return async (rounds, files = []) => {
    const revision = await net.ownerHub.uploadFiles({
      repo: 'flock/competition-1', type: 'dataset', files: [{ path: 'competition.json', content: JSON.stringify({ ...definition, rounds }) }, ...files],
    });
    await net.chain.setCommitment({ netuid: NETUID, data: formatCompetitionPointer({ competitionId: '1', repoId: 'flock/competition-1', revision }), signer: net.owner });
    return revision;
  };
}

describe('validator pass: bad inputs and faults', () => {
  let net: TestSubnet;
  let store: ValidatorStore;
  let index: FingerprintIndex;
  let stateDir: string;
  const uid: Record<string, number> = {};
  const miners: Record<string, Miner> = {};

  beforeAll(async () => {
    net = await startSubnet({ tempo: 60, weightsRateLimit: 2 });
    stateDir = join(net.root, 'state');
    store = openStore(join(stateDir, 'validator.sqlite'));
    index = FingerprintIndex.open(join(stateDir, 'fingerprints.sqlite'));
    const good = toJsonl(taskRows(24, 7));
    const plan: Array<[string, () => Promise<string>]> = [
      ['good', async () => commitmentOf('good', await net.publish('good', good))],
      ['good2', async () => commitmentOf('good2', await net.publish('good2', toJsonl(taskRows(24, 99))))],
      // the same rows shuffled: the same dataset identity, committed later
      ['copy', async () => commitmentOf('copy', await net.publish('copy', toJsonl(taskRows(24, 7).reverse())))],
      // 20 of its 24 rows are good's: a near copy with its own identity
      ['nearcopy', async () => commitmentOf('nearcopy', await net.publish('nearcopy', toJsonl([...taskRows(24, 7).slice(0, 20), ...taskRows(4, 55)])))],
      ['noise', async () => commitmentOf('noise', await net.publish('noise', toJsonl(noiseRows(24, 8))))],
      ['contaminated', async () => commitmentOf('contaminated', await net.publish('contaminated', toJsonl([...taskRows(30, 5), ...taskRows(12, 1)])))],
      ['invalid', async () => commitmentOf('invalid', await net.publish('invalid', `${good}{"conversations": [{"role": "assistant", "content": "x"}]}\nnot json\n`))],
      ['huge', async () => commitmentOf('huge', await net.publish('huge', toJsonl(taskRows(2000, 3))))],
      ['norev', async () => {
        await net.publish('norev', toJsonl(taskRows(20, 23)));
        return commitmentOf('norev', 'e'.repeat(40));
      }],
      ['deleted', async () => {
        const sha = await net.publish('deleted', toJsonl(taskRows(20, 21)));
        await net.minerHub.deleteRepo({ repo: 'miners/deleted', type: 'dataset' });
        return commitmentOf('deleted', sha);
      }],
      ['othercomp', async () => commitmentOf('othercomp', await net.publish('othercomp', toJsonl(taskRows(20, 22))), '99')],
      ['garbage', async () => 'this is not a commitment'],
      ['longrow', async () => {
        const long = { conversations: [{ role: 'user' as const, content: 'say it' }, { role: 'assistant' as const, content: 'x '.repeat(600) }] };
        return commitmentOf('longrow', await net.publish('longrow', toJsonl([...taskRows(10, 31), long])));
      }],
    ];
    for (const [name] of plan) {
      miners[name] = await net.register(name);
      uid[name] = miners[name]!.uid;
    }
    for (const [name, make] of plan) await net.commit(miners[name]!, await make());
  });
  afterAll(async () => {
    index?.close();
    store?.close();
    await net?.close();
  });

  it('one pass: every fault is a zero with a reason, good data earns the weight, the same data is trained once', async () => {
    const v = newValidator(net, stateDir, store, index);
    const pass = await v.runPass();
    expect(pass.weights?.status).toBe('set');
    expect(pass.queued).toBe(0);

    const round = store.latestRound()!;
    const by = new Map(round.perUid.map((u) => [u.uid, u]));
    const reason = (name: string) => `${by.get(uid[name]!)?.stage}: ${by.get(uid[name]!)?.reason}`;
    // the two real datasets share all the weight (which one leads depends on the seed, i.e. the competition revision)
    expect(by.get(uid['good']!)!.weight + by.get(uid['good2']!)!.weight).toBeCloseTo(1, 9);
    expect(reason('copy')).toMatch(new RegExp(`^copy: copy: 100% of its rows match the dataset of uid ${uid['good']}`));
    expect(reason('nearcopy')).toMatch(new RegExp(`^copy: copy: 83.33% of its rows match the dataset of uid ${uid['good']}`));
    expect(reason('contaminated')).toMatch(/^contamination: trained on the test: 12 of 42 rows/);
    expect(reason('invalid')).toMatch(/^dataset: data\.jsonl has 2 problem\(s\)/);
    expect(reason('huge')).toMatch(/^dataset: data\.jsonl at miners\/huge@[0-9a-f]{12} is too large/);
    expect(reason('norev')).toMatch(/^dataset: revision e{40} of miners\/norev does not exist on the hub/);
    expect(reason('deleted')).toMatch(/^dataset: the dataset repo miners\/deleted does not exist on the hub/);
    expect(reason('othercomp')).toMatch(/^commitment: the commitment is for competition "99"; the active competition is "1"/);
    expect(reason('garbage')).toMatch(/^commitment: commitment "this is not a commitment" has 1 ":"-separated parts/);
    expect(reason('longrow')).toBe("dataset: data.jsonl:11: the row is longer than 512 tokens (the competition's maxTokensPerRow)");
    expect(reason('noise')).toMatch(/^competitive_filter: no better than an earlier submission/);
    for (const u of round.perUid) {
      if (u.weight === 0) expect(u.reason, `uid ${u.uid}`).toBeTruthy();
    }
    const total = round.perUid.reduce((a, u) => a + u.weight, 0);
    expect(total).toBeCloseTo(1, 9);

    // trained: base + good + good2 + noise (the shuffled copy has good's identity; the near copy and the contaminated data are never trained)
    const evals = store.listEvaluations(round.competitionKey);
    expect(evals.map((e) => e.status)).toEqual(['done', 'done', 'done', 'done']);
    expect(evals.every((e) => e.attempts === 1)).toBe(true);
    expect(evals.find((e) => e.datasetIdentity === BASE_EVALUATION)?.losses).toHaveLength(12);
    const receipt = store.listEvaluations(round.competitionKey).find((e) => e.datasetIdentity !== BASE_EVALUATION)!.receipt as Record<string, unknown>;
    expect(receipt).toMatchObject({ engine: 'flock-engine', backend: 'cpu', compute: v.compute, kernels: { matmul: expect.any(String) } });
    expect(evals.every((e) => e.compute === v.compute)).toBe(true);

    // the weights on chain are the round's
    const tx = store.weightTransactions()[0]!;
    expect(tx).toMatchObject({ status: 'included', kind: 'set' });
    const mg = await net.chain.metagraph({ netuid: NETUID });
    expect(mg.lastUpdate[0]).toBe(tx.block);

    // status reads the same, from the store alone
    const status = readStatus(store);
    expect(status.leaderboard[0]!.weight).toBeGreaterThan(0);
    expect(status.evaluations).toEqual({ queued: 0, running: 0, done: 4, failed: 0 });
    const text = formatLeaderboard(status);
    expect(text).toMatch(/^competition 1 \(flock\/competition-1@[0-9a-f]{12}\)\n/);
    expect(status.competition?.sealedRound).toBeNull();
    expect(text).toContain('copy: 100% of its rows match');
  });

  it('sets weights once per window: a second pass in the same window sets nothing, the next window sets again', async () => {
    const before = store.weightTransactions().length;
    const v = newValidator(net, stateDir, store, index);
    const again = await v.runPass();
    expect(again.weights?.status).toBe('already_set');
    expect(again.evaluated).toBe(0); // nothing finished is redone
    expect(store.weightTransactions()).toHaveLength(before);

    const info = await net.chain.subnetInfo({ netuid: NETUID });
    await net.dev.produceBlocks(info.nextEpochBlock - info.block.number + 1);
    const next = await v.runPass();
    expect(next.weights?.status).toBe('set');
    const txs = store.weightTransactions();
    expect(txs).toHaveLength(before + 1);
    expect(new Set(txs.map((t) => t.window)).size).toBe(txs.length);
    expect(store.rounds()).toHaveLength(2);
    // a fresh validator (fingerprints re-read from the cache) still sees the near copy, and never trained it
    expect(store.latestRound()!.perUid.find((u) => u.uid === uid['nearcopy'])).toMatchObject({ stage: 'copy', weight: 0 });
  });

  it('redoes evaluations computed with another engine version or kernels instead of mixing them into a round', async () => {
    const v = newValidator(net, stateDir, store, index);
    const key = store.latestRound()!.competitionKey;
    const before = new Map(store.listEvaluations(key).map((e) => [e.datasetIdentity, Array.from(e.losses!)]));
    // as if these were computed by the engine before the learning-rate schedule was applied
    runSql(store.file, `UPDATE evaluations SET compute = 'flock-engine 1.0.0 · cpu · attention=js matmul=js'`);
    await nextEpoch(net);
    const pass = await v.runPass();
    expect(pass.evaluated).toBe(4);
    expect(pass.weights?.status).toBe('set');
    const after = store.listEvaluations(key);
    expect(after.every((e) => e.status === 'done' && e.compute === v.compute)).toBe(true);
    // redone with the same compute identity as the first time: bit-identical losses
    for (const e of after) expect(Array.from(e.losses!), e.datasetIdentity).toEqual(before.get(e.datasetIdentity));
  });

  it('serves Prometheus metrics', async () => {
    const v = newValidator(net, stateDir, store, index);
    const server = await startMetricsServer(v.metrics, 0);
    try {
      const info = await net.chain.subnetInfo({ netuid: NETUID });
      await net.dev.produceBlocks(info.nextEpochBlock - info.block.number + 1);
      await v.runPass();
      const text = await (await fetch(server.url)).text();
      expect(text).toContain('# TYPE flock_validator_evaluations_done_total counter');
      expect(text).toMatch(/^flock_validator_queue_length 0$/m);
      expect(text).toMatch(new RegExp(`^flock_validator_last_weight_block ${store.lastWeightBlock(NETUID)}$`, 'm'));
      expect((await fetch(server.url.replace('/metrics', '/nope'))).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('validator pass: intake beside training', () => {
  let net: TestSubnet;
  beforeAll(async () => {
    net = await startSubnet({ tempo: 60, weightsRateLimit: 2 });
  });
  afterAll(async () => {
    await net?.close();
  });

  it('trains the first datasets while later ones are still being taken in', async () => {
    const early = await net.register('early');
    const late = await net.register('late');
    await net.commit(early, commitmentOf('early', await net.publish('early', toJsonl(taskRows(16, 41)))));
    await net.commit(late, commitmentOf('late', await net.publish('late', toJsonl(taskRows(16, 42)))));

    // the validator reaches the hub through a proxy that holds every request for the late dataset
    // until the early one has been evaluated: a validator that finished intake before training
    // would wait here forever
    let release!: () => void;
    const earlyEvaluated = new Promise<void>((resolve) => { release = resolve; });
    const proxy = await startGatedProxy(net.hub.url, (url) => url.includes('miners/late'), earlyEvaluated);
    const stateDir = join(net.root, 'state-beside');
    const hub = new HubClient({ hubUrl: proxy.url, cacheDir: join(stateDir, 'cache'), retries: 0, timeoutMs: 60_000 });
    const order: string[] = [];
    const log = recordingLogger((msg) => {
      order.push(msg);
      if (msg.startsWith(`evaluated uid ${early.uid}:`)) release();
    });
    const store = openStore(join(stateDir, 'validator.sqlite'));
    const index = FingerprintIndex.open(join(stateDir, 'fingerprints.sqlite'));
    const v = new Validator({ chain: net.chain, hub, store, index, netuid: NETUID, signer: net.owner, backend, log, blockSeconds: 12 });
    try {
      const pass = await v.runPass();
      expect(pass.evaluated).toBe(3); // base, early, late
      expect(pass.weights?.status).toBe('set');
      const at = (prefix: string) => order.findIndex((m) => m.startsWith(prefix));
      expect(at('evaluating base model')).toBeGreaterThanOrEqual(0);
      expect(at('evaluating base model')).toBeLessThan(at('checked 2 new dataset(s)'));
      expect(at(`evaluated uid ${early.uid}:`)).toBeLessThan(at('checked 2 new dataset(s)'));
      expect(at(`evaluated uid ${late.uid}:`)).toBeGreaterThan(at('checked 2 new dataset(s)'));
    } finally {
      index.close();
      store.close();
      await v.close();
      await proxy.close();
    }
  });
});

/** An HTTP proxy to `target` that holds the requests `held` picks until `gate` resolves. */
async function startGatedProxy(target: string, held: (url: string) => boolean, gate: Promise<void>): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    void (async () => {
      if (held(req.url ?? '')) await gate;
      const upstream = httpRequest(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A logger that hands every message to `onMessage` (and prints nothing). */
function recordingLogger(onMessage: (msg: string) => void): Logger {
  const at = (msg: string) => onMessage(msg);
  const logger: Logger = {
    trace: at, debug: at, info: at, success: at, warning: at, error: at, critical: at,
    child: () => logger,
    isLevelEnabled: () => true,
  };
  return logger;
}

describe('validator pass: commit before publish (protocol 2)', () => {
  let net: TestSubnet;
  let store: ValidatorStore;
  let index: FingerprintIndex;
  let stateDir: string;
  afterAll(async () => {
    index?.close();
    store?.close();
    await net?.close();
  });

  it('waits for a private dataset until its publish window closes: scored once public, 0 with a reason after the window', async () => {
    net = await startSubnet({ tempo: 30, weightsRateLimit: 1, competition: { protocol: 2, scoring: { publishWindowBlocks: 20 } } });
    stateDir = join(net.root, 'state');
    store = openStore(join(stateDir, 'validator.sqlite'));
    index = FingerprintIndex.open(join(stateDir, 'fingerprints.sqlite'));
    const v = newValidator(net, stateDir, store, index);
    const commitPrivate = async (name: string, seed: number) => {
      const miner = await net.register(name);
      await net.minerHub.createRepo({ repo: `miners/${name}`, type: 'dataset', private: true });
      const sha = await net.minerHub.uploadFiles({ repo: `miners/${name}`, type: 'dataset', files: [{ path: 'data.jsonl', content: toJsonl(taskRows(24, seed)) }] });
      await net.commit(miner, commitmentOf(name, sha));
      return miner;
    };
    const late = await commitPrivate('late', 7);
    const never = await commitPrivate('never', 8);
    const sub = (name: string) => store.latestSubmissions().find((s) => s.repoId === `miners/${name}`)!;
    const zero = (uid: number) => store.latestRound()!.perUid.find((u) => u.uid === uid)!;

    // inside the window: neither is read, neither is rejected; the round says why they wait
    await v.runPass();
    for (const name of ['late', 'never']) expect(sub(name)).toMatchObject({ reason: null, datasetIdentity: null });
    expect(zero(late.uid)).toMatchObject({ weight: 0, reason: expect.stringMatching(/^not readable yet \(the dataset repo miners\/late does not exist on the hub .*\); it may be published until block \d+, 20 blocks after its commitment$/) });

    // 'late' goes public inside its window: read, trained, scored
    await net.minerHub.setVisibility({ repo: 'miners/late', type: 'dataset', private: false });
    await nextEpoch(net);
    await v.runPass();
    expect(sub('late').datasetIdentity).toMatch(/^[0-9a-f]{64}$/);
    expect(zero(late.uid).weight).toBeGreaterThan(0);

    // 'never' stays private past its window: 0 for good, saying how long it was waited for
    await nextEpoch(net);
    await v.runPass();
    expect(sub('never').reason).toMatch(/^the dataset repo miners\/never does not exist on the hub .*, and still so \d+ blocks after its commitment at block \d+; a dataset must be readable within 20 blocks of its commitment$/);
    expect(zero(never.uid)).toMatchObject({ weight: 0, stage: 'dataset' });
  });
});

describe('validator pass: sealed evaluation rounds (protocol 2)', () => {
  let net: TestSubnet;
  let store: ValidatorStore;
  let index: FingerprintIndex;
  afterAll(async () => {
    index?.close();
    store?.close();
    await net?.close();
  });

  it('scores the latest revealed round, carries datasets over, catches a miner who fits a revealed set, refuses a swapped set and a pointer that goes back', async () => {
    net = await startSubnet({ tempo: 30, weightsRateLimit: 1, competition: { protocol: 2 } });
    const stateDir = join(net.root, 'state');
    store = openStore(join(stateDir, 'validator.sqlite'));
    index = FingerprintIndex.open(join(stateDir, 'fingerprints.sqlite'));
    const { log, lines } = capture();
    const adapters = () => new AdapterCache({ dir: join(stateDir, 'adapters') });
    const v = newValidator(net, stateDir, store, index, { adapters: adapters(), log });
    const produceUntil = async (block: number) => net.dev.produceBlocks(Math.max(0, block - net.dev.bestNumber()));
    const setA = toJsonl(taskRows(12, 101));
    const setB = toJsonl(taskRows(12, 102));
    const ownerRevision = await ownerRevisions(net);
    const roundOf = (name: string) => store.latestRound()!.perUid.find((u) => u.uid === miners[name]!.uid)!;
    const miners: Record<string, Miner> = {};
    for (const name of ['early', 'honest', 'fitter', 'late']) miners[name] = await net.register(name);

    // round 1 opens a few blocks from now; 'early' commits before it does
    const r1 = { opens: net.dev.bestNumber() + 6, closes: net.dev.bestNumber() + 40, evalSha256: sha256(setA) };
    await ownerRevision([r1]);
    await net.commit(miners.early!, commitmentOf('early', await net.publish('early', toJsonl(taskRows(24, 5)))));
    await produceUntil(r1.opens);
    await net.commit(miners.honest!, commitmentOf('honest', await net.publish('honest', toJsonl(taskRows(24, 7)))));

    // nothing can be scored while round 1 is sealed
    await expect(v.runPass()).rejects.toThrow(/no revealed evaluation round to score yet: round 1's evaluation set is sealed until its window closes at block/);

    // round 2 opens back to back; round 1 is revealed after its window; then a miner trains on round 1's set
    const r2 = { opens: r1.closes, closes: r1.closes + 40, evalSha256: sha256(setB) };
    await ownerRevision([r1, r2]);
    await produceUntil(r1.closes);
    const revealed1 = [{ ...r1, evalFile: 'eval-round-1.jsonl' }, r2];
    const round1Revision = await ownerRevision(revealed1, [{ path: 'eval-round-1.jsonl', content: setA }]);
    await net.commit(miners.fitter!, commitmentOf('fitter', await net.publish('fitter', toJsonl([...taskRows(20, 9), ...taskRows(12, 101)]))));
    await net.commit(miners.late!, commitmentOf('late', await net.publish('late', toJsonl(taskRows(24, 77)))));

    await nextEpoch(net);
    await v.runPass();
    expect(store.latestCompetition()!.key).toMatch(/^1@round-1:[0-9a-f]{32}$/);
    expect(roundOf('honest').weight).toBeGreaterThan(0);
    expect(roundOf('early')).toMatchObject({ weight: 0, stage: 'commitment', reason: expect.stringMatching(/outside every round's submission window/) });
    for (const name of ['fitter', 'late']) {
      expect(roundOf(name)).toMatchObject({ weight: 0, stage: 'not_evaluated', reason: expect.stringMatching(/^takes part from round 2 /) });
    }
    const round1Key = store.latestCompetition()!.key;
    expect(store.evaluationCounts(round1Key)).toMatchObject({ done: 2, queued: 0 }); // base + honest: nothing trained for round 2 yet

    // round 2 "revealed" with another file than the one committed: refused, round 1 still scored
    await produceUntil(r2.closes);
    await ownerRevision([revealed1[0], { ...r2, evalFile: 'eval-round-2.jsonl' }], [{ path: 'eval-round-2.jsonl', content: toJsonl(taskRows(12, 103)) }]);
    await nextEpoch(net);
    await v.runPass();
    expect(lines.some((l) => /round 2's revealed evaluation set eval-round-2\.jsonl .* does not match the commitment published when the round opened/.test(l))).toBe(true);
    expect(store.latestCompetition()!.key).toBe(round1Key);
    expect(roundOf('fitter')).toMatchObject({ stage: 'not_evaluated', reason: expect.stringMatching(/round 2's window closed at block \d+, \d+ block\(s\) ago, and the owner has not revealed a set matching its commitment yet$/) });

    // the committed file: round 2 is scored; the fitter is caught, the honest dataset carries over
    await ownerRevision([revealed1[0], { ...r2, evalFile: 'eval-round-2.jsonl' }], [{ path: 'eval-round-2.jsonl', content: setB }]);
    await nextEpoch(net);
    // weights due before round 2's datasets are evaluated: set from round 1's complete results
    const midway = await v.sync();
    expect(store.evaluationCounts(midway.competition.key).queued).toBeGreaterThan(0);
    expect((await v.scoreAndSetWeights(midway)).outcome?.status).toBe('set');
    expect(roundOf('honest').weight).toBeGreaterThan(0);
    expect(roundOf('fitter').stage).toBe('not_evaluated');
    expect(lines.some((l) => /weights from round 1 while round 2's datasets are taken in and evaluated/.test(l))).toBe(true);
    await nextEpoch(net);
    await v.runPass();
    const round2Key = store.latestCompetition()!.key;
    expect(round2Key).toMatch(/^1@round-2:/);
    expect(readStatus(store).competition?.sealedRound).toBe(2);
    expect(formatLeaderboard(readStatus(store))).toMatch(/^competition 1 \(flock\/competition-1@[0-9a-f]{12}, scoring sealed round 2\)\n/);
    expect(roundOf('fitter')).toMatchObject({ weight: 0, stage: 'contamination', reason: expect.stringMatching(/^trained on the test: 12 of 32 rows/) });
    expect(roundOf('honest').weight).toBeGreaterThan(0);
    // 'late' takes part in round 2: evaluated (its weight is the ranking's business, not the round's)
    expect(roundOf('late').evalLoss).toEqual(expect.any(Number));
    expect(roundOf('late').stage).not.toBe('not_evaluated');
    expect(roundOf('early').stage).toBe('commitment');
    const honestIdentity = store.latestSubmissions().find((s) => s.repoId === 'miners/honest')!.datasetIdentity!;
    const setBIdentity = (await validateDataset(await writeTemp(setB))).identity;
    const [kept, trained] = [store.getEvaluation(round2Key, honestIdentity)!.receipt, store.getEvaluation(round1Key, honestIdentity)!.receipt] as Array<Record<string, unknown>>;
    expect(kept).toMatchObject({ evalSetHash: setBIdentity, datasetHash: honestIdentity, adapterHash: trained!['adapterHash'] });
    expect(trained!['evalSetHash']).not.toBe(setBIdentity);
    // carried over without training: round 1's adapter evaluated on round 2's set
    expect(lines.some((l) => new RegExp(`evaluated uid ${miners.honest!.uid} with its kept adapter \\(no training\\)`).test(l))).toBe(true);
    expect(lines.some((l) => new RegExp(`evaluated uid ${miners.late!.uid} with its kept adapter`).test(l))).toBe(false);

    // the owner's pointer goes back to the revision before round 2's reveal: refused, round 2 still scored
    await net.chain.setCommitment({ netuid: NETUID, data: formatCompetitionPointer({ competitionId: '1', repoId: 'flock/competition-1', revision: round1Revision }), signer: net.owner });
    await nextEpoch(net);
    const pass = await v.runPass();
    expect(pass.weights?.status).toBe('set');
    expect(lines.some((l) => /the competition revision [0-9a-f]{12} is refused: round 2 was revealed as eval-round-2\.jsonl and is now sealed again/.test(l))).toBe(true);
    expect(store.latestCompetition()!.key).toBe(round2Key);
    expect(roundOf('fitter').stage).toBe('contamination');

    // a revision with malformed rounds: refused with the reason, round 2 still judged
    await ownerRevision([revealed1[0], { ...r2, evalFile: 'eval-round-2.jsonl' }, { opens: r2.closes - 5, closes: r2.closes + 40, evalSha256: sha256('set 3') }]);
    await nextEpoch(net);
    expect((await v.runPass()).weights?.status).toBe('set');
    expect(lines.some((l) => /is refused: .*round 3 opens at block \d+, before round 2 closes/.test(l))).toBe(true);
    expect(store.latestCompetition()!.key).toBe(round2Key);

    // after a restart the refusal holds: the revision the state followed last is judged, nothing is redone
    await net.chain.setCommitment({ netuid: NETUID, data: formatCompetitionPointer({ competitionId: '1', repoId: 'flock/competition-1', revision: round1Revision }), signer: net.owner });
    await v.close();
    const { log: restartedLog, lines: restartedLines } = capture();
    const restarted = newValidator(net, stateDir, store, index, { adapters: adapters(), log: restartedLog });
    await nextEpoch(net);
    const again = await restarted.runPass();
    await restarted.close();
    expect(again.weights?.status).toBe('set');
    expect(again.evaluated).toBe(0);
    expect(restartedLines.some((l) => /is refused: round 2 was revealed as eval-round-2\.jsonl and is now sealed again/.test(l))).toBe(true);
    expect(store.latestCompetition()!.key).toBe(round2Key);
    expect(roundOf('fitter').stage).toBe('contamination');
  });
});

describe('validator pass: a sealed round rewritten before its reveal (protocol 2)', () => {
  let net: TestSubnet;
  let store: ValidatorStore;
  let index: FingerprintIndex;
  afterAll(async () => {
    index?.close();
    store?.close();
    await net?.close();
  });

  it('is refused by a validator that never saw the sealed revision (the hub history says so); a missing revealed file is a reason, not a crash', async () => {
    net = await startSubnet({ tempo: 30, weightsRateLimit: 1, competition: { protocol: 2 } });
    const ownerRevision = await ownerRevisions(net);
    const setA = toJsonl(taskRows(12, 101));
    const setB = toJsonl(taskRows(12, 102));
    const r1 = { opens: net.dev.bestNumber() + 2, closes: net.dev.bestNumber() + 30, evalSha256: sha256(setA) };
    await ownerRevision([r1]);
    const miner = await net.register('m');
    await net.commit(miner, commitmentOf('m', await net.publish('m', toJsonl(taskRows(24, 7)))));
    await net.dev.produceBlocks(r1.closes - net.dev.bestNumber());
    // the owner swaps round 1's set and stretches its window, revealing the new set in the same revision
    await ownerRevision([{ opens: r1.opens, closes: r1.closes + 10, evalSha256: sha256(setB), evalFile: 'eval-b.jsonl' }], [{ path: 'eval-b.jsonl', content: setB }]);

    const stateDir = join(net.root, 'state');
    store = openStore(join(stateDir, 'validator.sqlite'));
    index = FingerprintIndex.open(join(stateDir, 'fingerprints.sqlite'));
    const v = newValidator(net, stateDir, store, index);
    await expect(v.runPass()).rejects.toThrow(/is refused: against the competition's history on the hub: round 1's window changed/);
    expect(store.latestCompetition()).toBeUndefined();

    // the committed round revealed, but the file not uploaded: a reason, the validator waits
    await ownerRevision([{ ...r1, evalFile: 'eval-round-1.jsonl' }]);
    await expect(v.runPass()).rejects.toThrow(/round 1's revealed evaluation set eval-round-1\.jsonl at \S+ cannot be read \(File eval-round-1\.jsonl not found[\s\S]*\): refused/);
    // then uploaded: round 1 is scored
    await ownerRevision([{ ...r1, evalFile: 'eval-round-1.jsonl' }], [{ path: 'eval-round-1.jsonl', content: setA }]);
    await nextEpoch(net);
    const pass = await v.runPass();
    expect(pass.weights?.status).toBe('set');
    expect(store.latestCompetition()!.key).toMatch(/^1@round-1:/);
    expect(store.latestRound()!.perUid.find((u) => u.uid === miner.uid)!.weight).toBeGreaterThan(0);
    await v.close();
  });
});

async function writeTemp(content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flock-set-'));
  const path = join(dir, 'set.jsonl');
  await writeFile(path, content);
  return path;
}
