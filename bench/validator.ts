/**
 * Validator benchmark: one full round of a running validator with the tiny model and N newly
 * committed datasets (default 32) on a devnet and a local hub. Prints the round's wall time, the
 * share spent outside training + evaluation (target ≤ 5%), peak RSS, and the time to fingerprint
 * and copy-check all datasets. The validator's first pass (start-up, with 4 datasets committed
 * before it) is timed apart.
 *
 * The devnet and the hub run in a child process, as the chain node and Hugging Face are other
 * machines for a real validator: their work is not the validator's. `--in-process` runs them in
 * the validator's process instead (their CPU time then counts as time outside training).
 *
 *   npx tsx bench/validator.ts [datasets=32] [rows=32] [threads=2] [--in-process]
 */
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { keypairFromUri, SubtensorChain } from '../src/chain/index.js';
import { CpuBackend } from '../src/engine/backend/cpu/cpu-backend.js';
import { FingerprintIndex } from '../src/dataset/index.js';
import { HubClient } from '../src/hub/index.js';
import { formatCommitment } from '../src/protocol/index.js';
import { silentLogger } from '../src/util/log.js';
import { openStore } from '../src/validator/store.js';
import { loadCompetition } from '../src/evaluation/competition.js';
import { inThreadReader } from '../src/validator/dataset-reader.js';
import { evaluateDataset } from '../src/evaluation/evaluate.js';
import { DatasetFiles, intakeSubmission } from '../src/validator/intake.js';
import { OverlapCache } from '../src/validator/round.js';
import { Validator } from '../src/validator/validator.js';
import { NETUID, startSubnet, taskRows, toJsonl, type Miner, type TestSubnet } from '../test/validator/subnet.js';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const N = Number(positional[1] === undefined && positional[0] === 'servers' ? 32 : positional[0] ?? 32);
const ROWS = Number(positional[1] ?? 32);
const THREADS = Number(positional[2] ?? 2);
const IN_PROCESS = process.argv.includes('--in-process');

const secs = (ms: number) => (ms / 1000).toFixed(2);

/** Where the subnet runs: its endpoints and state folder. */
interface Endpoints { chainUrl: string; hubUrl: string; root: string }

/** The subnet: devnet, hub, registered miners with their datasets published. */
interface BenchSubnet { net: TestSubnet; commitAll(): Promise<void> }

/** Datasets committed before the validator starts: its first pass takes them in and trains them. */
const EARLY = 4;

/**
 * `EARLY` miners commit at once; `n` more register and publish now but commit only in `commitAll`,
 * which then moves the chain into the next epoch (a new weight window).
 */
async function setUp(n: number, rows: number): Promise<BenchSubnet> {
  const net = await startSubnet({ tempo: 1000, weightsRateLimit: 2, maxAllowedUids: n + EARLY + 8 });
  const commitment = (m: Miner, sha: string) => formatCommitment({ repoId: `miners/${m.name}`, competitionId: '1', revision: sha });
  for (let i = 0; i < EARLY; i++) {
    const miner = await net.register(`early${i}`);
    await net.commit(miner, commitment(miner, await net.publish(miner.name, toJsonl(taskRows(rows, 500 + i)))));
  }
  const later: Array<{ miner: Miner; sha: string }> = [];
  for (let i = 0; i < n; i++) {
    const miner = await net.register(`m${i}`);
    later.push({ miner, sha: await net.publish(miner.name, toJsonl(taskRows(rows, 1000 + i))) });
  }
  return {
    net,
    async commitAll() {
      for (const { miner, sha } of later) await net.commit(miner, commitment(miner, sha));
      const info = await net.chain.subnetInfo({ netuid: NETUID });
      await net.dev.produceBlocks(info.nextEpochBlock - info.block.number + 1);
    },
  };
}

/** Child role: set the subnet up, print its endpoints as one JSON line, then serve; "commit" commits every dataset. */
async function serversRole(n: number, rows: number): Promise<void> {
  const subnet = await setUp(n, rows);
  const { net } = subnet;
  process.stdout.write(`${JSON.stringify({ chainUrl: net.dev.url, hubUrl: net.hub.url, root: net.root } satisfies Endpoints)}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'commit') {
      await subnet.commitAll();
      process.stdout.write('committed\n');
    }
  }
  await net.close();
  process.exit(0);
}

interface Servers { endpoints: Endpoints; commitAll(): Promise<void>; close(): Promise<void> }

async function startServers(): Promise<Servers> {
  if (IN_PROCESS) {
    const subnet = await setUp(N, ROWS);
    const { net } = subnet;
    return { endpoints: { chainUrl: net.dev.url, hubUrl: net.hub.url, root: net.root }, commitAll: () => subnet.commitAll(), close: () => net.close() };
  }
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'servers', String(N), String(ROWS)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async () => {
    const r = await lines.next();
    if (r.done) throw new Error('the subnet process exited');
    return r.value;
  };
  const endpoints = JSON.parse(await nextLine()) as Endpoints;
  return {
    endpoints,
    async commitAll() {
      child.stdin.write('commit\n');
      await nextLine();
    },
    async close() {
      child.stdin.end();
      await once(child, 'exit');
    },
  };
}

async function main(): Promise<void> {
  console.log(`setting up ${N} miners with ${ROWS}-row datasets (devnet and hub ${IN_PROCESS ? 'in this process' : 'in a child process'})…`);
  const servers = await startServers();
  const { chainUrl, hubUrl, root } = servers.endpoints;
  const chain = await SubtensorChain.connect({ endpoint: chainUrl, txTimeoutMs: 20_000 });
  const backend = new CpuBackend({ threads: THREADS });
  try {
    const stateDir = join(root, 'state');
    const store = openStore(join(stateDir, 'validator.sqlite'));
    const index = FingerprintIndex.open(join(stateDir, 'fingerprints.sqlite'));
    const hub = new HubClient({ hubUrl, cacheDir: join(stateDir, 'cache'), retries: 0, timeoutMs: 5000 });
    const signer = await keypairFromUri('//Alice'); // the subnet owner, also its validator
    const v = new Validator({ chain, hub, store, index, netuid: NETUID, signer, backend, log: silentLogger, blockSeconds: 12 });

    // start-up: the validator's first pass (chain client, competition and base model loaded, the
    // intake thread started, the base model and the EARLY datasets committed so far evaluated, weights set)
    const s0 = performance.now();
    const first = await v.runPass();
    const startup = performance.now() - s0;
    console.log(`first pass (start-up, ${EARLY} datasets committed before it): ${secs(startup)} s, of which inside the engine ${secs(v.metrics.evaluationSecondsSum * 1000)} s; weights ${first.weights?.status}`);

    // the round: all N miners commit, the chain enters a new weight window, the validator's next pass
    await servers.commitAll();
    const engineBefore = v.metrics.evaluationSecondsSum;
    const countBefore = v.metrics.evaluationSecondsCount;
    const t0 = performance.now();
    const pass = await v.runPass(); // what `flock validator run` does each pass
    const round = performance.now() - t0;
    const inEngine = (v.metrics.evaluationSecondsSum - engineBefore) * 1000;
    const evaluations = v.metrics.evaluationSecondsCount - countBefore;
    console.log(`round: ${secs(round)} s wall for ${N} newly committed datasets (${evaluations} evaluations, ${pass.failed} failed), weights ${pass.weights?.status}`);
    console.log(`  inside the engine: ${secs(inEngine)} s (${secs(inEngine / evaluations)} s per evaluation)`);
    console.log(`  intake of ${N} datasets beside training (download, validate, fingerprint, copy index): ${v.metrics.lastIntakeSeconds.toFixed(2)} s wall`);
    console.log(`  share outside training/evaluation: ${((100 * (round - inEngine)) / round).toFixed(2)}% (target ≤ 5%)`);
    const state = await v.sync(); // the chain view for the intake figures below (nothing new to take in)

    // fingerprint + copy-check all N again with an empty index (files from the local cache)
    const competition = await loadCompetition(hub, state.competition.pointer, silentLogger);
    const fresh = openStore(':memory:');
    const freshIndex = FingerprintIndex.open(':memory:');
    const files = new DatasetFiles();
    const ctx = { reader: inThreadReader(hub), store: fresh, index: freshIndex, files, competition, log: silentLogger };
    const subs = [...state.commitments.values()].map((c) => fresh.recordSubmission({
      uid: c.uid, hotkey: c.hotkey, commitment: c.commitment.data, block: c.commitment.block,
      competitionId: '1', repoId: c.submission.repoId, revision: c.submission.revision,
    }).submission);
    const f0 = performance.now();
    const identityOf = new Map<string, string>(); // repo → dataset identity
    for (const s of subs) {
      const r = await intakeSubmission(ctx, s);
      if (r.kind === 'accepted') identityOf.set(s.repoId!, r.identity);
    }
    const f1 = performance.now();
    const cache = new OverlapCache(freshIndex);
    let overlapping = 0;
    for (const fp of files.fingerprints.values()) overlapping += cache.matches(fp).length;
    const f2 = performance.now();
    await v.close();
    console.log(`fingerprint + copy-check ${N} datasets (in the main thread): ${secs(f2 - f0)} s (read+validate+fingerprint+contamination+index ${secs(f1 - f0)} s, overlap queries ${secs(f2 - f1)} s; ${overlapping} overlapping pairs)`);
    // the same evaluations back to back with nothing else running: what the round would take if
    // the validator cost nothing (contention from intake and the servers' process included above)
    const b0 = performance.now();
    let engineAlone = 0;
    const roundDatasets = new Set([...identityOf].filter(([repo]) => /^miners\/m\d+$/.test(repo)).map(([, identity]) => identity));
    for (const [identity, path] of [...files.paths].filter(([identity]) => roundDatasets.has(identity))) {
      const r = await evaluateDataset({ competition, backend, datasetPath: path, identity });
      engineAlone += r.seconds;
    }
    const alone = performance.now() - b0;
    console.log(`the round's ${roundDatasets.size} evaluations again, back to back, nothing else running: ${secs(alone)} s wall (${secs(engineAlone * 1000)} s inside the engine); the round took ${((100 * (round - alone)) / round).toFixed(2)}% longer than that`);
    console.log(`peak RSS of the validator process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
    fresh.close();
    freshIndex.close();
    index.close();
    store.close();
  } finally {
    backend.dispose();
    await chain.close();
    await servers.close();
  }
}

if (positional[0] === 'servers') await serversRole(Number(positional[1]), Number(positional[2]));
else await main();
