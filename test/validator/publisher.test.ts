/**
 * Publishing round results against a devnet and a local hub: after a scored round the validator's
 * signed results are in its hub repo, its hotkey's commitment points to them, the signature
 * verifies and the document says what the state file says; its own pointer is never taken for a
 * submission; a hub that refuses the upload costs a warning and retries, never the round.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { verifyResults } from '../../src/chain/results-signature.js';
import { FingerprintIndex } from '../../src/dataset/index.js';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { HubClient } from '../../src/hub/index.js';
import { formatCommitment, fromWireNumber, parseResultsPointer, parseSignedResults, RESULTS_FILE } from '../../src/protocol/index.js';
import { createLogger, silentLogger, type Logger } from '../../src/util/log.js';
import { defaultResultsRepo, ResultsPublisher } from '../../src/validator/publisher.js';
import { BASE_EVALUATION, openStore } from '../../src/validator/store.js';
import { Validator } from '../../src/validator/validator.js';
import type { WalletKeypair } from '../../src/chain/index.js';
import { NETUID, noiseRows, startSubnet, taskRows, toJsonl, type TestSubnet } from './subnet.js';

const backend = new CpuBackend({ threads: 1 });
const log = process.env.VLOG ? createLogger({ level: 'debug' }) : silentLogger;

/** A logger that keeps its warnings. */
function recording(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const l: Logger = { ...silentLogger, warning: (m: string) => { warnings.push(m); }, child: () => l } as Logger;
  return { log: l, warnings };
}

describe('publishing round results', () => {
  let net: TestSubnet;
  let validatorKey: WalletKeypair;
  beforeAll(async () => {
    net = await startSubnet({ tempo: 1000, weightsRateLimit: 1 });
    validatorKey = await net.addValidator(); // not the owner: the owner's commitment is the competition pointer
    for (const [name, rows] of [['good', taskRows(24, 7)], ['noise', noiseRows(24, 8)]] as const) {
      const miner = await net.register(name);
      await net.commit(miner, formatCommitment({ repoId: `miners/${name}`, competitionId: '1', revision: await net.publish(name, toJsonl(rows)) }));
    }
    const garbage = await net.register('garbage');
    await net.commit(garbage, 'not a commitment \u001b[2J');
  });
  afterAll(async () => {
    backend.dispose();
    await net?.close();
  });

  it('the round\'s signed results land in the repo the hotkey points to, and say what the state file says', async () => {
    const dir = join(net.root, 'v1');
    const store = openStore(join(dir, 'validator.sqlite'));
    const index = FingerprintIndex.open(join(dir, 'fingerprints.sqlite'));
    // the owner's token may write: the validator publishes with it
    const hub = new HubClient({ hubUrl: net.hub.url, token: (net.ownerHub.portableOptions().token)!, cacheDir: join(dir, 'cache'), retries: 0 });
    const repoId = defaultResultsRepo((await hub.whoAmI()).name, NETUID, validatorKey.address);
    const publisher = new ResultsPublisher({ hub, chain: net.chain, netuid: NETUID, pair: validatorKey.pair!, repoId, log });
    const v = new Validator({ chain: net.chain, hub, store, index, netuid: NETUID, signer: validatorKey, backend, log, publisher, blockSeconds: 12, pollMs: 10 });
    try {
      const pass = await v.runPass();
      expect(pass.weights?.status).toBe('set');
      await publisher.idle();
      expect(publisher.counts).toEqual({ published: 1, failed: 0 });

      // the chain points to the repo; the file there parses and its signature is the hotkey's
      const pointer = await net.chain.getCommitment({ netuid: NETUID, hotkey: validatorKey.address });
      expect(parseResultsPointer(pointer!.data)).toEqual({ ok: true, value: { repoId } });
      const reader = new HubClient({ hubUrl: net.hub.url, cacheDir: join(net.root, 'reader-cache'), retries: 0 });
      const file = await reader.downloadFile({ repo: repoId, type: 'dataset', revision: publisher.last!.revision, path: RESULTS_FILE });
      const parsed = parseSignedResults(readFileSync(file, 'utf8'));
      if (!parsed.ok) throw new Error(parsed.reason);
      expect(await verifyResults(parsed.value, validatorKey.address)).toEqual({ ok: true });
      const doc = parsed.value.document;

      const round = store.latestRound()!;
      expect(doc).toMatchObject({ netuid: NETUID, validator: validatorKey.address, block: round.block, round: round.id, compute: v.compute });
      expect(doc.competition).toEqual({ id: '1', repoId: 'flock/competition-1', revision: net.competitionRevision });
      const base = store.getEvaluation(round.competitionKey, BASE_EVALUATION)!;
      expect(doc.base.losses.map(fromWireNumber)).toEqual(Array.from(base.losses!));
      for (const u of round.perUid) {
        const p = doc.uids.find((x) => x.uid === u.uid)!;
        expect(p.weight, `uid ${u.uid}`).toBe(u.weight);
        expect(p.winRate).toBe(u.winRate);
        if (u.weight === 0) expect(p.reason).toBe(u.reason ?? null);
      }
      const good = doc.uids.find((x) => x.repoId === 'miners/good')!;
      const stored = store.getEvaluation(round.competitionKey, good.datasetIdentity!)!;
      expect(good.losses!.map(fromWireNumber)).toEqual(Array.from(stored.losses!));
      expect(good.receipt).toEqual(stored.receipt);
      expect(doc.uids.find((x) => x.commitment?.startsWith('not a commitment'))).toMatchObject({ stage: 'commitment', weight: 0 });

      // the next pass: the validator's own pointer is no submission of its uid
      await net.dev.produceBlocks(2);
      await v.runPass();
      const own = store.latestSubmissions().filter((s) => s.hotkey === validatorKey.address);
      expect(own).toEqual([]);
    } finally {
      publisher.close();
      await v.close();
      index.close();
      store.close();
    }
  });

  it('a hub that refuses the upload is retried in the background; the round is scored all the same', async () => {
    const dir = join(net.root, 'v2');
    const store = openStore(join(dir, 'validator.sqlite'));
    const index = FingerprintIndex.open(join(dir, 'fingerprints.sqlite'));
    const hub = new HubClient({ hubUrl: net.hub.url, token: 'hf_not_a_token_the_hub_knows', cacheDir: join(dir, 'cache'), retries: 0 });
    const { log: warnLog, warnings } = recording();
    const publisher = new ResultsPublisher({ hub, chain: net.chain, netuid: NETUID, pair: net.owner.pair!, repoId: 'nobody/results', log: warnLog, retryBaseMs: 20, maxBackoffMs: 40 });
    const v = new Validator({
      chain: net.chain, hub: net.validatorHub(join(dir, 'vcache')), store, index, netuid: NETUID, signer: net.owner, backend, log, publisher, blockSeconds: 12, pollMs: 10,
    });
    try {
      await net.dev.produceBlocks(2);
      const pass = await v.runPass();
      expect(pass.weights?.status).toBe('set');
      expect(store.latestRound()).toBeDefined();
      const started = Date.now();
      while (publisher.counts.failed < 2 && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 10));
      expect(publisher.counts.failed).toBeGreaterThanOrEqual(2);
      expect(publisher.counts.published).toBe(0);
      expect(warnings[0]).toMatch(/^publishing the results of round \d+ failed; retrying in [\d.]+ s \(validation goes on\): .*401/s);
      expect(warnings.join('\n')).not.toContain('hf_not_a_token_the_hub_knows');
    } finally {
      publisher.close();
      await v.close();
      index.close();
      store.close();
    }
  });
});
