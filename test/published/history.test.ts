/**
 * A validator's earlier rounds from its results repo on a local hub: every commit read and
 * verified, newest first; a bad file (altered, signed by another key, another subnet's, not JSON)
 * is a reason for its revision alone; the repo's first commit holds no results; a file the hub
 * would not give is unreadable (not refused); revisions already read are not downloaded again; a repo that cannot be listed is one problem.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keypairFromUri, signResults, type WalletKeypair } from '../../src/chain/index.js';
import { HubClient, HubUnavailableError, type HubServer } from '../../src/hub/index.js';
import { formatSignedResults, RESULTS_FILE, type ResultsDocument } from '../../src/protocol/index.js';
import { readResultsHistory, type HistoryRevision } from '../../src/published/history.js';
import { sampleDocument } from '../protocol/results-fixture.js';
import { startTestHub } from '../validator/subnet.js';

const REPO = 'miners/results-v';

describe('readResultsHistory', () => {
  let root: string;
  let hub: HubServer;
  let reader: HubClient;
  let validator: WalletKeypair, other: WalletKeypair;
  /** The commits, oldest first, after the repo's first: [sha, what it holds]. */
  const published: [string, string][] = [];
  let initial: string;

  const doc = (round: number, over: Partial<ResultsDocument> = {}) => sampleDocument({ validator: validator.address, netuid: 1, round, block: 100 + round, ...over });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'flock-history-'));
    const started = await startTestHub(root);
    hub = started.hub;
    [validator, other] = await Promise.all(['//Alice//v', '//Alice//other'].map((u) => keypairFromUri(u)));
    await started.minerHub.createRepo({ repo: REPO, type: 'dataset' });
    initial = (await started.minerHub.listCommits({ repo: REPO, limit: 1 }))[0]!.sha;
    const altered = await signResults(doc(2), validator.pair!);
    altered.document.uids[0]!.weight = 0.99;
    const files: [string, string][] = [
      ['good 1', formatSignedResults(await signResults(doc(1), validator.pair!))],
      ['altered', formatSignedResults(altered)],
      ['impostor', formatSignedResults(await signResults({ ...doc(3), validator: other.address }, other.pair!))],
      ['netuid 2', formatSignedResults(await signResults(doc(4, { netuid: 2 }), validator.pair!))],
      ['not json', '{"document": '],
      ['good 6', formatSignedResults(await signResults(doc(6), validator.pair!))],
    ];
    for (const [what, content] of files) {
      published.push([await started.minerHub.uploadFiles({ repo: REPO, type: 'dataset', files: [{ path: RESULTS_FILE, content }], message: what }), what]);
    }
    reader = new HubClient({ hubUrl: hub.url, cacheDir: join(root, 'reader-cache'), retries: 0 });
  });
  afterAll(async () => {
    await hub?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('reads every commit newest first, each verified on its own', async () => {
    const h = await readResultsHistory({ hub: reader, repoId: REPO, hotkey: validator.address, netuid: 1, limit: 20 });
    expect(h.problem).toBeNull();
    expect(h.revisions.map((r) => r.revision)).toEqual([...published.map(([sha]) => sha)].reverse().concat(initial));
    expect(h.revisions.map((r) => r.title)).toEqual(['good 6', 'not json', 'netuid 2', 'impostor', 'altered', 'good 1', 'initial commit']);
    const [good6, notJson, netuid2, impostor, altered, good1, first] = h.revisions as HistoryRevision[];
    const round = (r: HistoryRevision | undefined) => (r?.status === 'verified' ? r.signed.document : null);
    expect(round(good6)?.round).toBe(6);
    expect(round(good1)?.block).toBe(101);
    const refused = (r: HistoryRevision | undefined) => (r?.status === 'refused' ? r.reason : r?.status);
    expect(refused(notJson)).toMatch(new RegExp(`^${RESULTS_FILE} of ${REPO}@${notJson!.revision.slice(0, 12)} is refused: `));
    expect(refused(netuid2)).toMatch(/is for netuid 2, not 1/);
    expect(refused(impostor)).toMatch(/refused: the results are signed as .* but the repo is the one .* points to/);
    expect(refused(altered)).toMatch(/refused: the signature does not match/);
    expect(first).toMatchObject({ status: 'absent', reason: expect.stringMatching(/cannot be read/) });
    expect(good6!.date).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('reads only the newest `limit` commits, and none it already knows', async () => {
    const newest = await readResultsHistory({ hub: reader, repoId: REPO, hotkey: validator.address, netuid: 1, limit: 2 });
    expect(newest.revisions.map((r) => r.title)).toEqual(['good 6', 'not json']);
    let downloads = 0;
    const counting = new Proxy(reader, {
      get(target, prop, receiver) {
        if (prop === 'downloadFile') return (...args: Parameters<HubClient['downloadFile']>) => { downloads++; return target.downloadFile(...args); };
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const known = new Set(newest.revisions.map((r) => r.revision));
    const more = await readResultsHistory({ hub: counting, repoId: REPO, hotkey: validator.address, netuid: 1, limit: 4, known: (r) => known.has(r) });
    expect(more.revisions.map((r) => r.title)).toEqual(['good 6', 'not json', 'netuid 2', 'impostor']);
    expect(more.revisions.map((r) => r.status)).toEqual(['known', 'known', 'refused', 'refused']);
    expect(downloads).toBe(2);
  });

  it('says a file the hub would not give is unreadable, not refused', async () => {
    // a fresh cache: every file must come from the hub, which fails every download
    const failing = new HubClient({ hubUrl: hub.url, cacheDir: join(root, 'failing-cache'), retries: 0 });
    failing.downloadFile = () => Promise.reject(new HubUnavailableError('the hub went away'));
    const h = await readResultsHistory({ hub: failing, repoId: REPO, hotkey: validator.address, netuid: 1, limit: 2 });
    expect(h.revisions.map((r) => [r.status, r.status === 'unreadable' ? r.reason : '']))
      .toEqual(h.revisions.map((r) => ['unreadable', `${RESULTS_FILE} of ${REPO}@${r.revision.slice(0, 12)} cannot be read: the hub went away`]));
  });

  it('says why a repo cannot be listed, and refuses an unbounded limit', async () => {
    const missing = await readResultsHistory({ hub: reader, repoId: 'nobody/not-there', hotkey: validator.address, netuid: 1 });
    expect(missing).toMatchObject({ revisions: [], problem: expect.stringMatching(/history of results repo nobody\/not-there cannot be listed: .*not found/) });
    for (const limit of [0, 1001, 2.5]) await expect(readResultsHistory({ hub: reader, repoId: REPO, hotkey: validator.address, netuid: 1, limit })).rejects.toThrow(RangeError);
  });
});
