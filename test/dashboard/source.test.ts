/**
 * The dashboard's background reader against an in-memory chain and hub: it reads the metagraph,
 * the owner's competition and every validator's signed results; re-reads a results repo only when
 * its head moved and keeps the rounds it saw; reads the rounds published before it started in the
 * background, each revision once; keeps a refused document's reason beside the last
 * verified one; and when the chain or the hub stops answering keeps what it knew, stale since then.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { keypairFromUri, signResults, type WalletKeypair } from '../../src/chain/index.js';
import { DashboardSource, historyEntry, zeroReason } from '../../src/dashboard/source.js';
import { formatCompetitionPointer, formatResultsPointer, formatSignedResults, RESULTS_FILE, type ResultsDocument } from '../../src/protocol/index.js';
import { sampleDocument } from '../protocol/results-fixture.js';
import { HubUnavailableError } from '../../src/hub/errors.js';
import { FakeChain, FakeHub } from './fakes.js';

const COMPETITION = { protocol: 1, id: '1', title: 'tests', baseModel: { repo: 'flock/tiny', revision: 'b'.repeat(40) }, recipe: { epochs: 2 } };

describe('DashboardSource', () => {
  let chain: FakeChain;
  let hub: FakeHub;
  let owner: WalletKeypair, validator: WalletKeypair, miner: WalletKeypair;
  let clock: number;
  const source = () => new DashboardSource({ chain: chain.asChain(), hub: hub.asHub(), netuid: 1, now: () => clock });

  function doc(round: number, weight: number): ResultsDocument {
    const base = sampleDocument({ validator: validator.address, netuid: 1, round, block: 90 + round });
    return { ...base, uids: [{ ...base.uids[0]!, uid: 2, hotkey: miner.address, weight }, { ...base.uids[1]!, uid: 1, hotkey: validator.address }] };
  }
  async function publish(round: number, weight: number, alter = false): Promise<string> {
    const signed = await signResults(doc(round, weight), validator.pair!);
    if (alter) signed.document.uids[0]!.weight = 0.99;
    return hub.commit('validators/results', { [RESULTS_FILE]: formatSignedResults(signed) });
  }

  beforeEach(async () => {
    [owner, validator, miner] = await Promise.all(['//Alice', '//Alice//v', '//Alice//m'].map((u) => keypairFromUri(u)));
    clock = 1_000_000;
    chain = new FakeChain();
    hub = new FakeHub();
    chain.owner = owner.address;
    chain.neurons = [{ hotkey: owner.address }, { hotkey: validator.address, stake: 1000, permit: true }, { hotkey: miner.address, incentive: 0.75, emission: 3 }];
    const compRev = hub.commit('flock/competition-1', { 'competition.json': JSON.stringify(COMPETITION) });
    chain.commitments.set(owner.address, formatCompetitionPointer({ competitionId: '1', repoId: 'flock/competition-1', revision: compRev }));
    chain.commitments.set(validator.address, formatResultsPointer({ repoId: 'validators/results' }));
    chain.commitments.set(miner.address, `miners/good:1:${'c'.repeat(40)}`);
  });

  it('reads the chain, the competition and each validator\'s verified results', async () => {
    await publish(1, 0.6);
    const s = source();
    await s.refresh({ results: true });
    const snap = s.snapshot;
    expect(snap.complete).toBe(true);
    expect(snap.version).toBe(1);
    expect(snap.chain!.metagraph.incentive).toEqual([0, 0, 0.75]);
    expect(snap.competition.competition).toMatchObject({ id: '1', title: 'tests', recipe: { epochs: 2 } });
    expect(snap.competition.pointer?.repoId).toBe('flock/competition-1');
    const r = snap.results.get(validator.address)!;
    expect(r.latest?.document.round).toBe(1);
    expect(r.problem).toBeNull();
    expect(snap.results.has(miner.address)).toBe(false); // a miner's commitment is no results pointer
    expect(snap.incentive.get(miner.address)).toEqual([{ block: 100, incentive: 0.75, emission: 3 }]);
  });

  it('re-reads a results repo only when its head moved, and keeps the rounds it saw', async () => {
    await publish(1, 0.6);
    const s = source();
    await s.refresh({ results: true });
    await s.historyIdle();
    const [downloads, lists, version] = [hub.requests.download, hub.requests.list, s.snapshot.version];
    await s.refresh({ results: true });
    await s.historyIdle();
    expect([hub.requests.download, hub.requests.list]).toEqual([downloads, lists]); // head unchanged: nothing downloaded or listed
    expect(s.snapshot.version).toBe(version); // nothing changed that a page shows
    await publish(2, 0.4);
    await s.refresh({ results: true });
    await s.historyIdle();
    const r = s.snapshot.results.get(validator.address)!;
    expect(r.latest?.document.round).toBe(2);
    expect(r.history.map((h) => h.round)).toEqual([2, 1]);
    expect(Array.from(r.history[1]!.weight)).toEqual([0.6, 0]);
    expect(r.history[1]!.hotkeys).toEqual([miner.address, validator.address]);
    expect(hub.requests.download).toBe(downloads + 1); // the new round once; the listing knows it
    expect(s.snapshot.version).toBeGreaterThan(version);
  });

  it('reads the rounds published before it started, each revision once, with the reasons for refused ones', async () => {
    const first = await publish(1, 0.6);
    const altered = await publish(2, 0.5, true);
    hub.commit('validators/results', { 'README.md': 'no results here' });
    const third = await publish(3, 0.4);
    const s = source();
    // the listing waits until the test lets it go: the latest round is there before it
    const list = hub.listCommits.bind(hub);
    let release!: () => void;
    const gate = new Promise<void>((ok) => (release = ok));
    hub.listCommits = async (p) => { await gate; return list(p); };
    const downloads = hub.requests.download;
    await s.refresh({ results: true });
    const atStart = s.snapshot.results.get(validator.address)!;
    expect(atStart.history.map((h) => h.revision)).toEqual([third]);
    expect(atStart.historyListed).toBe(false);
    release();
    await s.historyIdle();
    const r = s.snapshot.results.get(validator.address)!;
    expect(r.historyListed).toBe(true);
    expect(r.historyProblem).toBeNull();
    expect(r.history.map((h) => [h.revision, h.round])).toEqual([[third, 3], [first, 1]]);
    expect(r.refusedRounds).toEqual([{ revision: altered, date: expect.any(String), reason: expect.stringMatching(/signature does not match/) }]);
    // competition.json and the latest round, then rounds 1 and 2 and the commit without results (round 3 was known)
    expect(hub.requests.download - downloads).toBe(5);
    // later refreshes read only what is new
    const fourth = await publish(4, 0.3);
    await s.refresh({ results: true });
    await s.historyIdle();
    expect(s.snapshot.results.get(validator.address)!.history.map((h) => h.revision)).toEqual([fourth, third, first]);
    expect(hub.requests.download - downloads).toBe(6);
  });

  it('keeps the last historyRounds revisions, and retries earlier rounds the hub would not give', async () => {
    for (let round = 1; round <= 5; round++) await publish(round, 0.1 * round);
    const s = new DashboardSource({ chain: chain.asChain(), hub: hub.asHub(), netuid: 1, now: () => clock, historyRounds: 3 });
    const download = hub.downloadFile.bind(hub);
    let failing = true;
    hub.downloadFile = async (p) => {
      if (failing && p.revision !== hub.repos.get('validators/results')!.at(-1)!.revision && p.path === RESULTS_FILE) throw new HubUnavailableError('the hub dropped the connection');
      return download(p);
    };
    await s.refresh({ results: true });
    await s.historyIdle();
    let r = s.snapshot.results.get(validator.address)!;
    expect(r.history.map((h) => h.round)).toEqual([5]);
    expect(r.historyProblem).toMatch(/some earlier rounds could not be read .*the hub dropped the connection/);
    failing = false;
    await s.refresh({ results: true });
    await s.historyIdle();
    r = s.snapshot.results.get(validator.address)!;
    expect(r.history.map((h) => h.round)).toEqual([5, 4, 3]);
    expect(r.historyProblem).toBeNull();
  });

  it('keeps the last verified results beside the reason a newer file is refused', async () => {
    const good = await publish(1, 0.6);
    const s = source();
    await s.refresh({ results: true });
    const bad = await publish(2, 0.4, true);
    clock += 5000;
    await s.refresh({ results: true });
    const r = s.snapshot.results.get(validator.address)!;
    expect(r.latest?.revision).toBe(good);
    expect(r.problem).toMatchObject({ revision: bad, since: clock, reason: expect.stringMatching(/signature does not match/) });
  });

  it('when the hub goes away it keeps the results, stale since then, and recovers', async () => {
    await publish(1, 0.6);
    const s = source();
    await s.refresh({ results: true });
    hub.down = true;
    clock += 60_000;
    const away = clock;
    await s.refresh({ results: true });
    clock += 60_000;
    await s.refresh({ results: true });
    expect(s.snapshot.stale.hub).toMatchObject({ since: away, reason: expect.stringMatching(/does not answer/) });
    expect(s.snapshot.results.get(validator.address)!.latest?.document.round).toBe(1);
    hub.down = false;
    await s.refresh({ results: true });
    expect(s.snapshot.stale.hub).toBeNull();
  });

  it('when the chain goes away it keeps the last metagraph, stale since then, and recovers', async () => {
    await publish(1, 0.6);
    const s = source();
    await s.refresh({ results: true });
    chain.down = true;
    clock += 12_000;
    const away = clock;
    await s.historyIdle();
    const before = s.snapshot.version;
    await s.refresh({ results: false });
    expect(s.snapshot.stale.chain).toMatchObject({ since: away, reason: expect.stringMatching(/cannot reach the chain/) });
    expect(s.snapshot.chain!.metagraph.block.number).toBe(100);
    expect(s.snapshot.version).toBe(before + 1);
    chain.down = false;
    chain.block = 105;
    await s.refresh({ results: false });
    expect(s.snapshot.stale.chain).toBeNull();
    expect(s.snapshot.chain!.metagraph.block.number).toBe(105);
  });

  it('follows new blocks and tells its listeners', async () => {
    await publish(1, 0.6);
    const s = source();
    const seen: number[] = [];
    s.onChange((snap) => seen.push(snap.chain?.metagraph.block.number ?? -1));
    await s.start();
    await s.historyIdle();
    chain.newBlock();
    await s.refresh({ results: false }); // waits for the refresh the block started
    await s.close();
    expect(seen).toEqual([100, 100, 101]); // the first read, its earlier rounds, the new block
  });

  it('says why the competition cannot be shown', async () => {
    const rev = hub.commit('flock/competition-1', { 'competition.json': '{"protocol": 9}' });
    chain.commitments.set(owner.address, formatCompetitionPointer({ competitionId: '1', repoId: 'flock/competition-1', revision: rev }));
    const s = source();
    await s.refresh({ results: true });
    expect(s.snapshot.competition.problem).toMatch(/protocol/);
    chain.commitments.delete(owner.address);
    await s.refresh({ results: true });
    expect(s.snapshot.competition.problem).toMatch(/no competition pointer/);
  });
});

describe('historyEntry and zeroReason', () => {
  it('keep per uid the loss, the weight and the reason for a zero', () => {
    const d = sampleDocument();
    const shared = new Map(d.uids.map((u) => [u.hotkey, `${u.hotkey}`]));
    const e = historyEntry('f'.repeat(40), d, (h) => shared.get(h)!);
    expect(Array.from(e.uids)).toEqual(d.uids.map((u) => u.uid));
    expect(e.hotkeys).toEqual(d.uids.map((u) => u.hotkey));
    expect(e.hotkeys[0]).toBe(shared.get(d.uids[0]!.hotkey)); // the interned text
    expect(e.evalLoss[0]).toBe(d.uids[0]!.evalLoss);
    expect(Number.isNaN(e.evalLoss[1])).toBe(true);
    expect(e.reasons.get(d.uids[1]!.uid)).toBe(`${d.uids[1]!.stage}: ${d.uids[1]!.reason}`);
    expect(e.reasons.has(d.uids[0]!.uid)).toBe(false);
  });

  it('does not repeat a stage the reason already names', () => {
    expect(zeroReason('copy', 'copy: of uid 3')).toBe('copy: of uid 3');
    expect(zeroReason('copy', 'of uid 3')).toBe('copy: of uid 3');
    expect(zeroReason(null, null)).toBeNull();
  });
});
