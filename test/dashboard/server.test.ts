/**
 * The dashboard's HTTP server over an in-memory chain and hub: every page answers from the
 * snapshot with a Content-Security-Policy that forbids inline script; text a miner controls is
 * escaped on every page; `?partial=1` gives the parts a live page swaps in; `/events` announces
 * each new version; unknown pages are 404 and other methods 405.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keypairFromUri, signResults } from '../../src/chain/index.js';
import { DashboardSource } from '../../src/dashboard/source.js';
import { startDashboardServer, type DashboardServer } from '../../src/dashboard/server.js';
import { formatCompetitionPointer, formatResultsPointer, formatSignedResults, RESULTS_FILE } from '../../src/protocol/index.js';
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
