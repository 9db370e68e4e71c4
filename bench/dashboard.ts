/**
 * Dashboard benchmark: a devnet subnet of 256 uids (the owner, 64 staked validators, 191 miners
 * with commitments) and 64 validators' signed results on a local hub (every uid, 64 per-example
 * losses each), then the dashboard in-process and a headless Chromium:
 *
 * - first paint: from navigation to the first contentful paint, on a cold dashboard (just started,
 *   nothing read yet) and on a warm one;
 * - time to a complete leaderboard: from starting the dashboard to the page showing all 256 uids
 *   with all 64 validators' verified verdicts (live, without a reload);
 * - the leaderboard's HTML size and server time (first render and cached), and the background
 *   refresh when nothing changed (one revision check per results repo);
 * - the history: each validator published `rounds` rounds before the dashboard started; the time
 *   until every earlier round is read in the background (each repo's commits listed, each revision
 *   downloaded and verified once), and a miner page with that history (size, server time).
 *
 * Run: npx tsx bench/dashboard.ts [validators=64] [uids=256] [examples=64] [rounds=5]
 */
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { keypairFromUri, signResults, type WalletKeypair } from '../src/chain/index.js';
import { startDashboard } from '../src/dashboard/index.js';
import { formatCommitment, formatResultsPointer, formatSignedResults, RESULTS_FILE, RESULTS_FORMAT, type PublishedUid, type ResultsDocument } from '../src/protocol/index.js';
import { NETUID, startSubnet } from '../test/validator/subnet.js';

const VALIDATORS = Number(process.argv[2] ?? 64);
const UIDS = Number(process.argv[3] ?? 256);
const EXAMPLES = Number(process.argv[4] ?? 64);
const ROUNDS = Number(process.argv[5] ?? 5);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ms = (x: number) => `${x.toFixed(0)} ms`;

async function main(): Promise<void> {
  const setupStart = performance.now();
  const net = await startSubnet({ tempo: 100_000, maxAllowedUids: UIDS + 4, weightsRateLimit: 1 });
  const coldkey = await keypairFromUri('//Bob');
  const keys: WalletKeypair[] = [net.owner];
  for (let i = 1; i < UIDS; i++) {
    const hotkey = await keypairFromUri(`//Bench//${i}`);
    await net.chain.burnedRegister({ netuid: NETUID, hotkey: hotkey.address, signer: coldkey });
    keys.push(hotkey);
  }
  const validators = keys.slice(1, 1 + VALIDATORS);
  for (const v of validators) await net.chain.addStake({ netuid: NETUID, hotkey: v.address, amount: 100 + validators.indexOf(v), signer: coldkey });
  const commitments = new Map<number, string>();
  for (let uid = 1 + VALIDATORS; uid < UIDS; uid++) {
    const c = formatCommitment({ repoId: `miners/dataset-${uid}`, competitionId: '1', revision: uid.toString(16).padStart(40, '0') });
    await net.chain.setCommitment({ netuid: NETUID, data: c, signer: keys[uid]! });
    commitments.set(uid, c);
  }
  const mg = await net.chain.metagraph({ netuid: NETUID });
  let seed = 7;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const baseLosses = Array.from({ length: EXAMPLES }, () => 6 + rnd());
  let bytes = 0;
  for (const [i, v] of validators.entries()) for (let round = 1; round <= ROUNDS; round++) {
    const uids: PublishedUid[] = mg.hotkeys.map((hotkey, uid) => {
      const miner = commitments.has(uid);
      const losses = miner ? baseLosses.map((b) => b - 1 - rnd()) : null;
      const weight = miner && uid % 3 !== 0 ? rnd() / UIDS : 0;
      return {
        uid, hotkey, commitment: commitments.get(uid) ?? null, commitmentBlock: miner ? 10 : null, repoId: miner ? `miners/dataset-${uid}` : null,
        revision: miner ? uid.toString(16).padStart(40, '0') : null, datasetIdentity: miner ? 'a'.repeat(64) : null,
        evalLoss: losses ? losses.reduce((a, b) => a + b, 0) / losses.length : null, losses, winRate: weight > 0 ? rnd() : 0, score: weight, weight,
        stage: weight > 0 ? null : miner ? 'competitive_filter' : 'no_commitment', reason: weight > 0 ? null : miner ? 'no better than an earlier submission' : 'no commitment in this competition', receipt: null,
      };
    });
    const document: ResultsDocument = {
      format: RESULTS_FORMAT, netuid: NETUID, validator: v.address, competition: { id: '1', repoId: 'flock/competition-1', revision: net.competitionRevision },
      block: mg.block.number - ROUNDS + round, round, compute: 'flock-engine bench', createdAt: new Date().toISOString(),
      base: { evalLoss: baseLosses.reduce((a, b) => a + b, 0) / EXAMPLES, losses: baseLosses, receipt: null }, uids,
    };
    const text = formatSignedResults(await signResults(document, v.pair!));
    bytes += text.length;
    const repo = `miners/results-${i}`;
    if (round === 1) await net.minerHub.createRepo({ repo, type: 'dataset', existOk: true });
    await net.minerHub.uploadFiles({ repo, type: 'dataset', files: [{ path: RESULTS_FILE, content: text }], message: `round ${round}` });
    if (round === 1) await net.chain.setCommitment({ netuid: NETUID, data: formatResultsPointer({ repoId: repo }), signer: v });
  }
  console.log(`set-up: ${UIDS} uids, ${VALIDATORS} validators' results × ${ROUNDS} rounds (${(bytes / VALIDATORS / ROUNDS / 1024).toFixed(0)} KiB each, ${EXAMPLES} losses per uid) in ${((performance.now() - setupStart) / 1000).toFixed(1)} s`);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const t0 = performance.now();
    const dashboard = await startDashboard({ chain: net.chain, hub: net.validatorHub(join(net.root, 'dashboard-cache')), netuid: NETUID, resultsEveryMs: 600_000 });
    const listening = performance.now() - t0;
    const navStart = performance.now() - t0;
    await page.goto(dashboard.url);
    const fcpCold = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN);
    await page.waitForSelector(`#leaderboard[data-complete="true"][data-uids="${UIDS}"][data-validators-read="${VALIDATORS}"]`, { timeout: 600_000 });
    const complete = performance.now() - t0;
    const rows = await page.locator('#leaderboard tbody tr').count();
    await dashboard.source.historyIdle();
    const historyDone = performance.now() - t0;
    const rounds = [...dashboard.source.snapshot.results.values()].reduce((n, r) => n + r.history.length, 0);
    const incomplete = [...dashboard.source.snapshot.results.values()].filter((r) => r.historyProblem).length;
    const minerUid = 1 + VALIDATORS;
    await (await fetch(`${dashboard.url}/miner/${minerUid}`)).text(); // the view, built once per version
    dashboard.source.snapshot.version++;
    const m0 = performance.now();
    const minerHtml = await (await fetch(`${dashboard.url}/miner/${minerUid}`)).text();
    const minerRender = performance.now() - m0;
    const historyRows = (minerHtml.match(/<tr data-round=/g) ?? []).length;

    const warm = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const w0 = performance.now();
    await warm.goto(dashboard.url);
    await warm.waitForSelector(`#leaderboard[data-validators-read="${VALIDATORS}"]`);
    const warmComplete = performance.now() - w0;
    const fcpWarm = await warm.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN);

    dashboard.source.snapshot.version++; // force one fresh render
    let r0 = performance.now();
    const html = await (await fetch(dashboard.url)).text();
    const renderFirst = performance.now() - r0;
    r0 = performance.now();
    await (await fetch(dashboard.url)).text();
    const renderCached = performance.now() - r0;
    r0 = performance.now();
    await dashboard.source.refresh({ results: true });
    const idleRefresh = performance.now() - r0;
    r0 = performance.now();
    await dashboard.source.refresh({ results: false });
    const chainRefresh = performance.now() - r0;

    console.log(`dashboard listening after ${ms(listening)}; navigation at ${ms(navStart)}`);
    console.log(`first contentful paint (cold dashboard, nothing read yet): ${ms(fcpCold)} after navigation`);
    console.log(`complete leaderboard (${rows} rows, ${VALIDATORS} validators' verified verdicts), live without reload: ${ms(complete)} after the dashboard started`);
    console.log(`warm dashboard: first contentful paint ${ms(fcpWarm)}, complete leaderboard ${ms(warmComplete)} after navigation`);
    console.log(`leaderboard HTML ${(html.length / 1024).toFixed(0)} KiB: served in ${ms(renderFirst)} when rendered, ${ms(renderCached)} from the per-version cache`);
    console.log(`history: ${rounds} rounds of ${VALIDATORS} validators (${ROUNDS} each, published before the dashboard started) read in the background by ${ms(historyDone)} after the dashboard started${incomplete ? ` (${incomplete} validators' history incomplete)` : ''}`);
    console.log(`miner page with its history (${historyRows} rows): ${(minerHtml.length / 1024).toFixed(0)} KiB, served in ${ms(minerRender)} when rendered`);
    console.log(`background refresh, nothing changed: ${ms(idleRefresh)} with the ${VALIDATORS} results repos checked, ${ms(chainRefresh)} chain only`);
    await dashboard.close();
  } finally {
    await browser.close();
    await net.close();
  }
}

await main();
