/**
 * Validator benchmark: one full round with the tiny model and N committed datasets (default 32)
 * on a devnet and a local hub started here. Prints the round's wall time, the share spent outside
 * training + evaluation (target ≤ 5%), peak RSS, and the time to fingerprint and copy-check all
 * datasets.
 *
 *   npx tsx bench/validator.ts [datasets=32] [rows=32] [threads=2]
 */
import { join } from 'node:path';
import { CpuBackend } from '../src/engine/backend/cpu/cpu-backend.js';
import { FingerprintIndex } from '../src/dataset/index.js';
import { formatCommitment } from '../src/protocol/index.js';
import { silentLogger } from '../src/util/log.js';
import { openStore } from '../src/validator/store.js';
import { loadCompetition } from '../src/validator/competition.js';
import { DatasetFiles, intakeSubmission } from '../src/validator/intake.js';
import { OverlapCache } from '../src/validator/round.js';
import { Validator } from '../src/validator/validator.js';
import { NETUID, startSubnet, taskRows, toJsonl } from '../test/validator/subnet.js';

const N = Number(process.argv[2] ?? 32);
const ROWS = Number(process.argv[3] ?? 32);
const THREADS = Number(process.argv[4] ?? 2);

const secs = (ms: number) => (ms / 1000).toFixed(2);

async function main(): Promise<void> {
  const net = await startSubnet({ tempo: 1000, weightsRateLimit: 2, maxAllowedUids: N + 8 });
  const backend = new CpuBackend({ threads: THREADS });
  try {
    console.log(`setting up ${N} miners with ${ROWS}-row datasets…`);
    for (let i = 0; i < N; i++) {
      const m = await net.register(`m${i}`);
      const sha = await net.publish(`m${i}`, toJsonl(taskRows(ROWS, 1000 + i)));
      await net.commit(m, formatCommitment({ repoId: `miners/m${i}`, competitionId: '1', revision: sha }));
    }
    const stateDir = join(net.root, 'state');
    const store = openStore(join(stateDir, 'validator.sqlite'));
    const index = FingerprintIndex.open(join(stateDir, 'fingerprints.sqlite'));
    const hub = net.validatorHub(join(stateDir, 'cache'));
    const v = new Validator({ chain: net.chain, hub, store, index, netuid: NETUID, signer: net.owner, backend, log: silentLogger, blockSeconds: 12 });

    const t0 = performance.now();
    const state = await v.sync();
    const t1 = performance.now();
    let evaluations = 0;
    while (await v.evaluateNext(state)) evaluations++;
    const t2 = performance.now();
    const { outcome } = await v.scoreAndSetWeights(state);
    const t3 = performance.now();
    const round = t3 - t0;
    const inEngine = v.metrics.evaluationSecondsSum * 1000;
    console.log(`round: ${secs(round)} s wall for ${N} datasets (${evaluations} evaluations incl. the base model), weights ${outcome?.status}`);
    console.log(`  sync: ${secs(t1 - t0)} s (chain reads, competition + model download; intake of ${N} datasets — download, validate, fingerprint, index — ${v.metrics.lastIntakeSeconds.toFixed(2)} s)`);
    console.log(`  train + evaluate: ${secs(t2 - t1)} s wall, of which inside the engine ${secs(inEngine)} s (${secs(inEngine / evaluations)} s per evaluation)`);
    console.log(`  score + copy check + set weights: ${secs(t3 - t2)} s`);
    console.log(`  share outside training/evaluation: ${((100 * (round - inEngine)) / round).toFixed(2)}% (target ≤ 5%)`);

    // fingerprint + copy-check all N again with an empty index (files from the local cache)
    const competition = await loadCompetition(hub, state.competition.pointer, silentLogger);
    const fresh = openStore(':memory:');
    const freshIndex = FingerprintIndex.open(':memory:');
    const files = new DatasetFiles();
    const ctx = { hub, store: fresh, index: freshIndex, files, competition, log: silentLogger };
    const subs = [...state.commitments.values()].map((c) => fresh.recordSubmission({
      uid: c.uid, hotkey: c.hotkey, commitment: c.commitment.data, block: c.commitment.block,
      competitionId: '1', repoId: c.submission.repoId, revision: c.submission.revision,
    }).submission);
    const f0 = performance.now();
    for (const s of subs) await intakeSubmission(ctx, s);
    const f1 = performance.now();
    const cache = new OverlapCache(freshIndex);
    let overlapping = 0;
    for (const fp of files.fingerprints.values()) overlapping += cache.matches(fp).length;
    const f2 = performance.now();
    console.log(`fingerprint + copy-check ${N} datasets: ${secs(f2 - f0)} s (read+validate+fingerprint+contamination+index ${secs(f1 - f0)} s, overlap queries ${secs(f2 - f1)} s; ${overlapping} overlapping pairs)`);
    console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
    fresh.close();
    freshIndex.close();
    index.close();
    store.close();
  } finally {
    backend.dispose();
    await net.close();
  }
}

await main();
