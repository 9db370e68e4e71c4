/**
 * Auditing published results against a devnet and a local hub: a validator runs a round and
 * publishes; the audit re-runs every evaluation and finds them bit-identical; results whose losses
 * were altered (and signed again by the one who altered them) are caught, naming what differed;
 * across compute identities the stated tolerance decides. Also `flock audit` as a user runs it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditResults } from '../../src/audit/audit.js';
import { signResults, type WalletKeypair } from '../../src/chain/index.js';
import { FingerprintIndex } from '../../src/dataset/index.js';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { HubClient } from '../../src/hub/index.js';
import { formatCommitment, formatResultsPointer, formatSignedResults, parseSignedResults, RESULTS_FILE, type ResultsDocument } from '../../src/protocol/index.js';
import { silentLogger } from '../../src/util/log.js';
import { ResultsPublisher } from '../../src/validator/publisher.js';
import { openStore } from '../../src/validator/store.js';
import { Validator } from '../../src/validator/validator.js';
import { runFlockAsync } from '../miner/fixture.js';
import { NETUID, startSubnet, taskRows, toJsonl, type TestSubnet } from '../validator/subnet.js';

const backend = new CpuBackend({ threads: 1 });

describe('audit', () => {
  let net: TestSubnet;
  let honest: WalletKeypair;
  let document: ResultsDocument;
  let cli: string[];

  beforeAll(async () => {
    net = await startSubnet({ tempo: 1000, weightsRateLimit: 1 });
    honest = await net.addValidator();
    for (const [name, seed] of [['good', 7], ['other', 99]] as const) {
      const miner = await net.register(name);
      await net.commit(miner, formatCommitment({ repoId: `miners/${name}`, competitionId: '1', revision: await net.publish(name, toJsonl(taskRows(24, seed))) }));
    }
    const dir = join(net.root, 'honest');
    const store = openStore(join(dir, 'validator.sqlite'));
    const index = FingerprintIndex.open(join(dir, 'fingerprints.sqlite'));
    const hub = new HubClient({ hubUrl: net.hub.url, token: net.ownerHub.portableOptions().token!, cacheDir: join(dir, 'cache'), retries: 0 });
    const publisher = new ResultsPublisher({ hub, chain: net.chain, netuid: NETUID, pair: honest.pair!, repoId: 'flock/results-honest', log: silentLogger });
    const v = new Validator({ chain: net.chain, hub, store, index, netuid: NETUID, signer: honest, backend, log: silentLogger, publisher, blockSeconds: 12, pollMs: 10 });
    await v.runPass();
    await publisher.idle();
    const file = await hub.downloadFile({ repo: 'flock/results-honest', type: 'dataset', revision: publisher.last!.revision, path: RESULTS_FILE });
    const parsed = parseSignedResults(readFileSync(file, 'utf8'));
    if (!parsed.ok) throw new Error(parsed.reason);
    document = parsed.value.document;
    publisher.close();
    await v.close();
    index.close();
    store.close();
    cli = ['--netuid', String(NETUID), '--subtensor.chain_endpoint', net.dev.url, '--hub-url', net.hub.url, '--threads', '1'];
  });
  afterAll(async () => {
    backend.dispose();
    await net?.close();
  });

  const auditor = (name: string) => new HubClient({ hubUrl: net.hub.url, cacheDir: join(net.root, `audit-${name}`), retries: 0 });

  it('finds an honest validator\'s evaluations bit-identical (same compute identity)', async () => {
    const r = await auditResults({ document, backend, hub: auditor('honest'), log: silentLogger });
    expect(r.sameCompute).toBe(true);
    expect(r.evaluations.map((e) => e.label)).toEqual(['base model', ...document.uids.filter((u) => u.losses).map((u) => `uid ${u.uid}`)]);
    for (const e of r.evaluations) expect(e, e.label).toMatchObject({ verdict: 'identical', details: [], maxAbsDiff: 0 });
    expect(r.ok).toBe(true);
  });

  it('catches an altered loss and says which example differs', async () => {
    const altered = structuredClone(document);
    const u = altered.uids.find((x) => x.losses)!;
    u.losses![1] = (u.losses![1] as number) * 0.9;
    const r = await auditResults({ document: altered, backend, hub: auditor('altered'), log: silentLogger, uids: [u.uid] });
    expect(r.ok).toBe(false);
    const e = r.evaluations.find((x) => x.uids.includes(u.uid))!;
    expect(e.verdict).toBe('mismatch');
    expect(e.details[0]).toMatch(/^1 of \d+ per-example losses differ \(the same compute identity must give bit-identical losses\)$/);
    expect(e.details[1]).toMatch(/^example 1: published /);
    expect(r.evaluations.find((x) => x.label === 'base model')!.verdict).toBe('identical');
  });

  it('across compute identities, the tolerance decides; receipts must name the same inputs', async () => {
    const other = structuredClone(document);
    other.compute = 'flock-engine 2.0.0 · webgpu · matmul=tiled (another machine)';
    const nudge = (f: number) => {
      const d = structuredClone(other);
      for (const u of d.uids) if (u.losses) u.losses = u.losses.map((x) => (x as number) * (1 + f));
      return d;
    };
    const close = await auditResults({ document: nudge(1e-6), backend, hub: auditor('near'), log: silentLogger });
    expect(close.sameCompute).toBe(false);
    expect(close.evaluations.filter((e) => e.label !== 'base model').every((e) => e.verdict === 'within_tolerance')).toBe(true);
    expect(close.ok).toBe(true);
    const far = await auditResults({ document: nudge(1e-2), backend, hub: auditor('far'), log: silentLogger });
    expect(far.ok).toBe(false);
    expect(far.evaluations.find((e) => e.label !== 'base model')!.details[0]).toMatch(/differ by more than 0\.001 × max\(1, \|loss\|\)/);
    const wrongSeed = structuredClone(document);
    wrongSeed.uids.find((x) => x.receipt)!.receipt!.seed += 1;
    const seeded = await auditResults({ document: wrongSeed, backend, hub: auditor('seed'), log: silentLogger });
    expect(seeded.evaluations.some((e) => e.details.some((d) => d.startsWith('receipt seed: published')))).toBe(true);
  });

  it('flock audit: exit 0 for the honest validator, 1 with what differed for one whose published losses were altered', async () => {
    const ok = await runFlockAsync(['audit', '--validator', honest.address, ...cli]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^ok +base model: identical/m);
    expect(ok.stdout).toMatch(/all \d+ evaluation\(s\) match/);
    expect(ok.stderr).toContain('signature verified');

    // a validator that lowers one miner's losses after training, and signs what it publishes
    const liar = await net.register('liar');
    const forged = structuredClone(document);
    forged.validator = liar.hotkey.address;
    const target = forged.uids.find((x) => x.losses)!;
    target.losses = target.losses!.map((x) => (x as number) - 0.5);
    await net.minerHub.createRepo({ repo: 'miners/results-liar', type: 'dataset', existOk: true });
    await net.minerHub.uploadFiles({ repo: 'miners/results-liar', type: 'dataset', files: [{ path: RESULTS_FILE, content: formatSignedResults(await signResults(forged, liar.hotkey.pair!)) }] });
    await net.commit(liar, formatResultsPointer({ repoId: 'miners/results-liar' }));
    const bad = await runFlockAsync(['audit', '--validator', liar.hotkey.address, '--uid', String(target.uid), ...cli]);
    expect(bad.code, bad.stderr).toBe(1);
    expect(bad.stdout).toMatch(new RegExp(`^MISMATCH uid ${target.uid}: mismatch`, 'm'));
    expect(bad.stdout).toMatch(/per-example losses differ/);
    expect(bad.stdout).toMatch(/1 of 2 evaluation\(s\) do not match/);

    const nobody = await runFlockAsync(['audit', '--validator', '5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM', ...cli]);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/cannot be audited: it has no commitment on this subnet/);
  });
});
