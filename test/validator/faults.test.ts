/**
 * Faults the validator must ride out, against a devnet (state on disk, restartable) and a local
 * hub: weight transactions left pending by a crash (landed or not), the hub down, the chain down,
 * a recycled uid / a commitment older than its hotkey's registration, and a hub serving content
 * that does not match the commit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startDevnet } from '../../src/chain/devnet/index.js';
import { SubtensorChain } from '../../src/chain/index.js';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { FingerprintIndex } from '../../src/dataset/index.js';
import { HubClient } from '../../src/hub/index.js';
import { formatCommitment } from '../../src/protocol/index.js';
import { createLogger, silentLogger, type Logger } from '../../src/util/log.js';
import { BASE_EVALUATION, competitionKey, openStore, type ValidatorStore } from '../../src/validator/store.js';
import { Validator, type ValidatorOptions } from '../../src/validator/validator.js';
import { PENDING_GRACE_BLOCKS, weightWindow } from '../../src/validator/weights.js';
import { runSql } from '../helpers/sqlite.js';
import { NETUID, startSubnet, taskRows, toJsonl, type TestSubnet } from './subnet.js';

const backend = new CpuBackend({ threads: 1 });
afterAll(() => backend.dispose());

// what reaches the console itself, around whatever the chain client routes (library-logs.ts)
const rawConsole: unknown[][] = [];
const consoleError = console.error;
console.error = (...args: unknown[]) => {
  rawConsole.push(args);
  consoleError(...args);
};
afterAll(() => { console.error = consoleError; });

function validatorFor(
  net: TestSubnet, store: ValidatorStore, index: FingerprintIndex,
  o: { chain?: SubtensorChain; log?: Logger; blockSeconds?: number; hub?: HubClient; integrity?: ValidatorOptions['integrity'] } = {},
): Validator {
  return new Validator({
    chain: o.chain ?? net.chain, hub: o.hub ?? net.validatorHub(join(net.root, 'state', 'cache')), store, index, netuid: NETUID, signer: net.owner, backend,
    log: o.log ?? silentLogger, blockSeconds: o.blockSeconds ?? 12, retryBaseMs: 200, maxBackoffMs: 500, pollMs: 10, integrity: o.integrity,
  });
}

/** The validator's state DB and copy index under the subnet's folder. */
function openState(net: TestSubnet): { store: ValidatorStore; index: FingerprintIndex } {
  return { store: openStore(join(net.root, 'state', 'validator.sqlite')), index: FingerprintIndex.open(join(net.root, 'state', 'fingerprints.sqlite')) };
}

async function closeAll(net?: TestSubnet, store?: ValidatorStore, index?: FingerprintIndex): Promise<void> {
  index?.close();
  store?.close();
  await net?.close();
}

async function nextWindow(net: TestSubnet): Promise<void> {
  const info = await net.chain.subnetInfo({ netuid: NETUID });
  await net.dev.produceBlocks(info.nextEpochBlock - info.block.number + 1);
}

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: createLogger({ level: 'info', stream: { write: (l: string) => lines.push(l) } }) };
}

describe('validator faults: pending weights, hub down, chain down', () => {
  let net: TestSubnet;
  let store: ValidatorStore;
  let index: FingerprintIndex;

  beforeAll(async () => {
    net = await startSubnet({ tempo: 30, weightsRateLimit: 2, persistentChain: true });
    ({ store, index } = openState(net));
    const a = await net.register('a');
    await net.commit(a, formatCommitment({ repoId: 'miners/a', competitionId: '1', revision: await net.publish('a', toJsonl(taskRows(16, 7))) }));
    const first = await validatorFor(net, store, index).runPass();
    expect(first.weights?.status).toBe('set');
  });
  afterAll(() => closeAll(net, store, index));

  it('a weight transaction left pending by a crash that did land is resolved from the chain, not sent again', async () => {
    await nextWindow(net);
    const info = await net.chain.subnetInfo({ netuid: NETUID });
    const window = weightWindow(info);
    // the crash: window claimed, transaction sent, process gone before recording the outcome
    const claim = store.claimWeightWindow({ netuid: NETUID, window, uids: [1], weights: [65535] });
    expect(claim.claimed).toBe(true);
    store.setWeightTransactionClaimBlock(claim.transaction.id, info.block.number);
    const landed = await net.chain.setWeights({ netuid: NETUID, uids: [1], weights: [1], versionKey: 0, signer: net.owner });

    const pass = await validatorFor(net, store, index).runPass();
    expect(pass.weights?.status).toBe('already_set');
    const txs = store.weightTransactions().filter((t) => t.window === window);
    expect(txs).toHaveLength(1);
    expect(txs[0]).toMatchObject({ status: 'included', block: landed.blockNumber });
  });

  it('a pending transaction that never landed is declared lost after a grace period and weights are set again in that window', async () => {
    await nextWindow(net);
    const info = await net.chain.subnetInfo({ netuid: NETUID });
    const window = weightWindow(info);
    const claim = store.claimWeightWindow({ netuid: NETUID, window, uids: [1], weights: [65535] });
    store.setWeightTransactionClaimBlock(claim.transaction.id, info.block.number);
    await net.dev.produceBlocks(PENDING_GRACE_BLOCKS + 1);

    const pass = await validatorFor(net, store, index).runPass();
    expect(pass.weights?.status).toBe('set');
    const txs = store.weightTransactions().filter((t) => t.window === window).map((t) => t.status).sort();
    expect(txs).toEqual(['failed', 'included']);
  });

  it('hub down: new datasets wait (no zero), finished work stays; when the hub is back they are evaluated', async () => {
    const b = await net.register('b');
    await net.commit(b, formatCommitment({ repoId: 'miners/b', competitionId: '1', revision: await net.publish('b', toJsonl(taskRows(16, 99))) }));
    const key = store.latestRound()!.competitionKey;
    const doneBefore = store.listEvaluations(key, 'done').map((e) => [e.datasetIdentity, e.finishedAt]);
    await net.hub.close();
    await nextWindow(net);

    // a restarted validator (nothing in memory): the competition and model come from the cache
    const { log, lines } = capture();
    const down = await validatorFor(net, store, index, { log }).runPass();
    expect(down.evaluated).toBe(0);
    expect(down.weights?.status).toBe('set');
    expect(lines.join('')).toMatch(/uid 2: hub unavailable, dataset will be fetched later/);
    const bRow = store.latestRound()!.perUid.find((u) => u.uid === b.uid)!;
    expect(bRow).toMatchObject({ stage: 'not_evaluated', weight: 0 });
    expect(store.listEvaluations(key, 'done').map((e) => [e.datasetIdentity, e.finishedAt])).toEqual(doneBefore);

    await net.restartHub();
    await nextWindow(net);
    const up = await validatorFor(net, store, index).runPass();
    expect(up.evaluated).toBe(1);
    expect(store.listEvaluations(key, 'done')).toHaveLength(doneBefore.length + 1);
    expect(store.listEvaluations(key).every((e) => e.attempts === 1)).toBe(true);
  });

  it('near the end of the window it sets weights before training more', async () => {
    await nextWindow(net);
    const c = await net.register('c');
    await net.commit(c, formatCommitment({ repoId: 'miners/c', competitionId: '1', revision: await net.publish('c', toJsonl(taskRows(16, 5))) }));
    const info = await net.chain.subnetInfo({ netuid: NETUID });
    await net.dev.produceBlocks(info.nextEpochBlock - info.block.number - 2); // two blocks left
    const pass = await validatorFor(net, store, index).runPass();
    expect(pass.evaluated).toBe(1);
    const key = store.latestRound()!.competitionKey;
    const tx = store.weightTransactions()[0]!;
    expect(tx).toMatchObject({ status: 'included', window: weightWindow(info) });
    const cEval = store.listEvaluations(key, 'done').sort((x, y) => y.finishedAt! - x.finishedAt!)[0]!;
    expect(tx.updatedAt).toBeLessThanOrEqual(cEval.finishedAt!);
    // the round it set had c still queued
    expect(store.latestRound()!.perUid.find((u) => u.uid === c.uid)).toMatchObject({ stage: 'not_evaluated', weight: 0 });
  });

  it('chain down: the loop backs off and retries until the node is back, keeping finished work', async () => {
    const key = store.latestRound()!.competitionKey;
    const doneBefore = store.listEvaluations(key, 'done').map((e) => [e.datasetIdentity, e.finishedAt]);
    await nextWindow(net);
    const chain = await SubtensorChain.connect({ endpoint: net.dev.url, connectTimeoutMs: 800, timeoutMs: 2000, txTimeoutMs: 20_000 });
    try {
      const port = net.dev.port;
      await net.dev.close();
      const { log, lines } = capture();
      const running = validatorFor(net, store, index, { chain, log }).run({ once: true, maxRetries: 40 });
      await new Promise((r) => setTimeout(r, 2500));
      net.dev = await startDevnet({ port, dir: join(net.root, 'chain'), blockTimeMs: 0 });
      const passes = await running;
      expect(passes).toHaveLength(1);
      expect(passes[0]!.weights?.status).toBe('set');
      expect(lines.join('')).toMatch(/retrying in/);
      expect(store.listEvaluations(key, 'done').map((e) => [e.datasetIdentity, e.finishedAt])).toEqual(doneBefore);
    } finally {
      await chain.close();
    }
  });

  it('chain down mid-pass: queued evaluations go on, weights wait for the node; one log line when it drops, one when it is back', async () => {
    const key = store.latestRound()!.competitionKey;
    for (const [name, seed] of [['d1', 301], ['d2', 302], ['d3', 303]] as const) {
      const m = await net.register(name);
      await net.commit(m, formatCommitment({ repoId: `miners/${name}`, competitionId: '1', revision: await net.publish(name, toJsonl(taskRows(24, seed))) }));
    }
    await nextWindow(net);
    const { log, lines } = capture();
    const rawBefore = rawConsole.length;
    const chain = await SubtensorChain.connect({ endpoint: net.dev.url, connectTimeoutMs: 800, timeoutMs: 2000, txTimeoutMs: 20_000, retryDelayMs: 100, log });
    try {
      const port = net.dev.port;
      // a short block time: the block number goes stale between evaluations, so the loop asks the node after each one
      const running = validatorFor(net, store, index, { chain, log, blockSeconds: 0.1 }).run({ once: true, maxRetries: 40 });
      // the node goes away once the first of the new datasets has been evaluated
      const started = Date.now();
      while (!lines.some((l) => /evaluated uid/.test(l)) && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 20));
      await net.dev.close();
      const downAt = Date.now();
      // every queued dataset is trained while the node is away (a validator that waited for the node would stop here)
      while (store.queueLength(key) > 0 && Date.now() - downAt < 30_000) await new Promise((r) => setTimeout(r, 50));
      expect(store.queueLength(key)).toBe(0);
      const upAt = Date.now();
      const trainedWhileDown = store.listEvaluations(key, 'done').filter((e) => e.finishedAt! >= downAt && e.finishedAt! <= upAt);
      expect(trainedWhileDown.length).toBeGreaterThanOrEqual(1);
      await new Promise((r) => setTimeout(r, 2500)); // longer than the client waits for a reconnect: scoring fails and is retried
      net.dev = await startDevnet({ port, dir: join(net.root, 'chain'), blockTimeMs: 0 });
      const passes = await running;
      expect(passes.at(-1)!.weights?.status).toBe('set');
      expect(store.listEvaluations(key, 'queued')).toHaveLength(0);
      const text = lines.join('');
      expect(text.match(/lost the connection to ws:/g)).toHaveLength(1);
      expect(text.match(/the connection to ws:\S+ is back/g)).toHaveLength(1);
      expect(text.match(/weights wait for it; queued evaluations go on/g)).toHaveLength(1);
      // @polkadot's own console lines (API-WS: disconnected …) stay out of the operator's log
      expect(rawConsole.slice(rawBefore).filter((a) => a.some((x) => typeof x === 'string' && /API-WS/.test(x)))).toEqual([]);
      for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \| /);
    } finally {
      await chain.close();
    }
  });

  it('a dataset gone from the cache and the hub after intake: its evaluation fails with a reason and the loop goes on', async () => {
    const gone = await net.register('gone');
    await net.commit(gone, formatCommitment({ repoId: 'miners/gone', competitionId: '1', revision: await net.publish('gone', toJsonl(taskRows(16, 123))) }));
    await nextWindow(net);
    const first = validatorFor(net, store, index);
    const state = await first.sync(); // taken in and queued, not trained yet
    await first.close();
    const identity = state.commitments.get(gone.hotkey.address)!.submission.datasetIdentity!;
    const key = state.competition.key;
    expect(store.getEvaluation(key, identity)?.status).toBe('queued');

    await net.minerHub.deleteRepo({ repo: 'miners/gone', type: 'dataset' });
    rmSync(join(net.root, 'state', 'cache', 'datasets--miners--gone'), { recursive: true, force: true });
    const { log, lines } = capture();
    const pass = await validatorFor(net, store, index, { log }).runPass(); // a restart: nothing in memory
    expect(pass.weights?.status).toBe('set');
    expect(store.getEvaluation(key, identity)).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^the dataset cannot be read any more: the dataset repo miners\/gone does not exist/) });
    expect(lines.join('')).toMatch(new RegExp(`uid ${gone.uid}: the dataset cannot be read any more`));
    expect(store.latestRound()!.perUid.find((u) => u.uid === gone.uid)).toMatchObject({ weight: 0 });
  });
});

describe('validator faults: recycled uid, commitment older than the registration', () => {
  let net: TestSubnet;
  let store: ValidatorStore;
  let index: FingerprintIndex;

  beforeAll(async () => {
    // three slots (owner + two miners), no immunity: a new registration takes the oldest slot
    net = await startSubnet({ tempo: 200, weightsRateLimit: 2, maxAllowedUids: 3, immunityPeriod: 0 });
    ({ store, index } = openState(net));
  });
  afterAll(() => closeAll(net, store, index));

  it('a new hotkey in a recycled uid starts from zero; a hotkey back with an old commitment scores zero with a reason', async () => {
    const a = await net.register('a');
    const b = await net.register('b');
    await net.commit(a, formatCommitment({ repoId: 'miners/a', competitionId: '1', revision: await net.publish('a', toJsonl(taskRows(16, 7))) }));
    await net.commit(b, formatCommitment({ repoId: 'miners/b', competitionId: '1', revision: await net.publish('b', toJsonl(taskRows(16, 99))) }));
    const first = await validatorFor(net, store, index).runPass();
    expect(first.weights?.status).toBe('set');
    const w1 = new Map(store.latestRound()!.perUid.map((u) => [u.uid, u]));
    expect(w1.get(a.uid)!.weight + w1.get(b.uid)!.weight).toBeCloseTo(1, 9);

    // c takes a's slot (uid 1); a registers again and takes b's slot (uid 2), its old commitment still on chain
    const c = await net.register('c');
    expect(c.uid).toBe(a.uid);
    const again = await net.register('a');
    expect(again.uid).toBe(b.uid);
    await nextWindow(net);

    const second = await validatorFor(net, store, index).runPass();
    expect(second.weights?.status).toBe('set');
    const round = store.latestRound()!;
    const by = new Map(round.perUid.map((u) => [u.uid, u]));
    expect(by.get(c.uid)).toMatchObject({ hotkey: c.hotkey.address, weight: 0, stage: 'no_commitment' });
    expect(by.get(again.uid)).toMatchObject({ hotkey: a.hotkey.address, weight: 0, stage: 'commitment' });
    expect(by.get(again.uid)!.reason).toMatch(/^the commitment \(block \d+\) is not newer than this hotkey's registration \(block \d+\); commit again$/);
    expect(round.burned).toBe(true);
    // nothing was retrained: a's data was evaluated once, in the first round
    expect(store.listEvaluations(round.competitionKey).filter((e) => e.datasetIdentity !== BASE_EVALUATION).every((e) => e.attempts === 1)).toBe(true);
  });
});

describe('validator on a commit-reveal subnet', () => {
  let net: TestSubnet;
  let store: ValidatorStore;
  let index: FingerprintIndex;

  beforeAll(async () => {
    net = await startSubnet({ tempo: 20, weightsRateLimit: 2, commitReveal: true });
    ({ store, index } = openState(net));
  });
  afterAll(() => closeAll(net, store, index));

  it('commits weights in one window and reveals them in the reveal epoch', async () => {
    const a = await net.register('a');
    await net.commit(a, formatCommitment({ repoId: 'miners/a', competitionId: '1', revision: await net.publish('a', toJsonl(taskRows(16, 7))) }));
    const first = await validatorFor(net, store, index).runPass();
    expect(first.weights?.status).toBe('set');
    const commit = store.weightTransactions()[0]!;
    expect(commit).toMatchObject({ kind: 'commit', status: 'included' });
    expect(commit.salt).toHaveLength(8);

    await nextWindow(net);
    await validatorFor(net, store, index).runPass();
    const reveal = store.weightTransactions().find((t) => t.kind === 'reveal')!;
    expect(reveal).toMatchObject({ status: 'included', window: commit.window });
    // the revealed weights are on chain
    const mg = await net.chain.metagraph({ netuid: NETUID });
    expect(mg.lastUpdate[0]).toBe(reveal.block);
  });
});

/**
 * A proxy to the hub that serves changed content — the same size, other bytes, as when an object
 * changed after the commit — for full downloads of `miners/<name>`'s files while `changes` allows
 * (downloads left to change per miner), and counts every full download per miner.
 */
async function startChangingProxy(target: string): Promise<{ url: string; changes: Map<string, number>; downloads: Map<string, number>; close(): Promise<void> }> {
  const changes = new Map<string, number>();
  const downloads = new Map<string, number>();
  const server = createServer((req, res) => {
    const miner = /^\/datasets\/miners\/([^/]+)\/resolve\//.exec(req.url ?? '')?.[1];
    const full = miner !== undefined && req.method === 'GET' && !req.headers.range;
    if (full) downloads.set(miner, (downloads.get(miner) ?? 0) + 1);
    const change = full && (changes.get(miner) ?? 0) > 0;
    if (change) changes.set(miner, changes.get(miner)! - 1);
    const upstream = httpRequest(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (up) => {
      if (!change) {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        res.end(changed(Buffer.concat(chunks).toString()));
      });
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`, changes, downloads,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** The content the changing proxy serves instead of `content` (same length). */
const changed = (content: string) => content.replace(/say /g, 'SAY ');
/** A git blob's id: what the hub announces for a file under 1 MiB. */
const gitBlobSha = (content: string) => createHash('sha1').update(`blob ${Buffer.byteLength(content)}\0${content}`).digest('hex');

describe('validator faults: a hub serving content that does not match the commit', () => {
  let net: TestSubnet;
  let store: ValidatorStore;
  let index: FingerprintIndex;
  let proxy: Awaited<ReturnType<typeof startChangingProxy>>;
  const integrity = { maxAttempts: 3, backoffMs: 60_000 };
  const cacheDir = () => join(net.root, 'state', 'cache');
  /** A restarted validator (nothing in memory) reaching the hub through the proxy. */
  const validator = (log?: Logger) => validatorFor(net, store, index, { hub: new HubClient({ hubUrl: proxy.url, cacheDir: cacheDir(), retries: 0, timeoutMs: 5000 }), integrity, log });
  /** As if the wait after every failed download had passed. */
  const waitBackoff = () => runSql(store.file, `UPDATE hub_integrity_failures SET last_failed_at = last_failed_at - 3600000`);
  const reasonOf = (uid: number) => store.latestSubmissions().find((s) => s.uid === uid)!.reason;

  beforeAll(async () => {
    net = await startSubnet({ tempo: 30, weightsRateLimit: 2 });
    ({ store, index } = openState(net));
    proxy = await startChangingProxy(net.hub.url);
  });
  afterAll(async () => {
    await proxy?.close();
    await closeAll(net, store, index);
  });

  it('content that never matches: three downloads with waits between them (across a restart), then a zero naming the file and both hashes, and no download after', async () => {
    const content = toJsonl(taskRows(16, 7));
    const m = await net.register('changing');
    const revision = await net.publish('changing', content);
    await net.commit(m, formatCommitment({ repoId: 'miners/changing', competitionId: '1', revision }));
    proxy.changes.set('changing', Infinity);
    const mismatch = `data.jsonl at miners/changing@${revision.slice(0, 12)} does not match its commit: expected git-sha1:${gitBlobSha(content)}, the hub served git-sha1:${gitBlobSha(changed(content))}`;

    const { log, lines } = capture();
    await validator(log).runPass();
    expect(proxy.downloads.get('changing')).toBe(1);
    expect(store.hubIntegrityFailure('miners/changing', revision, 'data.jsonl')).toMatchObject({ attempts: 1 });
    expect(reasonOf(m.uid)).toBeNull();
    expect(lines.join('')).toContain(`uid ${m.uid}: ${mismatch} (download 1 of 3; trying again later) nextDownloadIn="60 s"`);
    // the round says why it scores 0 meanwhile
    expect(store.latestRound()!.perUid.find((u) => u.uid === m.uid)).toMatchObject({ weight: 0, stage: 'evaluation', reason: `${mismatch} (download 1 of 3; trying again later)` });

    // not due again yet: no download
    await validator().runPass();
    expect(proxy.downloads.get('changing')).toBe(1);

    // the count survives a restart of the whole validator, state file included
    store.close();
    store = openStore(join(net.root, 'state', 'validator.sqlite'));
    waitBackoff();
    await validator().runPass();
    expect(proxy.downloads.get('changing')).toBe(2);
    expect(reasonOf(m.uid)).toBeNull();

    waitBackoff();
    await validator().runPass();
    expect(proxy.downloads.get('changing')).toBe(3);
    expect(reasonOf(m.uid)).toBe(`${mismatch} (3 downloads, none matched)`);

    // never downloaded again; the round gives it a zero with that reason
    waitBackoff();
    await nextWindow(net);
    const pass = await validator().runPass();
    expect(pass.weights?.status).toBe('set');
    expect(proxy.downloads.get('changing')).toBe(3);
    expect(store.latestRound()!.perUid.find((u) => u.uid === m.uid)).toMatchObject({ weight: 0, stage: 'dataset', reason: `${mismatch} (3 downloads, none matched)` });
  });

  it('content that matches on the next download: the dataset is evaluated, nothing held against it', async () => {
    const m = await net.register('healing');
    const revision = await net.publish('healing', toJsonl(taskRows(16, 99)));
    await net.commit(m, formatCommitment({ repoId: 'miners/healing', competitionId: '1', revision }));
    proxy.changes.set('healing', 1);

    const { log, lines } = capture();
    const first = await validator(log).runPass();
    expect(first.evaluated).toBe(0);
    expect(proxy.downloads.get('healing')).toBe(1);
    // a mismatch, counted, not an outage
    expect(lines.join('')).toMatch(new RegExp(`uid ${m.uid}: data\\.jsonl at miners/healing@[0-9a-f]{12} does not match its commit: .*\\(download 1 of 3; trying again later\\)`));
    expect(lines.join('')).not.toContain('hub unavailable');
    expect(store.hubIntegrityFailure('miners/healing', revision, 'data.jsonl')).toMatchObject({ attempts: 1 });

    waitBackoff();
    const second = await validator().runPass();
    expect(second.evaluated).toBe(1);
    expect(proxy.downloads.get('healing')).toBe(2);
    expect(store.hubIntegrityFailure('miners/healing', revision, 'data.jsonl')).toBeUndefined();
    const identity = store.latestSubmissions().find((s) => s.uid === m.uid)!.datasetIdentity!;
    const competition = store.latestCompetition()!;
    expect(store.getEvaluation(competitionKey(competition.id, competition.revision), identity)).toMatchObject({ status: 'done', attempts: 1 });
    expect(reasonOf(m.uid)).toBeNull();
  });

  it('on the re-read at evaluation time: the evaluation waits for the next download, is evaluated when it matches, and fails with the reason when none does', async () => {
    const contents = { rereadBad: toJsonl(taskRows(16, 123)), rereadHeals: toJsonl(taskRows(16, 321)) };
    const miners = { rereadBad: await net.register('rereadBad'), rereadHeals: await net.register('rereadHeals') };
    const revisions: Record<string, string> = {};
    for (const name of ['rereadBad', 'rereadHeals'] as const) {
      revisions[name] = await net.publish(name, contents[name]);
      await net.commit(miners[name], formatCommitment({ repoId: `miners/${name}`, competitionId: '1', revision: revisions[name]! }));
    }
    const intake = validator();
    const state = await intake.sync(); // taken in and queued, not trained
    await intake.close();
    const key = state.competition.key;
    const identity = (name: keyof typeof miners) => state.commitments.get(miners[name].hotkey.address)!.submission.datasetIdentity!;
    expect(store.getEvaluation(key, identity('rereadBad'))?.status).toBe('queued');
    expect(store.getEvaluation(key, identity('rereadHeals'))?.status).toBe('queued');

    // gone from the cache; the hub now serves both changed
    for (const name of Object.keys(miners)) rmSync(join(cacheDir(), `datasets--miners--${name}`), { recursive: true, force: true });
    proxy.changes.set('rereadBad', Infinity);
    proxy.changes.set('rereadHeals', Infinity);
    const waiting = (n: number) => expect.stringMatching(new RegExp(`^data\\.jsonl at miners/\\w+@[0-9a-f]{12} does not match its commit: expected git-sha1:[0-9a-f]{40}, the hub served git-sha1:[0-9a-f]{40} \\(download ${n} of 3; trying again later\\)$`));
    await validator().runPass();
    expect(store.getEvaluation(key, identity('rereadBad'))).toMatchObject({ status: 'failed', reason: waiting(1) });
    expect(store.getEvaluation(key, identity('rereadHeals'))).toMatchObject({ status: 'failed', reason: waiting(1) });
    const downloads = proxy.downloads.get('rereadBad')!;

    // not due again yet: no download, nothing trained
    const idle = await validator().runPass();
    expect(idle.evaluated).toBe(0);
    expect(proxy.downloads.get('rereadBad')).toBe(downloads);

    // the next download of one matches: back in the queue and evaluated in that pass
    proxy.changes.set('rereadHeals', 0);
    waitBackoff();
    const healed = await validator().runPass();
    expect(healed.evaluated).toBe(1);
    expect(store.getEvaluation(key, identity('rereadHeals'))).toMatchObject({ status: 'done' });
    expect(store.getEvaluation(key, identity('rereadBad'))).toMatchObject({ status: 'failed', reason: waiting(2) });

    waitBackoff();
    await validator().runPass();
    const final = `data.jsonl at miners/rereadBad@${revisions['rereadBad']!.slice(0, 12)} does not match its commit: expected git-sha1:${gitBlobSha(contents.rereadBad)}, ` +
      `the hub served git-sha1:${gitBlobSha(changed(contents.rereadBad))} (3 downloads, none matched)`;
    expect(store.getEvaluation(key, identity('rereadBad'))).toMatchObject({ status: 'failed', reason: final });
    const after = proxy.downloads.get('rereadBad')!;

    waitBackoff();
    await nextWindow(net);
    const pass = await validator().runPass();
    expect(pass.weights?.status).toBe('set');
    expect(proxy.downloads.get('rereadBad')).toBe(after);
    expect(store.latestRound()!.perUid.find((u) => u.uid === miners.rereadBad.uid)).toMatchObject({ weight: 0, stage: 'evaluation', reason: final });
  });
});
