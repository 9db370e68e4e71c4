/**
 * Reading published results from a devnet and a local hub, as a dashboard, `miner status` or an
 * audit does: a good file verifies; an altered one, one signed as another hotkey, one of an unknown
 * format, one too large and a pointer to a missing repo are each a reason for that validator alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signResults } from '../../src/chain/results-signature.js';
import { formatResultsPointer, formatSignedResults, RESULTS_FILE, type ResultsDocument } from '../../src/protocol/index.js';
import { readPublishedResults } from '../../src/published/read.js';
import { sampleDocument } from '../protocol/results-fixture.js';
import { NETUID, startSubnet, type Miner, type TestSubnet } from '../validator/subnet.js';

describe('readPublishedResults', () => {
  let net: TestSubnet;
  const v: Record<string, Miner> = {};

  async function publish(name: string, content: string): Promise<void> {
    const repo = `miners/results-${name}`;
    await net.minerHub.createRepo({ repo, type: 'dataset', existOk: true });
    await net.minerHub.uploadFiles({ repo, type: 'dataset', files: [{ path: RESULTS_FILE, content }] });
    await net.commit(v[name]!, formatResultsPointer({ repoId: repo }));
  }
  const doc = (name: string, over: Partial<ResultsDocument> = {}) => sampleDocument({ validator: v[name]!.hotkey.address, netuid: NETUID, ...over });

  beforeAll(async () => {
    net = await startSubnet({ tempo: 1000 });
    for (const name of ['good', 'altered', 'impostor', 'future', 'huge', 'missing', 'miner']) v[name] = await net.register(name);
    await publish('good', formatSignedResults(await signResults(doc('good'), v['good']!.hotkey.pair!)));
    const altered = await signResults(doc('altered'), v['altered']!.hotkey.pair!);
    altered.document.uids[0]!.weight = 0.99;
    await publish('altered', formatSignedResults(altered));
    // signed by its own key, but claiming to be good's results
    await publish('impostor', formatSignedResults(await signResults(doc('good'), v['good']!.hotkey.pair!)));
    await publish('future', JSON.stringify({ document: { ...doc('future'), format: 'flock-results/2' }, signature: `0x${'00'.repeat(64)}` }));
    await publish('huge', formatSignedResults(await signResults(doc('huge', { uids: Array.from({ length: 400 }, (_, i) => ({ ...sampleDocument().uids[0]!, uid: i })) }), v['huge']!.hotkey.pair!)));
    await net.commit(v['missing']!, formatResultsPointer({ repoId: 'nobody/not-there' }));
    await net.commit(v['miner']!, `miners/x:1:${'a'.repeat(40)}`);
  });
  afterAll(async () => { await net?.close(); });

  it('verifies each validator on its own and says why the others are refused', async () => {
    const read = await readPublishedResults({ chain: net.chain, hub: net.validatorHub(), netuid: NETUID, maxBytes: 200_000 });
    const by = new Map(read.map((r) => [r.hotkey, r]));
    const good = by.get(v['good']!.hotkey.address)!;
    expect(good).toMatchObject({ ok: true, uid: v['good']!.uid, repoId: 'miners/results-good', revision: expect.stringMatching(/^[0-9a-f]{40}$/) });
    if (good.ok) expect(good.signed.document.uids).toHaveLength(2);
    const reason = (name: string) => {
      const r = by.get(v[name]!.hotkey.address)!;
      return r.ok ? 'ok' : r.reason;
    };
    expect(reason('altered')).toMatch(/refused: the signature does not match/);
    expect(reason('impostor')).toMatch(/refused: the results are signed as .* but the repo is the one .* points to/);
    expect(reason('future')).toMatch(/refused: .*format is "flock-results\/2"; this version of flock reads "flock-results\/1"/);
    expect(reason('huge')).toMatch(/cannot be read: .*200000/);
    expect(reason('missing')).toMatch(/results repo nobody\/not-there cannot be read/);
    expect(by.has(v['miner']!.hotkey.address)).toBe(false); // a miner's commitment is no results pointer
    expect(read.map((r) => r.uid)).toEqual([...read.map((r) => r.uid)].sort((a, b) => a! - b!));
  });

  it('reads the hotkeys asked for, and says when one publishes nothing', async () => {
    const read = await readPublishedResults({ chain: net.chain, hub: net.validatorHub(), netuid: NETUID, hotkeys: [v['good']!.hotkey.address, v['miner']!.hotkey.address] });
    expect(read).toHaveLength(2);
    expect(read.find((r) => r.hotkey === v['miner']!.hotkey.address)).toMatchObject({ ok: false, reason: expect.stringContaining('publishes no results') });
  });
});
