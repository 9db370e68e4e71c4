/**
 * The dashboard in a real headless Chromium against a real local subnet (devnet + local hub) with
 * a real validator that trains, scores, sets weights and publishes its signed results: the
 * leaderboard shows the uids and incentives the chain holds; a zeroed miner's page shows the
 * reason; a new round reaches an open page without a reload; a hostile commitment is shown as
 * text and runs nothing; the page says it is stale while the hub is away; a phone-sized window
 * needs no sideways scrolling; a dashboard started later shows a miner's rounds published before it
 * started. Screenshots land in test-artifacts/dashboard/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WalletKeypair } from '../../src/chain/index.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/index.js';
import { FingerprintIndex } from '../../src/dataset/index.js';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { HubClient } from '../../src/hub/index.js';
import { formatCommitment } from '../../src/protocol/index.js';
import { readPublishedResults } from '../../src/published/read.js';
import { printable } from '../../src/util/terminal-text.js';
import { silentLogger } from '../../src/util/log.js';
import { defaultResultsRepo, ResultsPublisher } from '../../src/validator/publisher.js';
import { openStore, type ValidatorStore } from '../../src/validator/store.js';
import { Validator } from '../../src/validator/validator.js';
import { NETUID, noiseRows, startSubnet, taskRows, toJsonl, type Miner, type TestSubnet } from '../validator/subnet.js';

const ARTIFACTS = join('test-artifacts', 'dashboard');
const HOSTILE = '<img src=x onerror=alert(1)></script><script>alert(2)</script>';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// The page's globals, as the functions run in the browser below use them (the tests compile
// without the DOM library). Functions, not strings: the dashboard's policy forbids eval.
interface Node { textContent: string | null; children: ArrayLike<Node> }
declare const document: { getElementById(id: string): Node | null; querySelector(selector: string): Node | null; documentElement: { scrollWidth: number } };
declare const window: { innerWidth: number; stayed?: boolean };

describe('the dashboard in Chromium', () => {
  let net: TestSubnet;
  let validatorKey: WalletKeypair;
  let backend: CpuBackend;
  let store: ValidatorStore;
  let index: FingerprintIndex;
  let publisher: ResultsPublisher;
  let validator: Validator;
  let dashboard: Dashboard;
  let browser: Browser;
  const miners: Record<string, Miner> = {};
  const dialogs: string[] = [];
  const pageErrors: string[] = [];

  async function nextEpoch(): Promise<void> {
    const info = await net.chain.subnetInfo({ netuid: NETUID });
    await net.dev.produceBlocks(Math.max(1, info.nextEpochBlock - net.dev.bestNumber() + 1));
  }
  async function addMiner(name: string, rows: string): Promise<void> {
    miners[name] = await net.register(name);
    await net.commit(miners[name], formatCommitment({ repoId: `miners/${name}`, competitionId: '1', revision: await net.publish(name, rows) }));
  }
  /** One validator round: evaluate, score, set weights, publish; then the epoch that pays for it. */
  async function round(): Promise<void> {
    const pass = await validator.runPass();
    expect(pass.weights?.status).toBe('set');
    await publisher.idle();
    await nextEpoch();
  }
  async function openPage(path: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
    const page = await browser.newPage({ viewport });
    page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${dashboard.url}${path}`);
    return page;
  }
  const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    net = await startSubnet({ tempo: 20, weightsRateLimit: 1 });
    validatorKey = await net.addValidator();
    await addMiner('good', toJsonl(taskRows(24, 7)));
    await addMiner('noise', toJsonl(noiseRows(24, 8)));
    miners['hostile'] = await net.register('hostile');
    await net.commit(miners['hostile'], HOSTILE);

    backend = new CpuBackend({ threads: 1 });
    const dir = join(net.root, 'v1');
    store = openStore(join(dir, 'validator.sqlite'));
    index = FingerprintIndex.open(join(dir, 'fingerprints.sqlite'));
    const hub = new HubClient({ hubUrl: net.hub.url, token: net.ownerHub.portableOptions().token!, cacheDir: join(dir, 'cache'), retries: 0 });
    publisher = new ResultsPublisher({ hub, chain: net.chain, netuid: NETUID, pair: validatorKey.pair!, repoId: defaultResultsRepo((await hub.whoAmI()).name, NETUID, validatorKey.address), log: silentLogger, retryBaseMs: 100 });
    validator = new Validator({ chain: net.chain, hub, store, index, netuid: NETUID, signer: validatorKey, backend, log: silentLogger, publisher, blockSeconds: 12, pollMs: 10 });
    await round();

    dashboard = await startDashboard({ chain: net.chain, hub: net.validatorHub(join(net.root, 'dashboard-cache')), netuid: NETUID, resultsEveryMs: 300 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    validator?.close();
    await publisher?.close();
    index?.close();
    store?.close();
    backend?.dispose();
    await net?.close();
  });

  it('the leaderboard shows the uids and incentives the chain holds', async () => {
    const page = await openPage('/');
    await page.waitForSelector('#leaderboard[data-complete="true"][data-validators-read="1"]');
    const mg = await net.chain.metagraph({ netuid: NETUID });
    expect(mg.incentive.some((x) => x > 0)).toBe(true);
    const shown = await page.$$eval('#leaderboard tbody tr', (trs) => trs.map((tr) => ({ uid: Number(tr.getAttribute('data-uid')), incentive: tr.children[2]!.textContent!.trim() })));
    expect(shown.map((r) => r.uid).sort((a, b) => a - b)).toEqual(mg.uids);
    for (const r of shown) expect(r.incentive).toBe(mg.incentive[r.uid]!.toFixed(4));
    // ordered by incentive, largest first
    const order = shown.map((r) => Number(r.incentive));
    expect(order).toEqual([...order].sort((a, b) => b - a));
    await shot(page, 'leaderboard.png');
    await page.close();
  });

  it("a zeroed miner's page shows the reason its validator published", async () => {
    const [published] = await readPublishedResults({ chain: net.chain, hub: net.validatorHub(join(net.root, 'reader-cache')), netuid: NETUID, hotkeys: [validatorKey.address] });
    if (!published?.ok) throw new Error(`results not readable: ${published?.ok === false ? published.reason : 'none'}`);
    const entry = published.signed.document.uids.find((u) => u.uid === miners['hostile']!.uid)!;
    expect(entry.weight).toBe(0);
    const page = await openPage(`/miner/${miners['hostile']!.uid}`);
    const reasons = await page.textContent('#reasons');
    expect(reasons).toContain(printable(entry.reason!));
    expect(await page.textContent('#verdicts')).toContain(printable(entry.reason!));
    await shot(page, 'miner-zeroed.png');
    await page.close();

    const good = await openPage(`/miner/${miners['good']!.uid}`);
    expect(await good.locator('figure.chart svg circle').count()).toBeGreaterThan(0); // per-example losses drawn
    await shot(good, 'miner.png');
    await good.close();
  });

  it('a hostile commitment is shown as text and runs nothing', async () => {
    const page = await openPage(`/miner/${miners['hostile']!.uid}`);
    expect(await page.textContent('#commitment')).toContain(HOSTILE);
    expect(await page.locator('main img, main script').count()).toBe(0);
    const board = await openPage('/');
    await board.waitForSelector(`#leaderboard tr[data-uid="${miners['hostile']!.uid}"]`);
    expect(await board.textContent(`#leaderboard tr[data-uid="${miners['hostile']!.uid}"]`)).toContain(HOSTILE);
    await board.waitForTimeout(300);
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
    await board.close();
  });

  it('a new round reaches an open page without a reload', async () => {
    const page = await openPage('/');
    await page.waitForSelector('#leaderboard[data-complete="true"][data-validators-read="1"]');
    await page.waitForFunction(() => document.getElementById('live')?.textContent?.includes('connected'));
    expect(await page.textContent('#leaderboard thead')).toContain('round 1');
    await page.evaluate(() => { window.stayed = true; }); // gone if the page reloads
    const blockBefore = Number(await page.textContent('#block'));

    await addMiner('late', toJsonl(taskRows(24, 9)));
    await round();

    const late = miners['late']!.uid;
    await page.waitForFunction((uid) => document.querySelector('#leaderboard thead')?.textContent?.includes('round 2') && document.querySelector(`#leaderboard tr[data-uid="${uid}"]`) !== null, late, { timeout: 30_000 });
    expect(await page.evaluate(() => window.stayed)).toBe(true); // the same document: no reload
    expect(Number(await page.textContent('#block'))).toBeGreaterThan(blockBefore);
    const mg = await net.chain.metagraph({ netuid: NETUID });
    await page.waitForFunction(([uid, text]) => document.querySelector(`#leaderboard tr[data-uid="${uid}"]`)?.children[2]?.textContent?.trim() === text, [late, mg.incentive[late]!.toFixed(4)] as const);
    await page.close();
  });

  it('says it is stale while the hub is away, keeps showing what it knew, and recovers', async () => {
    const page = await openPage('/');
    await page.waitForSelector('#leaderboard[data-complete="true"]');
    await net.hub.close();
    await page.waitForSelector('.stale', { timeout: 30_000 });
    expect(await page.textContent('.stale')).toMatch(/Stale: the hub has not answered since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    expect(await page.locator('#leaderboard[data-validators-read="1"]').count()).toBe(1);
    await shot(page, 'stale.png');
    await net.restartHub();
    await page.waitForSelector('.stale', { state: 'detached', timeout: 30_000 });
    await page.close();
  });

  it('fits a phone-sized window without sideways scrolling of the page', async () => {
    const page = await openPage(`/miner/${miners['good']!.uid}`, { width: 390, height: 844 });
    await page.waitForSelector('#verdicts');
    const [scrollWidth, innerWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    await shot(page, 'miner-phone.png');
    await page.close();
  });

  it("a dashboard started after the rounds lists them on a miner's page, from the results repo's commits", async () => {
    const later = await startDashboard({ chain: net.chain, hub: net.validatorHub(join(net.root, 'later-dashboard-cache')), netuid: NETUID, resultsEveryMs: 300 });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await page.goto(`${later.url}/miner/${miners['good']!.uid}`);
      // round 1 was never the latest while this dashboard ran: only the history can show it
      await page.waitForSelector('#history tr[data-round="1"]', { timeout: 30_000 });
      const rounds = await page.$$eval('#history tbody tr', (trs) => trs.map((tr) => Number(tr.getAttribute('data-round'))));
      expect(rounds).toEqual([2, 1]);
      expect(await page.locator('figure.chart svg[aria-label^="Weight of uid"] circle').count()).toBe(2);
      expect(pageErrors).toEqual([]);
      await shot(page, 'miner-history.png');
      await page.close();
    } finally {
      await later.close();
    }
  });
});
