/**
 * Published results benchmark, side by side with what they cost to make:
 * 1. A validator's cost of publishing one round: a results document for U uids (default 256) with
 *    E per-example losses each (default 1 000) — canonical JSON, sr25519 signature, upload as a
 *    commit to the local hub — against reading it back (download, parse, verify) as a reader does.
 * 2. `flock audit` of one uid (the tiny model, a 32-row dataset, the whole re-run: competition and
 *    dataset download, training, evaluation) against the original evaluation in the validator.
 *
 *   npx tsx bench/results.ts [uids=256] [evalRows=1000]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { auditResults } from '../src/audit/audit.js';
import { signResults, verifyResults } from '../src/chain/results-signature.js';
import { FingerprintIndex } from '../src/dataset/index.js';
import { CpuBackend } from '../src/engine/backend/cpu/cpu-backend.js';
import { HubClient } from '../src/hub/index.js';
import {
  canonicalJson, formatCommitment, formatSignedResults, parseSignedResults, RESULTS_FILE, RESULTS_FORMAT, type PublishedUid, type ResultsDocument,
} from '../src/protocol/index.js';
import { silentLogger } from '../src/util/log.js';
import { ResultsPublisher } from '../src/validator/publisher.js';
import { openStore } from '../src/validator/store.js';
import { Validator } from '../src/validator/validator.js';
import { NETUID, startSubnet, taskRows, toJsonl } from '../test/validator/subnet.js';

const UIDS = Number(process.argv[2] ?? 256);
const EVAL = Number(process.argv[3] ?? 1000);
const ms = (t: number) => `${t.toFixed(1)} ms`;

function bigDocument(validator: string): ResultsDocument {
  const receipt = {
    engine: 'flock-engine', engineVersion: '2.0.0', backend: 'webgpu', kernels: { matmul: 'tiled', attention: 'fused' }, device: 'NVIDIA / ada / RTX 4090',
    compute: 'flock-engine 2.0.0 · webgpu · attention=fused matmul=tiled · NVIDIA', modelHash: 'a'.repeat(64), datasetHash: 'b'.repeat(64),
    evalSetHash: 'c'.repeat(64), recipeHash: 'd'.repeat(64), seed: 12345, adapterHash: 'e'.repeat(64), droppedContaminatedRows: 0,
  };
  const losses = () => Array.from({ length: EVAL }, () => 1 + Math.random() * 4);
  const uids: PublishedUid[] = Array.from({ length: UIDS }, (_, uid) => ({
    uid, hotkey: `5${String(uid).padStart(47, 'x')}`, commitment: `miner-${uid}/dataset:1:${'f'.repeat(40)}`, commitmentBlock: 1000 + uid,
    repoId: `miner-${uid}/dataset`, revision: 'f'.repeat(40), datasetIdentity: uid.toString(16).padStart(64, '0'),
    evalLoss: 2.5, losses: losses(), winRate: 0.5, score: 1 / UIDS, weight: 1 / UIDS, stage: null, reason: null, receipt,
  }));
  return {
    format: RESULTS_FORMAT, netuid: 1, validator, competition: { id: '1', repoId: 'flock/competition-1', revision: 'b'.repeat(40) }, block: 5000, round: 7,
    compute: receipt.compute, createdAt: new Date().toISOString(), base: { evalLoss: 3, losses: losses(), receipt: { ...receipt, datasetHash: null, adapterHash: null } }, uids,
  };
}

async function publishingCost(): Promise<void> {
  await cryptoWaitReady();
  const net = await startSubnet({ tempo: 1000 });
  try {
    const pair = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri('//Validator');
    const doc = bigDocument(pair.address);
    const hub = new HubClient({ hubUrl: net.hub.url, token: net.ownerHub.portableOptions().token!, cacheDir: join(net.root, 'pub'), retries: 0 });
    await hub.createRepo({ repo: 'flock/results-bench', type: 'dataset', existOk: true });
    const runs: Array<Record<string, number>> = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const canonical = canonicalJson(doc);
      const t1 = performance.now();
      const signed = await signResults(doc, pair);
      const t2 = performance.now();
      const text = formatSignedResults(signed);
      const revision = await hub.uploadFiles({ repo: 'flock/results-bench', type: 'dataset', files: [{ path: RESULTS_FILE, content: text }], message: `round ${i}` });
      const t3 = performance.now();
      const reader = new HubClient({ hubUrl: net.hub.url, cacheDir: join(net.root, `read-${i}`), retries: 0 });
      const file = await reader.downloadFile({ repo: 'flock/results-bench', type: 'dataset', revision, path: RESULTS_FILE });
      const parsed = parseSignedResults(readFileSync(file, 'utf8'));
      if (!parsed.ok) throw new Error(parsed.reason);
      const verified = await verifyResults(parsed.value, pair.address);
      if (!verified.ok) throw new Error(verified.reason);
      const t4 = performance.now();
      runs.push({ canonical: t1 - t0, sign: t2 - t1, upload: t3 - t2, read: t4 - t3, bytes: Buffer.byteLength(text), canonicalBytes: canonical.length });
    }
    const best = (k: string) => Math.min(...runs.map((r) => r[k]!));
    console.log(`publishing a round of ${UIDS} uids × ${EVAL} per-example losses (${(runs[0]!.bytes / 1e6).toFixed(1)} MB file; best of 3):`);
    console.log(`  canonical JSON ${ms(best('canonical'))}, canonical JSON + sr25519 signature ${ms(best('sign'))}, upload as a commit to the local hub ${ms(best('upload'))}`);
    console.log(`  a reader: download + parse + schema check + verify ${ms(best('read'))}`);
  } finally {
    await net.close();
  }
}

async function auditCost(): Promise<void> {
  const net = await startSubnet({ tempo: 1000, weightsRateLimit: 1 });
  const backend = new CpuBackend({ threads: 1 });
  try {
    const validatorKey = await net.addValidator();
    const miner = await net.register('good');
    await net.commit(miner, formatCommitment({ repoId: 'miners/good', competitionId: '1', revision: await net.publish('good', toJsonl(taskRows(32, 7))) }));
    const dir = join(net.root, 'v');
    const store = openStore(join(dir, 'validator.sqlite'));
    const index = FingerprintIndex.open(join(dir, 'fingerprints.sqlite'));
    const hub = new HubClient({ hubUrl: net.hub.url, token: net.ownerHub.portableOptions().token!, cacheDir: join(dir, 'cache'), retries: 0 });
    const publisher = new ResultsPublisher({ hub, chain: net.chain, netuid: NETUID, pair: validatorKey.pair!, repoId: 'flock/results-audit', log: silentLogger });
    const v = new Validator({ chain: net.chain, hub, store, index, netuid: NETUID, signer: validatorKey, backend, log: silentLogger, publisher, blockSeconds: 12 });
    await v.runPass();
    await publisher.idle();
    const evaluated = v.metrics.evaluationSecondsSum / v.metrics.evaluationSecondsCount; // base and the dataset, engine seconds each
    const file = await hub.downloadFile({ repo: 'flock/results-audit', type: 'dataset', revision: publisher.last!.revision, path: RESULTS_FILE });
    const parsed = parseSignedResults(readFileSync(file, 'utf8'));
    if (!parsed.ok) throw new Error(parsed.reason);
    const t0 = performance.now();
    const report = await auditResults({ document: parsed.value.document, backend, hub: new HubClient({ hubUrl: net.hub.url, cacheDir: join(net.root, 'audit'), retries: 0 }), log: silentLogger, uids: [miner.uid] });
    const audit = (performance.now() - t0) / 1000;
    const perEval = report.evaluations.map((e) => `${e.label} ${e.seconds.toFixed(2)} s (${e.verdict})`).join(', ');
    console.log(`audit of one uid (tiny model, 32-row dataset): ${audit.toFixed(2)} s wall for ${report.evaluations.length} re-runs [${perEval}]; `
      + `the validator's evaluations took ${evaluated.toFixed(2)} s each inside the engine (mean of ${v.metrics.evaluationSecondsCount})`);
    publisher.close();
    await v.close();
    index.close();
    store.close();
  } finally {
    backend.dispose();
    await net.close();
  }
}

await publishingCost();
await auditCost();
