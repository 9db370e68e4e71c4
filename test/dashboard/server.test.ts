/**
 * The dashboard's HTTP server over an in-memory chain and hub: every page answers from the
 * snapshot with a Content-Security-Policy that forbids inline script; text a miner controls is
 * escaped on every page; `?partial=1` gives the parts a live page swaps in; `/events` announces
 * each new version; unknown pages are 404 and other methods 405. A competition in sealed rounds
 * shows its schedule at the chain's block (the leaderboard the open round); a malformed or huge
 * competition.json is a reason on the page.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keypairFromUri, signResults } from '../../src/chain/index.js';
import { DashboardSource } from '../../src/dashboard/source.js';
import { startDashboardServer, type DashboardServer } from '../../src/dashboard/server.js';
import { COMPETITION_FILE_MAX_BYTES, formatCompetitionPointer, formatResultsPointer, formatSignedResults, RESULTS_FILE } from '../../src/protocol/index.js';
import { SCHEDULE_ROWS } from '../../src/dashboard/page-competition.js';
import { sampleDocument } from '../protocol/results-fixture.js';
import { FakeChain, FakeHub } from './fakes.js';

const HOSTILE = '<img src=x onerror=alert(1)></script>';

describe('dashboard server', () => {
  const chain = new FakeChain();
  const hub = new FakeHub();
  let source: DashboardSource;
  let server: DashboardServer;
  let refusedRevision: string;

  beforeAll(async () => {
    const [owner, validator, miner] = await Promise.all(['//Alice', '//Alice//v', '//Alice//m'].map((u) => keypairFromUri(u)));
    chain.owner = owner.address;
    chain.neurons = [{ hotkey: owner.address }, { hotkey: validator.address, stake: 10, permit: true }, { hotkey: miner.address, incentive: 0.5 }];
    const compRev = hub.commit('flock/competition-1', { 'competition.json': JSON.stringify({ protocol: 1, id: '1', title: HOSTILE, baseModel: { repo: 'flock/tiny', revision: 'b'.repeat(40) } }) });
    chain.commitments.set(owner.address, formatCompetitionPointer({ competitionId: '1', repoId: 'flock/competition-1', revision: compRev }));
    chain.commitments.set(validator.address, formatResultsPointer({ repoId: 'validators/results' }));
    chain.commitments.set(miner.address, HOSTILE);
    const base = sampleDocument({ validator: validator.address, netuid: 1 });
    // rounds published before the dashboard started: one evaluated, one when another hotkey held
    // uid 2, one whose file was altered after signing
    const earlier = { ...base, round: 1, block: 100, uids: [{ ...base.uids[0]!, uid: 2, hotkey: miner.address, evalLoss: 4.75, weight: 0.625 }] };
    hub.commit('validators/results', { [RESULTS_FILE]: formatSignedResults(await signResults(earlier, validator.pair!)) });
    const before = { ...base, round: 2, block: 110, uids: [{ ...base.uids[0]!, uid: 2, hotkey: owner.address, evalLoss: 9.5 }] };
    hub.commit('validators/results', { [RESULTS_FILE]: formatSignedResults(await signResults(before, validator.pair!)) });
    const altered = await signResults({ ...base, round: 3, block: 115 }, validator.pair!);
    altered.document.block = 116;
    refusedRevision = hub.commit('validators/results', { [RESULTS_FILE]: formatSignedResults(altered) });
    const doc = { ...base, round: 4, uids: [{ ...base.uids[1]!, uid: 2, hotkey: miner.address, commitment: HOSTILE, reason: `commitment "${HOSTILE}" is bad` }] };
    hub.commit('validators/results', { [RESULTS_FILE]: formatSignedResults(await signResults(doc, validator.pair!)) });
    source = new DashboardSource({ chain: chain.asChain(), hub: hub.asHub(), netuid: 1 });
    await source.refresh({ results: true });
    await source.historyIdle();
    server = await startDashboardServer({ source });
  });
  afterAll(async () => {
    await server?.close();
    await source?.close();
  });

  it('serves every page with a policy that forbids inline script, and escapes what miners and owners wrote', async () => {
    for (const path of ['/', '/miner/2', '/validators', '/competition']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self';/);
      const body = await res.text();
      expect(body).not.toContain('<img');
      expect(body).not.toMatch(/<\/script>(?!<\/head>)/); // the only script tag is ours, in the head
      expect((body.match(/<script/g) ?? []).length).toBe(1);
    }
    const miner = await (await fetch(`${server.url}/miner/2`)).text();
    expect(miner).toContain('&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;');
    expect(miner).toContain('is bad'); // the published reason
    expect(await (await fetch(`${server.url}/competition`)).text()).toContain('&lt;img src=x');
  });

  it('shows the rounds published before it started, this hotkey\'s only, as charts and a table, with the refused revisions', async () => {
    const page = await (await fetch(`${server.url}/miner/2`)).text();
    const table = /<table id="history">.*?<\/table>/s.exec(page)![0];
    const rows = [...table.matchAll(/<tr data-round="(\d+)"[^>]*>(.*?)<\/tr>/gs)].map((m) => [Number(m[1]), m[2]!]);
    expect(rows.map(([round]) => round)).toEqual([4, 1]); // round 2 scored another hotkey at uid 2; round 3 was refused
    expect(rows[1]![1]).toContain('<td class="num">4.7500</td>');
    expect(rows[1]![1]).toContain('<td class="num">0.6250</td>');
    expect(rows[1]![1]).toContain('<td class="num">-1.7500</td>'); // against the round's base loss (6.5)
    expect(page).toContain('aria-label="Eval loss of uid 2 per round"');
    expect(page).toContain('aria-label="Weight of uid 2 per round"');
    const refused = /<ul id="refused-rounds">(.*?)<\/ul>/s.exec(page)![1]!;
    expect(refused).toContain(refusedRevision.slice(0, 12));
    expect(refused).toMatch(/signature does not match/);
  });

  it('gives the parts a live page swaps in, and a summary', async () => {
    const partial = await (await fetch(`${server.url}/miner/2?partial=1`)).json() as { version: number; main: string; status: string; title: string };
    expect(partial.version).toBe(source.snapshot.version);
    expect(partial.main).toContain('id="verdicts"');
    expect(partial.status).toContain(`block <b id="block">${chain.block}</b>`);
    const status = await (await fetch(`${server.url}/api/status.json`)).json();
    expect(status).toMatchObject({ netuid: 1, block: chain.block, complete: true, uids: 3, validators: 1, validatorsRead: 1, stale: { chain: null, hub: null } });
  });

  it('announces each new version on /events', async () => {
    const versions: number[] = [];
    let ended!: () => void;
    const done = new Promise<void>((r) => (ended = r));
    const req = request(`${server.url}/events`, (res) => {
      expect(res.headers['content-type']).toMatch(/text\/event-stream/);
      let buf = '';
      res.on('data', (chunk: Buffer) => {
        buf += chunk.toString();
        for (const m of buf.matchAll(/event: update\ndata: (.*)\n\n/g)) versions.push(JSON.parse(m[1]!).version);
        buf = buf.slice(buf.lastIndexOf('\n\n') + 2);
        if (versions.length === 1) {
          chain.block++;
          void source.refresh({ results: false });
        }
        if (versions.length === 2) {
          req.destroy();
          ended();
        }
      });
    });
    req.end();
    await done;
    expect(versions[1]).toBe(versions[0]! + 1);
  });

  it('answers 404 for what it does not serve and 405 for other methods', async () => {
    expect((await fetch(`${server.url}/miner/99`)).status).toBe(404);
    expect((await fetch(`${server.url}/nothing`)).status).toBe(404);
    const notFound = await (await fetch(`${server.url}/%3Cimg%20src=x%3E`)).text();
    expect(notFound).not.toContain('<img');
    expect((await fetch(`${server.url}/`, { method: 'POST' })).status).toBe(405);
    const head = await fetch(`${server.url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });
});

describe('dashboard server: sealed rounds', () => {
  const chain = new FakeChain();
  const hub = new FakeHub();
  let source: DashboardSource;
  let server: DashboardServer;
  let owner: string;
  const hex = (c: string) => c.repeat(64);
  const base = { protocol: 2, id: '1', baseModel: { repo: 'flock/tiny', revision: 'b'.repeat(40) } };
  /** At block 100: round 1 revealed, round 2 closed and sealed, round 3 open until block 149, round 4 announced. */
  const ROUNDS = [
    { opens: 10, closes: 50, evalSha256: hex('a'), evalFile: 'eval-1.jsonl' },
    { opens: 50, closes: 90, evalSha256: hex('b') },
    { opens: 90, closes: 150, evalSha256: hex('c') },
    { opens: 200, closes: 300, evalSha256: hex('d') },
  ];

  /** Point the owner at a new revision of competition.json and let the source read it. */
  async function publish(content: string): Promise<string> {
    const revision = hub.commit('flock/competition-2', { 'competition.json': content });
    chain.commitments.set(owner, formatCompetitionPointer({ competitionId: '1', repoId: 'flock/competition-2', revision }));
    await source.refresh({ results: true });
    return revision;
  }
  const page = async (path: string) => {
    const res = await fetch(`${server.url}${path}`);
    expect(res.status).toBe(200);
    return res.text();
  };
  const scheduleRows = (body: string) => [...(/<table id="round-schedule">.*?<\/table>/s.exec(body)?.[0] ?? '').matchAll(/<tr data-round="(\d+)" data-state="(\w+)">(.*?)<\/tr>/gs)]
    .map((m) => ({ round: Number(m[1]), state: m[2]!, html: m[3]! }));

  beforeAll(async () => {
    owner = (await keypairFromUri('//Alice')).address;
    chain.owner = owner;
    chain.neurons = [{ hotkey: owner }];
    source = new DashboardSource({ chain: chain.asChain(), hub: hub.asHub(), netuid: 1 });
    server = await startDashboardServer({ source });
  });
  afterAll(async () => {
    await server?.close();
    await source?.close();
  });

  it('lists every round with its window, its set (the revealed file at the revision, its hash) and its state; the leaderboard names the open round', async () => {
    chain.block = 100;
    const revision = await publish(JSON.stringify({ ...base, rounds: ROUNDS }));
    const body = await page('/competition');
    const rows = scheduleRows(body);
    expect(rows.map((r) => [r.round, r.state])).toEqual([[1, 'revealed'], [2, 'sealed'], [3, 'open'], [4, 'announced']]);
    expect(rows[0]!.html).toContain(`<a href="http://hub.invalid/datasets/flock/competition-2/blob/${revision}/eval-1.jsonl" rel="nofollow noopener">`);
    expect(rows[0]!.html).toContain(`<code title="${hex('a')}">aaaaaaaaaaaa…</code>`);
    expect(rows[0]!.html).toContain('scored now');
    expect(rows[0]!.html).toContain('<td class="num">10–49</td>');
    expect(rows[1]!.html).toContain('sealed, awaiting reveal');
    expect(rows[1]!.html).not.toContain('<a ');
    expect(rows[1]!.html).toContain(`<code title="${hex('b')}">`);
    expect(rows[2]!.html).toContain('closes in 50 blocks (≈ 10 min)'); // 150 − 100 blocks × 12 s
    expect(rows[3]!.html).toContain('opens in 100 blocks (≈ 20 min)');
    expect(rows.slice(1).some((r) => r.html.includes('scored now'))).toBe(false);
    expect(body).toContain('validators score round 1 now');
    expect(await page('/')).toContain('<p id="round-open">Round 3 open, closes at block 150 (in 50 blocks;');

    // between windows: nothing open, round 3 sealed awaiting its reveal
    chain.block = 160;
    await source.refresh({ results: false });
    expect(scheduleRows(await page('/competition')).map((r) => r.state)).toEqual(['revealed', 'sealed', 'sealed', 'announced']);
    expect(await page('/')).not.toContain('id="round-open"');
  });

  it('shows the latest rounds of a long schedule and says how many earlier ones are not shown', async () => {
    chain.block = 100;
    const many = Array.from({ length: SCHEDULE_ROWS + 7 }, (_, k) => ({ opens: 2 * k, closes: 2 * k + 1, evalSha256: k.toString(16).padStart(64, '0') }));
    await publish(JSON.stringify({ ...base, rounds: many }));
    const body = await page('/competition');
    const rows = scheduleRows(body);
    expect(rows).toHaveLength(SCHEDULE_ROWS);
    expect(rows[0]!.round).toBe(8);
    expect(rows.at(-1)!.round).toBe(SCHEDULE_ROWS + 7);
    expect(body).toContain('7 earlier round(s) not shown.');
    expect(body).toContain('no round is revealed yet');
  });

  it('a competition.json with malformed rounds, or too large, is a reason on the page, never a crash', async () => {
    await publish(JSON.stringify({ ...base, rounds: [ROUNDS[1], ROUNDS[0]] }));
    let body = await page('/competition');
    expect(body).toMatch(/<p class="reason">.*round 2 opens at block 10, before round 1 closes \(block 90\)/s);
    expect(body).not.toContain('id="round-schedule"');
    await publish(JSON.stringify({ ...base, rounds: [{ opens: 1, closes: 2, evalSha256: hex('a'), evalFile: '<img src=x onerror=alert(1)>' }] }));
    body = await page('/competition');
    expect(body).toMatch(/<p class="reason">.*must be a plain file name/s);
    expect(body).not.toContain('<img');
    await publish(JSON.stringify({ ...base, rounds: ROUNDS, title: 'x'.repeat(COMPETITION_FILE_MAX_BYTES) }));
    body = await page('/competition');
    expect(body).toMatch(new RegExp(`<p class="reason">.*larger than ${COMPETITION_FILE_MAX_BYTES} bytes`, 's'));
    expect(body).not.toContain('id="round-schedule"');
    expect(await page('/')).not.toContain('id="round-open"');
  });
});
