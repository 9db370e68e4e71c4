/**
 * The local subnet (`flock localnet`): the whole system on one machine, offline. A devnet node and
 * a local hub on free loopback ports; wallets; validators registered and staked; a tiny base model
 * and a competition whose evaluation set comes from the built-in task (tasks.ts), published with
 * the same code as `flock owner publish`; miners with datasets of known quality submitted with the
 * same code as `flock miner submit`; validators running the validator loop's passes through real
 * epochs; and the leaderboard read back from the validators and the chain.
 *
 * Blocks are produced on demand: a transaction seals its block at once, and between rounds the
 * local subnet produces the blocks up to the next epoch, so a round costs only its compute.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metagraph } from '../chain/chain.js';
import { startDevnet, type Devnet } from '../chain/devnet/index.js';
import { SubtensorChain, Wallet, type WalletKeypair } from '../chain/index.js';
import { FingerprintIndex } from '../dataset/index.js';
import type { Backend } from '../engine/backend/backend.js';
import { createBackend } from '../engine/backend/select.js';
import { writePresetCheckpoint, type PresetName } from '../engine/presets.js';
import { AdapterCache } from '../evaluation/adapter-cache.js';
import { EvaluationQueue, startEvaluationWorker, type EvaluationWorker } from '../evaluation/queue.js';
import { HubClient, startHubServer, type HubServer } from '../hub/index.js';
import { publishCompetition } from '../owner/publish.js';
import { openRound, revealRound } from '../owner/rounds.js';
import { submitDataset } from '../miner/submit.js';
import { roundAt, type CompetitionInput } from '../protocol/index.js';
import { FlockError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { startRedisServer } from '../util/redis-server.js';
import { openStore, BASE_EVALUATION, type ValidatorStore } from '../validator/store.js';
import { Validator } from '../validator/validator.js';
import { defaultResultsRepo, ResultsPublisher } from '../validator/publisher.js';
import { devKey, localKey } from './keys.js';
import { DATASET_KINDS, MAX_LOCALNET_ROUNDS, buildTaskData, roundEvalRows, toJsonl, type DatasetKind } from './tasks.js';

export const LOCALNET_NETUID = 1;
/**
 * Blocks each sealed round's submission window lasts: room for every miner's submission (about two
 * blocks each) and the epoch that gives validators their permits. Blocks are produced on demand,
 * so a longer window costs nothing but block numbers.
 */
const ROUND_WINDOW_BLOCKS = 60;
const OWNER_TOKEN = 'hf_localnet_owner';
const MINER_TOKEN = 'hf_localnet_miners';
const VALIDATOR_TOKEN = 'hf_localnet_validators';

export interface LocalnetOptions {
  /** Working folder (chain state, hub, wallets, datasets, validator state); a temporary one when absent. */
  dir?: string;
  /** Miners (default: one per dataset kind, 7). */
  miners?: number;
  /** Validators (default 3; 2 with quick). */
  validators?: number;
  /**
   * Sealed evaluation rounds (default 3; 2 with quick; at least 2): each round's set is committed
   * when it opens and revealed when its window closes; validators score each revealed round over
   * one epoch.
   */
  rounds?: number;
  /** Smaller evaluation set, datasets and recipe: a run in a couple of minutes. */
  quick?: boolean;
  /** CPU threads for training (default: all cores; with `workers`, the cores shared among them). */
  threads?: number;
  /**
   * Evaluation workers per validator: each validator enqueues its evaluations on a Redis queue of
   * its own (a `redis-server` started here) and this many workers run them. 0 or absent: the
   * validators train in their own process.
   */
  workers?: number;
  log: Logger;
  /** Ctrl-C: everything stops after the current step and is closed. */
  signal?: AbortSignal;
  /** Progress of the run, one line per stage (the CLI prints these). */
  onProgress?: (message: string) => void;
  /**
   * Called after the rounds with the final report while everything still runs (devnet, hub,
   * validators' published results), e.g. to serve the dashboard until `signal` aborts; the
   * subnet is closed when it returns.
   */
  serve?: (ctx: LocalnetServeContext) => Promise<void>;
}

/** What `LocalnetOptions.serve` gets: the report and the running subnet. */
export interface LocalnetServeContext {
  report: LocalnetReport;
  chain: SubtensorChain;
  devnet: Devnet;
  hubUrl: string;
  signal?: AbortSignal;
}

/** The sizes and recipe of a run. */
export interface LocalnetProfile {
  preset: PresetName;
  evalRows: number;
  datasetRows: number;
  tempo: number;
  competition: Omit<CompetitionInput, 'baseModel'> & { baseModel: { repo: string } };
}

/**
 * The competition of a local run. The recipe is tuned so the tiny model learns the task in a few
 * dozen optimizer steps (higher learning rate, short warm-up, short sequences); the softmax
 * temperature is raised so datasets ranked below the best keep a visible share of the weight.
 */
export function localnetProfile(quick: boolean): LocalnetProfile {
  return {
    preset: 'tiny',
    evalRows: quick ? 24 : 48,
    datasetRows: quick ? 48 : 96,
    tempo: 20,
    competition: {
      protocol: 2, id: '1', title: 'localnet: shout the words',
      baseModel: { repo: 'flock/localnet-tiny-llama' },
      recipe: {
        epochs: quick ? 1 : 2, gradientAccumulation: 2, warmupSteps: 2, maxSeqLen: 160,
        optimizer: { lr: 1e-2 }, lora: { rank: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'v_proj', 'o_proj', 'down_proj'] },
      },
      // protocol 2's containment minimum scaled to these small datasets: the diluted copier holds all the good dataset's rows
      scoring: { tau: 0.5, containmentMinRows: quick ? 24 : 48 },
      limits: { maxRows: 400, maxBytes: 256 * 1024, maxTokensPerRow: 512 },
    },
  };
}

export interface MinerReport {
  uid: number;
  kind: DatasetKind | string;
  hotkey: string;
  repo: string;
  commitment: string;
  block: number;
  /** Mean eval loss as the first validator measured it (absent when not evaluated). */
  evalLoss: number | null;
  winRate: number;
  /** Each validator's last weight for this uid (in validator order). */
  weights: number[];
  incentive: number;
  emission: number;
  /** Why the weight is zero (stage: reason), from the first validator's last round. */
  zeroReason: string | null;
}

export interface ValidatorReport {
  uid: number;
  hotkey: string;
  stake: number;
  validatorTrust: number;
  dividends: number;
  emission: number;
  /** Datasets it trained and evaluated (the base model included), itself or through its workers. */
  evaluations: number;
  /** Its last published round results (null: none published). */
  results: { repo: string; round: number; block: number; revision: string } | null;
  /** With workers: the jobs each of its workers completed. */
  workers?: { name: string; completed: number; failed: number }[];
}

/** One sealed round of the run. */
export interface SealedRoundReport {
  round: number;
  /** Submission window: commitments at blocks opens ≤ b < closes take part. */
  opens: number;
  closes: number;
  /** SHA-256 of the evaluation file, committed when the round opened. */
  evalSha256: string;
  /** Block of the owner's pointer to the revision that revealed the set (null: never revealed). */
  revealBlock: number | null;
  /** Uids whose commitment takes part in the round (committed in its window or an earlier one). */
  participants: number[];
}

export interface LocalnetReport {
  dir: string;
  chain: string;
  hub: string;
  netuid: number;
  competition: { id: string; repo: string; revision: string; pointer: string };
  quick: boolean;
  /** Sealed rounds run (each scored over one epoch). */
  rounds: number;
  sealedRounds: SealedRoundReport[];
  block: number;
  baseLoss: number | null;
  miners: MinerReport[];
  validators: ValidatorReport[];
  /** Evaluation workers per validator (0: the validators trained in their own process). */
  workers: number;
  /** Seconds per stage, and in total. */
  seconds: Record<string, number>;
}

/** The kind of the i-th miner: one of each kind, then fresh good datasets (committed later). */
function kindOf(i: number): { kind: DatasetKind | string; base: DatasetKind } {
  if (i < DATASET_KINDS.length) return { kind: DATASET_KINDS[i]!, base: DATASET_KINDS[i]! };
  return { kind: `good-${i - DATASET_KINDS.length + 2}`, base: 'good' };
}

/** Thrown when the run was stopped (Ctrl-C). */
export class LocalnetStopped extends FlockError {
  override name = 'LocalnetStopped';
  constructor() {
    super('the local subnet was stopped', { exitCode: 130 });
  }
}

/**
 * Run the local subnet end to end and return its leaderboard. Everything it started (node, hub,
 * chain clients, training threads, state DBs) is closed before it returns or throws.
 *
 * @example
 * const report = await runLocalnet({ quick: true, log });
 * console.log(formatLocalnetReport(report));
 */
export async function runLocalnet(o: LocalnetOptions): Promise<LocalnetReport> {
  const quick = Boolean(o.quick);
  const profile = localnetProfile(quick);
  const nMiners = o.miners ?? DATASET_KINDS.length;
  const nValidators = o.validators ?? (quick ? 2 : 3);
  const rounds = o.rounds ?? (quick ? 2 : 3);
  if (rounds < 2 || rounds > MAX_LOCALNET_ROUNDS) {
    throw new FlockError(`a local subnet runs 2 to ${MAX_LOCALNET_ROUNDS} sealed rounds, not ${rounds}`, { hint: 'the second round is where a miner who trained on the first revealed set is caught' });
  }
  const log = o.log;
  const progress = o.onProgress ?? ((m: string) => log.info(m));
  const started = performance.now();
  const seconds: Record<string, number> = {};
  let stageStart = performance.now();
  const stage = (name: string) => {
    seconds[name] = Number(((performance.now() - stageStart) / 1000).toFixed(2));
    stageStart = performance.now();
  };
  const checkStop = () => {
    if (o.signal?.aborted) throw new LocalnetStopped();
  };

  if (o.dir && existsSync(o.dir) && readdirSync(o.dir).length > 0) {
    throw new FlockError(`${o.dir} is not empty`, {
      hint: 'a local subnet starts from scratch: pass a new or empty folder, or leave out --dir for a temporary one',
    });
  }
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'flock-localnet-'));
  mkdirSync(dir, { recursive: true });
  const closers: Array<() => Promise<void> | void> = [];
  const validators: Validator[] = [];
  const onAbort = () => validators.forEach((v) => v.stop());
  o.signal?.addEventListener('abort', onAbort);
  try {
    // ── chain and hub ──
    const dev: Devnet = await startDevnet({
      port: 0, blockTimeMs: 0, tempo: profile.tempo, netuid: LOCALNET_NETUID, weightsRateLimit: 1, immunityPeriod: 5000, maxAllowedUids: 64, log: log.child({ part: 'devnet' }),
    });
    closers.push(() => dev.close());
    const hub: HubServer = await startHubServer({ dir: join(dir, 'hub'), port: 0, tokens: [{ name: 'flock', token: OWNER_TOKEN }, { name: 'miners', token: MINER_TOKEN }, { name: 'validators', token: VALIDATOR_TOKEN }] });
    closers.push(() => hub.close());
    const chain = await SubtensorChain.connect({ endpoint: dev.url, txTimeoutMs: 30_000 });
    closers.push(() => chain.close());
    progress(`devnet on ${dev.url}, hub on ${hub.url}, working folder ${dir}`);
    checkStop();

    // ── wallets, registration, stake ──
    const walletsDir = join(dir, 'wallets');
    const owner = await devKey('Alice'); // the devnet's subnet owner
    const funder = await devKey('Bob'); // pays registrations and stake
    await new Wallet({ name: 'owner', hotkey: 'default', path: walletsDir }).setHotkey(owner, { overwrite: true });
    const validatorKeys: WalletKeypair[] = [];
    for (let i = 0; i < nValidators; i++) {
      const key = await localKey(`validator-${i + 1}`);
      await new Wallet({ name: `validator-${i + 1}`, hotkey: 'default', path: walletsDir }).setHotkey(key, { overwrite: true });
      await chain.burnedRegister({ netuid: LOCALNET_NETUID, hotkey: key.address, signer: funder });
      await chain.addStake({ netuid: LOCALNET_NETUID, hotkey: key.address, amount: 1000, signer: funder });
      validatorKeys.push(key);
    }
    const miners: Array<{ kind: DatasetKind | string; base: DatasetKind; key: WalletKeypair; uid: number; repo: string }> = [];
    for (let i = 0; i < nMiners; i++) {
      const { kind, base } = kindOf(i);
      const key = await localKey(`miner-${kind}`);
      await new Wallet({ name: `miner-${kind}`, hotkey: 'default', path: walletsDir }).setHotkey(key, { overwrite: true });
      const r = await chain.burnedRegister({ netuid: LOCALNET_NETUID, hotkey: key.address, signer: funder });
      miners.push({ kind, base, key, uid: r.uid, repo: `miners/${kind}` });
    }
    stage('wallets');
    progress(`registered ${nValidators} validator(s) (staked) and ${nMiners} miner(s)`);
    checkStop();

    // ── base model and a sealed competition (the owner's tools): round 1's set is only a hash on the hub ──
    const modelDir = join(dir, 'model');
    writePresetCheckpoint(modelDir, profile.preset, { seed: 11 });
    const data = buildTaskData({ evalRows: profile.evalRows, datasetRows: profile.datasetRows });
    const dataDir = join(dir, 'datasets');
    mkdirSync(dataDir, { recursive: true });
    const roundSets: string[] = [];
    for (let k = 1; k <= rounds; k++) {
      const path = join(dir, 'owner', `eval-round-${k}.jsonl`); // the owner's secret until the round's window closes
      mkdirSync(join(dir, 'owner'), { recursive: true });
      writeFileSync(path, toJsonl(roundEvalRows(profile.evalRows, k)));
      roundSets.push(path);
    }
    writeFileSync(join(dir, 'competition.json'), `${JSON.stringify(profile.competition, null, 2)}\n`);
    const ownerHub = new HubClient({ hubUrl: hub.url, token: OWNER_TOKEN, cacheDir: join(dir, 'cache', 'owner'), retries: 0 });
    const ownerLog = log.child({ part: 'owner' });
    const ownerTools = { chain, hub: ownerHub, netuid: LOCALNET_NETUID, owner, log: ownerLog };
    const published = await publishCompetition({
      ...ownerTools, competitionJson: profile.competition, sealed: { evalPath: roundSets[0]!, windowBlocks: ROUND_WINDOW_BLOCKS }, repo: 'flock/localnet-competition',
      model: { dir: modelDir },
    });
    let pointer = { revision: published.revision, pointer: published.pointer };
    const sealedRounds: SealedRoundReport[] = [];
    const firstRound = published.competition.protocol === 2 ? published.competition.rounds?.[0] : undefined;
    if (!firstRound) throw new FlockError('the sealed competition was published without its first round');
    sealedRounds.push({ round: 1, opens: firstRound.opens, closes: firstRound.closes, evalSha256: firstRound.evalSha256, revealBlock: null, participants: [] });
    progress(`owner published competition ${published.competition.id}: ${published.pointer}; round 1 open for blocks ${firstRound.opens}–${firstRound.closes - 1}, its evaluation set sealed (sha256 ${firstRound.evalSha256.slice(0, 16)}…)`);
    // validators need a permit: it comes with the next epoch after staking
    await advanceToNextEpoch(dev, chain);
    stage('publish');
    checkStop();

    // ── miners (the miner's tool) in round 1's window; copies commit later; the contaminated miner waits for round 1's set ──
    const minerHub = new HubClient({ hubUrl: hub.url, token: MINER_TOKEN, cacheDir: join(dir, 'cache', 'miners'), retries: 0 });
    const submitted = new Map<number, { commitment: string; block: number }>();
    const submit = async (m: (typeof miners)[number]) => {
      const rows = m.kind === m.base ? data.datasets[m.base] : buildTaskData({ evalRows: profile.evalRows, datasetRows: profile.datasetRows }, 1000 + m.uid).datasets.good;
      const path = join(dataDir, `${m.kind}.jsonl`);
      writeFileSync(path, toJsonl(rows));
      const r = await submitDataset({ chain, hub: minerHub, netuid: LOCALNET_NETUID, hotkey: m.key, datasetPath: path, repo: m.repo, log: log.child({ part: `miner ${m.kind}` }), pollMs: 50 });
      submitted.set(m.uid, { commitment: r.commitment, block: r.block });
      progress(`miner uid ${m.uid} (${m.kind}) committed ${r.commitment.slice(0, 40)}… at block ${r.block}`);
    };
    for (const m of miners) {
      checkStop();
      if (m.base === 'contaminated') continue;
      if (m.base === 'copy') await dev.produceBlocks(2); // visibly later than the original
      await submit(m);
    }
    if (dev.bestNumber() >= firstRound.closes) throw new FlockError(`the miners' submissions ran past round 1's window (block ${firstRound.closes})`);
    stage('submit');

    // ── validators: the validator loop's passes, one round per epoch ──
    const nWorkers = o.workers ?? 0;
    const workersOf: EvaluationWorker[][] = [];
    let backend: Backend | undefined;
    let redisUrl = '';
    if (nWorkers > 0) {
      const redis = await startRedisServer();
      closers.push(() => redis.stop());
      redisUrl = redis.url;
      progress(`redis-server on ${redis.url}: ${nWorkers} evaluation worker(s) per validator`);
    } else {
      backend = await createBackend('cpu', log, { threads: o.threads });
      closers.push(() => backend!.dispose());
    }
    const stores: ValidatorStore[] = [];
    const publishers: ResultsPublisher[] = [];
    for (let i = 0; i < nValidators; i++) {
      const vdir = join(dir, 'validators', `validator-${i + 1}`);
      const store = openStore(join(vdir, 'validator.sqlite'));
      const index = FingerprintIndex.open(join(vdir, 'fingerprints.sqlite'));
      closers.push(() => { index.close(); store.close(); });
      stores.push(store);
      let evaluator: { backend: Backend; adapters: AdapterCache } | { queue: EvaluationQueue };
      if (nWorkers > 0) {
        // a queue of its own per validator: each validator's verdict comes from work done for it alone
        const queueName = `flock-eval-validator-${i + 1}`;
        const queue = await EvaluationQueue.connect({ url: redisUrl, name: queueName, log: log.child({ validator: i + 1 }), pollMs: 200 });
        closers.push(() => queue.close());
        workersOf.push(await startLocalWorkers({ url: redisUrl, queueName, count: nWorkers, threads: o.threads, hubUrl: hub.url, dir: vdir, log: log.child({ validator: i + 1 }), closers }));
        await waitForWorkers(queue, nWorkers);
        evaluator = { queue };
      } else {
        // trained adapters kept: a dataset carried over to the next round is evaluated without training
        evaluator = { backend: backend!, adapters: new AdapterCache({ dir: join(vdir, 'adapters'), log: log.child({ validator: i + 1 }) }) };
      }
      // each validator publishes its rounds' signed results to a repo of its own, as on finney
      const validatorHub = new HubClient({ hubUrl: hub.url, token: VALIDATOR_TOKEN, cacheDir: join(vdir, 'cache'), retries: 0 });
      const publisher = new ResultsPublisher({
        hub: validatorHub, chain, netuid: LOCALNET_NETUID, pair: validatorKeys[i]!.pair!, log: log.child({ validator: i + 1 }),
        repoId: defaultResultsRepo('validators', LOCALNET_NETUID, validatorKeys[i]!.address), retryBaseMs: 200, maxBackoffMs: 2000,
      });
      closers.push(() => publisher.close());
      publishers.push(publisher);
      const validator = new Validator({
        chain, hub: validatorHub, store, index, netuid: LOCALNET_NETUID, publisher,
        signer: validatorKeys[i]!, ...evaluator, log: log.child({ validator: i + 1 }), blockSeconds: 12, pollMs: 10, retryBaseMs: 50,
      });
      closers.push(() => validator.close());
      validators.push(validator);
    }
    // ── sealed rounds: the next round opens back to back, this one is revealed when its window closes, validators score it ──
    for (let round = 1; round <= rounds; round++) {
      checkStop();
      if (round < rounds) {
        const next = await openRound({ ...ownerTools, evalPath: roundSets[round]!, windowBlocks: ROUND_WINDOW_BLOCKS });
        pointer = { revision: next.revision, pointer: next.pointer };
        sealedRounds.push({ round: next.round, opens: next.opens, closes: next.closes, evalSha256: next.evalSha256, revealBlock: null, participants: [] });
        progress(`owner opened round ${next.round} for blocks ${next.opens}–${next.closes - 1} (set sealed, sha256 ${next.evalSha256.slice(0, 16)}…)`);
      }
      const r = sealedRounds[round - 1]!;
      await dev.produceBlocks(Math.max(0, r.closes - dev.bestNumber()));
      const revealed = await revealRound({ ...ownerTools, evalPath: roundSets[round - 1]!, round });
      pointer = { revision: revealed.revision, pointer: revealed.pointer };
      r.revealBlock = revealed.block;
      progress(`owner revealed round ${round}'s evaluation set at block ${revealed.block}`);
      if (round === 1) {
        // a miner who trains on the set just revealed, committing in round 2's window
        for (const m of miners.filter((x) => x.base === 'contaminated')) await submit(m);
      }
      await advanceToNextEpoch(dev, chain);
      for (let i = 0; i < validators.length; i++) {
        checkStop();
        const pass = await validators[i]!.runPass();
        checkStop();
        progress(`round ${round}/${rounds}: validator ${i + 1} evaluated ${pass.evaluated} dataset(s), weights ${pass.weights?.status ?? 'none'}`);
      }
      seconds[`round${round}`] = Number(((performance.now() - stageStart) / 1000).toFixed(2));
      stageStart = performance.now();
    }
    const windows = sealedRounds.map((r) => ({ opens: r.opens, closes: r.closes, evalSha256: r.evalSha256 }));
    for (const r of sealedRounds) {
      r.participants = [...submitted.entries()].filter(([, c]) => { const k = roundAt(windows, c.block); return k !== null && k <= r.round; }).map(([uid]) => uid).sort((a, b) => a - b);
    }

    // the last round's results reach the hub before the report points to them
    await Promise.race([Promise.all(publishers.map((p) => p.idle())), new Promise((r) => setTimeout(r, 30_000).unref())]);

    // ── the leaderboard: validators' rounds + the chain's incentive and emission ──
    const mg = await chain.metagraph({ netuid: LOCALNET_NETUID });
    const first = stores[0]!.latestRound();
    const comp = stores[0]!.latestCompetition();
    const base = comp ? stores[0]!.getEvaluation(comp.key, BASE_EVALUATION) : undefined;
    const minerReports: MinerReport[] = miners.map((m) => {
      const s = first?.perUid.find((u) => u.uid === m.uid);
      const weights = stores.map((st) => st.latestRound()?.perUid.find((u) => u.uid === m.uid)?.weight ?? 0);
      return {
        uid: m.uid, kind: m.kind, hotkey: m.key.address, repo: m.repo,
        commitment: submitted.get(m.uid)?.commitment ?? '', block: submitted.get(m.uid)?.block ?? 0,
        evalLoss: s?.evalLoss ?? null, winRate: s?.winRate ?? 0, weights,
        incentive: mg.incentive[m.uid] ?? 0, emission: mg.emission[m.uid] ?? 0,
        zeroReason: (s?.weight ?? 0) > 0 ? null : s?.stage ? zeroReason(s.stage, s.reason) : 'not scored',
      };
    });
    const validatorReports: ValidatorReport[] = validatorKeys.map((k, i) => {
      const uid = mg.hotkeys.indexOf(k.address);
      return {
        uid, hotkey: k.address, stake: mg.stake[uid] ?? 0, validatorTrust: mg.validatorTrust[uid] ?? 0, dividends: mg.dividends[uid] ?? 0,
        emission: mg.emission[uid] ?? 0, evaluations: validators[i]!.metrics.evaluationsDone,
        results: publishers[i]!.last ? { repo: publishers[i]!.repoId, ...publishers[i]!.last! } : null,
        ...(nWorkers > 0 ? { workers: workersOf[i]!.map((w) => ({ name: w.name, completed: w.stats().completed, failed: w.stats().failed })) } : {}),
      };
    });
    seconds['total'] = Number(((performance.now() - started) / 1000).toFixed(2));
    const report: LocalnetReport = {
      dir, chain: dev.url, hub: hub.url, netuid: LOCALNET_NETUID,
      competition: { id: published.competition.id, repo: 'flock/localnet-competition', revision: pointer.revision, pointer: pointer.pointer },
      quick, rounds, sealedRounds, block: mg.block.number, baseLoss: base?.evalLoss ?? null, miners: minerReports, validators: validatorReports, workers: nWorkers, seconds,
    };
    if (o.serve) await o.serve({ report, chain, devnet: dev, hubUrl: hub.url, signal: o.signal });
    return report;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    for (const close of closers.reverse()) await Promise.resolve().then(close).catch((err: unknown) => log.debug('close failed', { err: String(err) }));
  }
}

/**
 * Start `count` evaluation workers for one validator's queue, in this process, each with a CPU
 * backend of its own (the cores shared among them unless `threads` says) and a hub cache of its own.
 */
async function startLocalWorkers(o: {
  url: string; queueName: string; count: number; threads?: number; hubUrl: string; dir: string; log: Logger; closers: Array<() => Promise<void> | void>;
}): Promise<EvaluationWorker[]> {
  const threads = o.threads ?? Math.max(1, Math.floor(availableParallelism() / o.count));
  const workers: EvaluationWorker[] = [];
  for (let j = 0; j < o.count; j++) {
    const name = `${o.queueName.replace(/^flock-eval-/, '')}-worker-${j + 1}`;
    const log = o.log.child({ worker: j + 1 });
    const backend = await createBackend('cpu', log, { threads });
    o.closers.push(() => backend.dispose());
    const worker = await startEvaluationWorker({
      url: o.url, name: o.queueName, workerName: name, backend, log, concurrency: 1,
      hub: new HubClient({ hubUrl: o.hubUrl, cacheDir: join(o.dir, `cache-worker-${j + 1}`), retries: 0 }),
      adapters: new AdapterCache({ dir: join(o.dir, `adapters-worker-${j + 1}`), log }),
    });
    o.closers.push(() => worker.close({ release: true })); // a job cut short by Ctrl-C goes back to the queue at once
    workers.push(worker);
  }
  return workers;
}

/** Wait until `count` workers serve the queue (they connect in the background). */
async function waitForWorkers(queue: EvaluationQueue, count: number, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    const computes = await queue.computes();
    if (computes.some((c) => c.workers >= count)) return;
    if (Date.now() - started > timeoutMs) throw new FlockError(`the local evaluation workers did not connect to Redis within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `stage: reason`, without repeating the stage when the reason already starts with it. */
function zeroReason(stage: string, reason: string | undefined): string {
  if (!reason) return stage;
  return reason.startsWith(`${stage}:`) ? reason : `${stage}: ${reason}`;
}

/** Produce blocks until the chain has run the subnet's next epoch. */
export async function advanceToNextEpoch(dev: Devnet, chain: SubtensorChain): Promise<Metagraph> {
  const info = await chain.subnetInfo({ netuid: LOCALNET_NETUID });
  const n = Math.max(1, info.nextEpochBlock - dev.bestNumber() + 1);
  await dev.produceBlocks(n);
  return chain.metagraph({ netuid: LOCALNET_NETUID });
}
