/**
 * The validator loop. One *pass*:
 *
 * 1. read the chain: block, subnet info, metagraph (our uid), weight transactions left pending by
 *    a crash, the owner's competition pointer → competition.json + eval set + base model (cached),
 *    every commitment (recorded);
 * 2. intake, beside the evaluations: every committed dataset of the competition not seen yet is
 *    downloaded, validated and fingerprinted into the copy index (no training), oldest commitment
 *    first, and queued by identity (the same data is never trained twice) unless it is a copy or
 *    contaminated;
 * 3. train + evaluate the queue — the base model first, which needs no intake, then datasets as
 *    intake queues them, oldest commitment first — storing losses and receipt in one transaction
 *    each, but set weights first when the window's end is closer than one evaluation;
 * 4. once intake has ended and the queue is empty, score the round and set weights once per
 *    window, within the rate limit.
 *
 * `run` repeats passes; faults (hub or chain down) back off and retry, keeping finished work.
 */
import type { Chain, Commitment, Metagraph, Signer, SubnetInfo } from '../chain/chain.js';
import { isChainUnavailable, NotRegisteredError } from '../chain/index.js';
import type { Backend } from '../engine/backend/backend.js';
import { computeIdentity } from '../engine/run.js';
import { contamination, type FingerprintIndex } from '../dataset/index.js';
import { IntegrityError, type HubClient } from '../hub/index.js';
import { parseResultsPointer } from '../protocol/results.js';
import {
  commitmentForCompetition, competitionRounds, parseCompetition, parseCompetitionPointer, roundAt, roundsProblem, roundVerdict, scoreRound, trainingVerdict,
  type CompetitionPointer, type Round, type RoundResult,
} from '../protocol/index.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { BackgroundTask } from './background.js';
import { BlockFollower } from './blocks.js';
import { CompetitionError, NoRoundRevealedError, loadCompetition, roundsHistoryProblem, sealedRoundOfKey, type LoadedCompetition } from '../evaluation/competition.js';
import type { AdapterCache } from '../evaluation/adapter-cache.js';
import { DatasetEvaluationError, evaluateDataset } from '../evaluation/evaluate.js';
import { DATASET_PATH, type EvaluationJob, type EvaluationJobFailure } from '../evaluation/jobs.js';
import { QueueUnavailableError, type EvaluationQueue } from '../evaluation/queue.js';
import type { DatasetReader } from './dataset-reader.js';
import { DATASET_FILE, DEFAULT_INTEGRITY_POLICY, integrityVerdict, integrityWaitReason, isIntegrityWaitReason, type IntegrityPolicy, type IntegrityVerdict } from './hub-faults.js';
import { DatasetFiles, DatasetGoneError, DatasetIntegrityError, datasetFile, intakeSubmission, isTransientHubError, readRequest, type IntakeContext } from './intake.js';
import { IntakeThread, IntakeThreadError } from './intake-thread.js';
import type { TrainingOutcome, TrainingRequest } from '../evaluation/training-set.js';
import { ValidatorMetrics } from './metrics.js';
import { OverlapCache, buildSubmissions, committersOf, overlapsOf, type UidCommitment } from './round.js';
import { RemoteEvaluations, type RemoteEvaluation, type SettledEvaluation } from './remote-evaluations.js';
import type { ResultsPublisher } from './publisher.js';
import { buildRoundResults } from './results.js';
import { BASE_EVALUATION, type CompetitionRecord, type EvaluationRecord, type HubIntegrityFailure, type SubmissionRecord, type ValidatorStore } from './store.js';
import { resolvePendingWeights, revealDueWeights, setWeightsForWindow, weightWindow, type SetWeightsOutcome } from './weights.js';

export interface ValidatorOptions {
  chain: Chain;
  /** Competition files and the base model are downloaded with it; datasets too, unless `reader` is given. */
  hub: HubClient;
  /** Reads submitted datasets (default: an `IntakeThread` over `hub`'s options, off the main thread). */
  reader?: DatasetReader;
  store: ValidatorStore;
  /** The copy index (every committed dataset's fingerprints). */
  index: FingerprintIndex;
  netuid: number;
  /** The validator's hotkey: signs weights. */
  signer: Signer;
  /** The engine's backend: evaluations run in this process. */
  backend?: Backend;
  /** Trained adapters kept across evaluations (with `backend`): a dataset evaluated again is not trained again. */
  adapters?: AdapterCache;
  /**
   * The evaluation queue (instead of `backend`): evaluations run on workers (`flock worker`), the
   * validator enqueues them and records their results.
   */
  queue?: EvaluationQueue;
  /** Jobs in flight at most with `queue` (default 32). */
  queueDepth?: number;
  /** Publishes each scored round's signed results (none: not published). */
  publisher?: ResultsPublisher;
  log: Logger;
  metrics?: ValidatorMetrics;
  /** Seconds per block (finney: 12); used to keep enough time to set weights. */
  blockSeconds?: number;
  /** Blocks kept free before the epoch ends beyond one evaluation's duration (default 2). */
  reserveBlocks?: number;
  /** Wait between passes when there is nothing to do (default: one block). */
  pollMs?: number;
  /** First retry delay after a fault, doubled up to `maxBackoffMs` (default 2 s, 60 s). */
  retryBaseMs?: number;
  maxBackoffMs?: number;
  /** Log training progress every this many optimizer steps (default 25). */
  progressEvery?: number;
  /**
   * Downloads of a dataset the hub may answer with content not matching the commit before it scores
   * 0, and the wait after the first (doubled after each); default `DEFAULT_INTEGRITY_POLICY`.
   */
  integrity?: Partial<IntegrityPolicy>;
}

/** What the chain looks like at the start of a pass. */
export interface ChainState {
  block: number;
  info: SubnetInfo;
  metagraph: Metagraph;
  myUid: number;
  ownerUid: number;
  competition: LoadedCompetition;
  /** The current commitment of each registered hotkey (owner excluded). */
  commitments: Map<string, UidCommitment>;
}

export interface PassSummary {
  block: number;
  evaluated: number;
  failed: number;
  queued: number;
  weights: SetWeightsOutcome | null;
  round: RoundResult | null;
}

/** Why a pass cannot go on (no competition pointer yet, …); the loop waits and tries again. */
export class NotReadyError extends Error {
  override name = 'NotReadyError';
}

export class Validator {
  readonly metrics: ValidatorMetrics;
  private readonly files = new DatasetFiles();
  private readonly overlaps: OverlapCache;
  private readonly reader: DatasetReader;
  /** Wall time of the evaluations run so far (for scheduling; the metrics keep engine time). */
  private readonly evaluationWall = { seconds: 0, count: 0 };
  /** The best block, followed between evaluations. */
  private readonly blocks: BlockFollower;
  /** Training rows read ahead, by dataset identity (at most the next one). */
  private readonly trainingAhead = new Map<string, Promise<TrainingOutcome>>();
  private competition: LoadedCompetition | null = null;
  /** The chain as the last pass read it: what evaluations go on with while the node is away. */
  private lastState: ChainState | null = null;
  /** Set while weights wait for the node to come back (logged once per outage). */
  private weightsWaiting = false;
  private stopping = false;
  private readonly stopped = new AbortController();
  private readonly integrity: IntegrityPolicy;
  /** Why a committed dataset is not read yet (protocol 2's publish window), by submission id. */
  private readonly notReadable = new Map<number, string>();
  /** Evaluations in flight on workers (with `queue`), else null. */
  private readonly remote: RemoteEvaluations | null;
  /** Competition revisions refused (unusable, or rounds that went backwards), with why: logged once each. */
  private readonly refusedRevisions = new Map<string, string>();
  /** Revisions of a sealed competition whose history was found to move forward, with their rounds. */
  private readonly acceptedRevisions = new Map<string, readonly Round[]>();
  /**
   * The sealed round judged before the current one (same competition): weights are set from it
   * while the current round's evaluations are still being done, not from a half-evaluated round.
   */
  private previousRound: LoadedCompetition | null = null;

  constructor(readonly options: ValidatorOptions) {
    if (!options.backend === !options.queue) throw new TypeError('a validator needs either a backend or an evaluation queue');
    this.remote = options.queue ? new RemoteEvaluations(options.queue, options.log, options.queueDepth) : null;
    this.metrics = options.metrics ?? new ValidatorMetrics();
    this.integrity = { ...DEFAULT_INTEGRITY_POLICY, ...options.integrity };
    this.overlaps = new OverlapCache(options.index);
    this.reader = options.reader ?? new IntakeThread(options.hub.portableOptions());
    this.blocks = new BlockFollower(options.chain, options.blockSeconds ?? 12);
  }

  /** Release the intake thread and the block subscription (both start again if the validator is used again). */
  async close(): Promise<void> {
    this.remote?.close();
    await this.reader.close();
    await this.blocks.close();
  }

  /**
   * The compute identity key of this validator's evaluations (engine version, backend, kernels,
   * device): its backend's, or with a queue the one its workers serve (known after the first pass
   * has read the queue).
   */
  get compute(): string {
    if (this.options.backend) return computeIdentity(this.options.backend).key;
    const compute = this.remote!.compute;
    if (compute === null) throw new NotReadyError('no evaluation worker has announced its compute identity yet');
    return compute;
  }

  /** Ask `run` to stop after the current step (SIGINT/SIGTERM). */
  stop(): void {
    this.stopping = true;
    this.stopped.abort();
  }

  /**
   * A wake-up that comes at `p` (when given), after one block, or when the validator is asked to
   * stop, whichever is first: how long the loop waits on workers before it looks at the block
   * again. `cancel` clears its timer and listener (a pending one would hold the process open).
   */
  private wakeWithin(p: Promise<void> | null): { promise: Promise<void>; cancel(): void } {
    const signal = this.stopped.signal;
    let timer: NodeJS.Timeout | undefined;
    let onStop: (() => void) | undefined;
    const promise = new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      timer = setTimeout(resolve, (this.options.blockSeconds ?? 12) * 1000);
      onStop = () => resolve();
      signal.addEventListener('abort', onStop, { once: true });
      p?.then(() => resolve(), () => resolve());
    });
    const cancel = () => {
      clearTimeout(timer);
      if (onStop) signal.removeEventListener('abort', onStop);
    };
    void promise.then(cancel);
    return { promise, cancel };
  }

  // ───────────────────────────── 1. sync ─────────────────────────────

  /** Read the chain, load the competition, record commitments and take in every committed dataset. */
  async sync(): Promise<ChainState> {
    const state = await this.readChain();
    await this.intakeAll(state);
    return state;
  }

  /** Read the chain (one round trip for the three reads), load the competition and record every commitment. */
  private async readChain(): Promise<ChainState> {
    const { chain, netuid, store, log } = this.options;
    const [info, metagraph, all] = await Promise.all([chain.subnetInfo({ netuid }), chain.metagraph({ netuid }), chain.getAllCommitments({ netuid })]);
    const block = metagraph.block.number;
    this.metrics.currentBlock = block;
    const myUid = metagraph.hotkeys.indexOf(this.options.signer.address);
    if (myUid < 0) throw new NotRegisteredError(this.options.signer.address, netuid);
    resolvePendingWeights({ store, netuid, metagraph, myUid, log });
    const ownerUid = Math.max(0, metagraph.hotkeys.indexOf(info.ownerHotkey));

    const byHotkey = new Map<string, Commitment>(all.map((c) => [c.hotkey, c]));
    const pointerRaw = byHotkey.get(info.ownerHotkey);
    if (!pointerRaw) throw new NotReadyError(`the subnet owner (${info.ownerHotkey}) has not committed a competition pointer yet`);
    const pointer = parseCompetitionPointer(pointerRaw.fields[0] ?? pointerRaw.data);
    if (!pointer.ok) throw new NotReadyError(`the owner's competition pointer is unusable: ${pointer.reason}`);
    const competition = await this.loadCompetitionCached(pointer.value, block);
    if (this.remote && (await this.remote.refreshCompute()) === null) {
      throw new NotReadyError('no evaluation worker has connected to the queue yet: start `flock worker --queue <the same Redis URL>` on a GPU machine');
    }
    await this.refreshQueueMetrics();
    // results of another engine version, backend, kernel variant or device are redone, never mixed
    const redo = store.requeueOtherCompute(competition.key, this.compute);
    if (redo > 0) log.info(`${redo} evaluation(s) were computed with another engine or kernels: evaluating them again`, { compute: this.compute });
    this.reader.warm(); // commitments come next: have the intake thread up by the time they do

    const uidOf = new Map<string, number>();
    metagraph.hotkeys.forEach((hotkey, uid) => uidOf.has(hotkey) || uidOf.set(hotkey, uid));
    const commitments = new Map<string, UidCommitment>();
    for (const c of all) {
      const uid = uidOf.get(c.hotkey);
      if (c.hotkey === info.ownerHotkey || uid === undefined) continue;
      if (parseResultsPointer(c.fields[0] ?? c.data).ok) continue; // a validator pointing to its published results: not a submission
      const parsed = commitmentForCompetition(c.fields[0] ?? c.data, competition.competition.id);
      const { submission } = store.recordSubmission({
        uid, hotkey: c.hotkey, commitment: c.data, block: c.block,
        competitionId: parsed.ok ? parsed.value.competitionId : null,
        repoId: parsed.ok ? parsed.value.repoId : null,
        revision: parsed.ok ? parsed.value.revision : null,
        reason: parsed.ok ? null : parsed.reason,
      });
      commitments.set(c.hotkey, { uid, hotkey: c.hotkey, commitment: c, submission, ...(parsed.ok ? {} : { commitmentError: parsed.reason }) });
    }
    this.lastState = { block, info, metagraph, myUid, ownerUid, competition, commitments };
    return this.lastState;
  }

  private async loadCompetitionCached(pointer: CompetitionPointer, block: number): Promise<LoadedCompetition> {
    const { hub, store, log } = this.options;
    const c = this.competition;
    if (c && c.pointer.competitionId === pointer.competitionId && c.pointer.revision === pointer.revision && c.pointer.repoId === pointer.repoId) return c;
    const stored = store.latestCompetition();
    // the revision judged before this one (after a restart: the one the store followed last)
    const previous = async (): Promise<LoadedCompetition | null> => {
      if (c) return c.competition.id === pointer.competitionId ? c : null;
      if (!stored || stored.id !== pointer.competitionId || stored.revision === pointer.revision) return null;
      return loadCompetition(hub, { competitionId: stored.id, repoId: stored.repo, revision: stored.revision }, log);
    };
    if (this.refusedRevisions.has(pointer.revision) && c) return c;
    let loaded: LoadedCompetition;
    try {
      loaded = await loadCompetition(hub, pointer, log);
    } catch (err) {
      // an unusable new revision of the competition being judged: keep judging by the one before
      const fallback = err instanceof CompetitionError ? await previous() : null;
      if (fallback) return this.refuseRevision(pointer, errorMessage(err), fallback, err instanceof NoRoundRevealedError);
      throw err;
    }
    // rounds are only ever added or revealed: a revision that rewrites them (or an older revision) is refused
    const previousRounds: readonly Round[] | null = c?.competition.id === loaded.competition.id ? competitionRounds(c.competition)
      : !c && stored?.id === loaded.competition.id ? storedRounds(stored.definition) : null;
    const problem = (previousRounds && roundsProblem(previousRounds, competitionRounds(loaded.competition)))
      || (loaded.round ? await roundsHistoryProblem(hub, pointer, loaded.competition, this.acceptedRevisions) : null)
      || roundScoredBefore(loaded, c, stored);
    if (problem) {
      const fallback = await previous();
      if (!fallback) throw new CompetitionError(`the competition at ${pointer.repoId}@${pointer.revision.slice(0, 12)} is refused: ${problem}`);
      return this.refuseRevision(pointer, problem, fallback);
    }
    if (c?.round && loaded.round && c.competition.id === loaded.competition.id && c.key !== loaded.key) this.previousRound = c;
    else if (!loaded.round || c?.competition.id !== loaded.competition.id) this.previousRound = null;
    store.saveCompetition({ id: loaded.competition.id, revision: pointer.revision, repo: pointer.repoId, definition: loaded.competition, firstSeenBlock: block, key: loaded.key });
    store.enqueueEvaluation(loaded.key, BASE_EVALUATION, -1);
    this.competition = loaded;
    this.files.paths.clear();
    this.files.fingerprints.clear();
    this.trainingAhead.clear(); // read against the old evaluation set
    return loaded;
  }

  /**
   * Keep judging by `fallback` instead of the pointer's revision, saying why once. `waiting`: the
   * revision is fine but has no round to score yet (its first round is still sealed).
   */
  private refuseRevision(pointer: CompetitionPointer, reason: string, fallback: LoadedCompetition, waiting = false): LoadedCompetition {
    if (!this.refusedRevisions.has(pointer.revision)) {
      const at = pointer.revision.slice(0, 12);
      const by = fallback.pointer.revision.slice(0, 12);
      if (waiting) this.options.log.info(`the competition revision ${at} has nothing to score yet (${reason}); judging by revision ${by} meanwhile`);
      else this.options.log.warning(`the competition revision ${at} is refused: ${reason}; judging by revision ${by} until the owner publishes a usable one`);
      this.refusedRevisions.set(pointer.revision, reason);
    }
    this.competition = fallback;
    return fallback;
  }

  private intakeContext(competition: LoadedCompetition, currentBlock?: number): IntakeContext {
    return { reader: this.reader, store: this.options.store, index: this.options.index, files: this.files, competition, log: this.options.log, currentBlock };
  }

  /**
   * Download + check every committed dataset not seen yet, oldest commitment first; queue the ones
   * worth training (`onQueued` after each). Stops early when the validator is asked to stop or the
   * pass is `abandoned`.
   */
  private async intakeAll(state: ChainState, onQueued?: () => void, abandoned: () => boolean = () => false): Promise<void> {
    const { store, log } = this.options;
    const ctx = this.intakeContext(state.competition, state.block);
    const key = state.competition.key;
    const scoring = state.competition.competition.scoring;
    const ordered = [...state.commitments.values()].sort((a, b) => a.commitment.block - b.commitment.block || a.uid - b.uid);
    // who committed each dataset, kept up to date as identities are found below (for the copy check)
    const committers = committersOf(store, state.competition.competition.id);
    let checked = 0;
    const started = performance.now();
    // a commitment older than the hotkey's registration cannot be claimed (scoring step 1): no work
    // with sealed rounds, a commitment outside every window takes part in none: no work either
    const rounds = competitionRounds(state.competition.competition);
    const inSomeRound = (block: number) => rounds.length === 0 || roundAt(rounds, block) !== null;
    const claimable = ordered.filter((c) => !c.commitmentError && !c.submission.reason && c.commitment.block > (state.metagraph.blockAtRegistration[c.uid] ?? 0) && inSomeRound(c.commitment.block));
    const fresh = claimable.filter((c) => !c.submission.datasetIdentity);
    // datasets the hub answered with content not matching the commit: given up on, or not due for
    // another download yet, or due
    const integrity = new Map(fresh.map((c) => [c.submission.id, this.integrityStatus(c.submission)]));
    const due = (id: number) => (integrity.get(id)?.verdict.kind ?? 'retry') === 'retry';
    // ask for every new dataset at once: the reader downloads ahead while earlier ones are recorded
    const reads = new Map(fresh.filter((c) => due(c.submission.id)).map((c) => [c.submission.id, this.reader.read(readRequest(ctx, c.submission))]));
    for (const r of reads.values()) r.catch(() => undefined); // answered below, or dropped when stopping
    for (const c of claimable) {
      if (this.stopping || abandoned()) break;
      const s = c.submission;
      if (!s.datasetIdentity) {
        const before = integrity.get(s.id);
        if (before?.verdict.kind === 'final') {
          log.warning(`uid ${c.uid}: dataset rejected: ${before.verdict.reason}`);
          store.setSubmissionReason(s.id, before.verdict.reason);
          s.reason = before.verdict.reason;
          continue;
        }
        if (before?.verdict.kind === 'wait') continue; // its next download is not due yet
        try {
          const r = await intakeSubmission(ctx, s, reads.get(s.id));
          checked++;
          if (before) store.clearHubIntegrityFailure(before.failure.repoId, before.failure.revision, before.failure.path); // this download matched
          if (r.kind === 'rejected') {
            log.warning(`uid ${c.uid}: dataset rejected: ${r.reason}`);
            s.reason = r.reason;
            this.notReadable.delete(s.id);
            continue;
          }
          if (r.kind === 'waiting') {
            if (this.notReadable.get(s.id) !== r.reason) log.info(`uid ${c.uid}: dataset ${r.reason}`);
            this.notReadable.set(s.id, r.reason);
            continue;
          }
          this.notReadable.delete(s.id);
          s.datasetIdentity = r.identity;
          const list = committers.get(r.identity) ?? [];
          list.push({ uid: s.uid, block: s.block });
          committers.set(r.identity, list);
        } catch (err) {
          if (err instanceof DatasetIntegrityError) {
            const { verdict, reason } = this.integrityFailed(s, err);
            if (verdict.kind === 'final') {
              log.warning(`uid ${c.uid}: dataset rejected: ${reason}`);
              store.setSubmissionReason(s.id, reason);
              s.reason = reason;
            } else {
              log.warning(`uid ${c.uid}: ${reason}`, nextDownload(verdict));
            }
            continue;
          }
          // the intake thread failed on this dataset: the rest of the pass goes on, it is tried again next pass
          if (err instanceof IntakeThreadError) log.error(`uid ${c.uid}: ${err.message}; the dataset will be tried again`);
          else if (isTransientHubError(err)) log.warning(`uid ${c.uid}: hub unavailable, dataset will be fetched later: ${errorMessage(err)}`);
          else throw err;
          continue;
        }
      }
      const identity = s.datasetIdentity!;
      let check = store.datasetCheck(key, identity);
      if (!check || !this.files.fingerprints.has(identity)) {
        // taken in by an earlier process (the copy check needs its fingerprints in memory) or under
        // an earlier competition revision (check it against this evaluation set): re-read from the cache
        const before = this.files.fingerprints.has(identity) ? null : this.integrityStatus(s);
        if (before && before.verdict.kind !== 'retry') {
          // the hub answered with content not matching the commit: given up on (an evaluation not
          // done yet fails with the reason), or its next download is not due yet
          const reason = before.verdict.kind === 'final' ? before.verdict.reason : null;
          const ev = store.getEvaluation(key, identity);
          if (reason && ev?.status !== 'done' && ev?.reason !== reason) store.failEvaluation(key, identity, reason);
          if (!check) continue;
        } else {
          try {
            const { fingerprints } = await datasetFile(ctx, identity, s);
            if (before) {
              // this download matched: an evaluation that waited for it goes back in the queue
              store.clearHubIntegrityFailure(before.failure.repoId, before.failure.revision, before.failure.path);
              const ev = store.getEvaluation(key, identity);
              if (ev?.status === 'failed' && isIntegrityWaitReason(ev.reason)) store.requeueEvaluationAfterHubIntegrity(key, identity);
            }
            if (!check) {
              check = { rows: fingerprints.rows, contaminatedRows: contamination(fingerprints, state.competition.evalFingerprints).contaminatedRows.length };
              store.recordDatasetCheck({ competitionKey: key, datasetIdentity: identity, ...check });
            }
            if (!this.options.index.has(identity, identity)) this.options.index.add(identity, fingerprints);
          } catch (err) {
            if (err instanceof DatasetIntegrityError) {
              const { verdict, reason } = this.integrityFailed(s, err);
              log.warning(`uid ${c.uid}: ${reason}`, nextDownload(verdict));
              // an evaluation not done yet waits for the next download (intake requeues it), or fails with the reason
              if (store.getEvaluation(key, identity)?.status !== 'done') store.failEvaluation(key, identity, reason);
            } else if (err instanceof DatasetGoneError) log.warning(`uid ${c.uid}: ${err.message}`);
            else if (err instanceof IntakeThreadError) log.error(`uid ${c.uid}: ${err.message}; the dataset will be tried again`);
            else if (isTransientHubError(err)) log.warning(`uid ${c.uid}: hub unavailable, dataset will be checked later: ${errorMessage(err)}`);
            else throw err;
            if (!check) continue;
          }
        }
      }
      // a contaminated dataset or a copy of an earlier submission scores 0 whatever its loss: do not spend training on it
      const fp = this.files.fingerprints.get(identity);
      const zeroed = trainingVerdict({
        uid: c.uid, block: c.commitment.block, rows: check?.rows ?? 0, contaminatedRows: check?.contaminatedRows ?? 0,
        overlaps: overlapsOf(identity, fp, this.overlaps, committers),
      }, scoring);
      // a dataset committed for a later round than the one scored is in the copy index, not trained yet
      const laterRound = state.competition.round ? roundVerdict({ commitmentBlock: c.commitment.block, rounds, scoring: state.competition.round.number }) : null;
      if (!zeroed && !laterRound) {
        store.enqueueEvaluation(key, identity, c.commitment.block);
        onQueued?.();
      }
    }
    this.metrics.lastIntakeSeconds = (performance.now() - started) / 1000;
    if (checked > 0) log.info(`checked ${checked} new dataset(s)`, { seconds: Number(this.metrics.lastIntakeSeconds.toFixed(2)) });
    this.metrics.queueLength = store.queueLength(state.competition.key);
  }

  // ───────────────────────────── 3. evaluations ─────────────────────────────

  /**
   * Wall seconds one evaluation takes, as measured so far (0 before the first): what the window's
   * end must leave room for, work done beside it in the engine's turns included.
   */
  private averageEvaluationSeconds(): number {
    const w = this.evaluationWall;
    return w.count > 0 ? w.seconds / w.count : 0;
  }

  /** True when the window's end is too close to start another evaluation before setting weights. */
  weightsDue(state: ChainState, currentBlock: number): boolean {
    if (this.options.store.weightsSetInWindow(this.options.netuid, weightWindow(state.info), state.info.commitRevealEnabled ? 'commit' : 'set')) return false;
    const blockSeconds = this.options.blockSeconds ?? 12;
    const need = Math.ceil(this.averageEvaluationSeconds() / blockSeconds) + (this.options.reserveBlocks ?? 2);
    return state.info.nextEpochBlock - currentBlock <= need;
  }

  /**
   * Claim and run the next queued evaluation (the base model first). Returns the record it ran,
   * or undefined when the queue is empty.
   */
  async evaluateNext(state: ChainState): Promise<EvaluationRecord | undefined> {
    const { store, log, backend } = this.options;
    if (!backend) throw new TypeError('evaluateNext runs evaluations in this process: the validator has a queue instead of a backend');
    const key = state.competition.key;
    const next = store.claimNextEvaluation(key);
    if (!next) return undefined;
    const identity = next.datasetIdentity;
    const isBase = identity === BASE_EVALUATION;
    const who = isBase ? 'base model' : this.committerOf(state, identity);
    let path: string | null = null;
    try {
      if (!isBase) {
        const sub = store.competitionSubmissions(state.competition.competition.id).find((s) => s.datasetIdentity === identity);
        if (!sub) throw new DatasetEvaluationError('no submission of this dataset is known any more');
        path = await this.evaluationFile(state, identity, sub);
      }
      log.info(`evaluating ${who}`, { dataset: identity.slice(0, 12), attempt: next.attempts, queued: store.queueLength(key) });
      const training = path ? this.trainingSet(state.competition, identity, path) : undefined;
      this.readAhead(state.competition); // the next dataset's rows load while this one trains
      const started = performance.now();
      const every = this.options.progressEvery ?? 25;
      const progressLog = log.child({ dataset: identity.slice(0, 12) });
      const r = await evaluateDataset({
        competition: state.competition, backend, datasetPath: path, identity: isBase ? null : identity, training, adapters: this.options.adapters,
        onTrainStep: (s) => {
          if (s.step % every !== 0 && s.step !== s.totalSteps) return;
          progressLog.info(`training ${s.step}/${s.totalSteps}`, { epoch: s.epoch, loss: Number(s.loss.toFixed(4)), lr: Number(s.lr.toExponential(2)), tokens: s.tokens });
        },
      });
      store.completeEvaluation({ competitionKey: key, datasetIdentity: identity, losses: r.losses, evalLoss: r.evalLoss, receipt: r.receipt, compute: r.receipt.compute });
      this.metrics.evaluationsDone++;
      this.metrics.observeEvaluation(r.seconds);
      this.evaluationWall.seconds += (performance.now() - started) / 1000;
      this.evaluationWall.count++;
      log.success(`evaluated ${who}${r.reusedAdapter ? ' with its kept adapter (no training)' : ''}: eval loss ${r.evalLoss.toFixed(5)}`, { seconds: Number(r.seconds.toFixed(2)), train: Number(r.trainSeconds.toFixed(2)) });
    } catch (err) {
      if (isTransientHubError(err)) {
        store.requeueInterrupted(); // not the dataset's fault: back in the queue, attempt not held against it
        throw err;
      }
      this.metrics.evaluationsFailed++;
      if (err instanceof DatasetEvaluationError || err instanceof DatasetGoneError) {
        store.failEvaluation(key, identity, err.message);
        log.warning(`evaluation of ${who} failed: ${err.message}`);
      } else {
        const status = store.failEvaluation(key, identity, `the evaluation failed: ${errorMessage(err)}`, { retry: true, maxAttempts: 3 });
        log.error(`evaluation of ${who} failed (${status === 'queued' ? 'will retry' : 'giving up'}): ${errorMessage(err)}`);
      }
    } finally {
      this.metrics.queueLength = store.queueLength(key);
    }
    return store.getEvaluation(key, identity);
  }

  /**
   * With the evaluation queue: enqueue claimed evaluations until `queueDepth` jobs are in flight,
   * then record the next job to settle. Returns the record it settled (or failed before enqueuing),
   * 'waiting' when the wake-up (`wakeOn`, a block, a stop) came first or Redis is away, undefined
   * when nothing is queued or in flight.
   */
  private async evaluateThroughQueue(state: ChainState, wakeOn: Promise<void> | null): Promise<EvaluationRecord | 'waiting' | undefined> {
    const wake = this.wakeWithin(wakeOn);
    try {
      return await this.evaluateThroughQueueUntil(state, wake.promise);
    } finally {
      wake.cancel();
    }
  }

  private async evaluateThroughQueueUntil(state: ChainState, wake: Promise<void>): Promise<EvaluationRecord | 'waiting' | undefined> {
    const remote = this.remote!;
    const { store, log } = this.options;
    const key = state.competition.key;
    let queueAway = false;
    while (!remote.full && !this.stopping) {
      const next = store.claimNextEvaluation(key);
      if (!next) break;
      const identity = next.datasetIdentity;
      let evaluation: RemoteEvaluation;
      try {
        evaluation = this.remoteEvaluation(state, identity);
      } catch (err) {
        if (!(err instanceof DatasetEvaluationError)) {
          store.releaseEvaluation(key, identity);
          throw err;
        }
        this.metrics.evaluationsFailed++;
        store.failEvaluation(key, identity, err.message);
        log.warning(`evaluation of ${this.committerOf(state, identity)} failed: ${err.message}`);
        return store.getEvaluation(key, identity);
      }
      try {
        await remote.submit(evaluation, { retry: next.attempts > 1 });
        log.info(`queued ${evaluation.who} for the workers`, { dataset: identity.slice(0, 12), attempt: next.attempts, inFlight: remote.size });
      } catch (err) {
        store.releaseEvaluation(key, identity);
        if (!(err instanceof QueueUnavailableError)) throw err;
        queueAway = true; // the queue logs the outage; what is in flight still settles when Redis is back
        break;
      }
    }
    this.metrics.queueLength = store.queueLength(key);
    if (remote.size === 0) {
      if (!queueAway || this.stopping) return undefined;
      await wake;
      return 'waiting';
    }
    const settled = await remote.next(wake);
    if (!settled) return 'waiting';
    const record = this.recordRemote(settled);
    await this.refreshQueueMetrics();
    return record;
  }

  /** The job of a claimed evaluation; a `DatasetEvaluationError` when the dataset cannot be evaluated. */
  private remoteEvaluation(state: ChainState, identity: string): RemoteEvaluation {
    const key = state.competition.key;
    const job: EvaluationJob = { competition: state.competition.pointer, dataset: null, compute: this.compute };
    if (identity === BASE_EVALUATION) return { competitionKey: key, datasetIdentity: identity, who: 'base model', job };
    const sub = this.options.store.competitionSubmissions(state.competition.competition.id).find((s) => s.datasetIdentity === identity);
    if (!sub?.repoId || !sub.revision) throw new DatasetEvaluationError('no submission of this dataset is known any more');
    const integrity = this.integrityStatus(sub);
    if (integrity?.verdict.kind === 'final') throw new DatasetEvaluationError(integrity.verdict.reason);
    if (integrity?.verdict.kind === 'wait') throw new DatasetEvaluationError(integrityWaitReason(integrity.failure, this.integrity));
    return {
      competitionKey: key, datasetIdentity: identity, who: this.committerOf(state, identity),
      job: { ...job, dataset: { repoId: sub.repoId, revision: sub.revision, path: DATASET_PATH, identity } },
    };
  }

  /**
   * Store what a worker returned: the result, or the failure — a dataset's fault scores it 0 with
   * the reason; any other is tried again, 3 attempts in all, before it does.
   */
  private recordRemote({ evaluation, outcome }: SettledEvaluation): EvaluationRecord | undefined {
    const { store, log } = this.options;
    const { competitionKey: key, datasetIdentity: identity, who } = evaluation;
    if (outcome.status === 'done') {
      const r = outcome.result;
      store.completeEvaluation({ competitionKey: key, datasetIdentity: identity, losses: r.losses, evalLoss: r.evalLoss, receipt: r.receipt, compute: r.receipt.compute });
      this.metrics.evaluationsDone++;
      this.metrics.observeEvaluation(r.seconds);
      if (outcome.timing) this.metrics.observeJobTiming(outcome.timing, Date.now());
      log.success(`evaluated ${who} on ${r.worker}: eval loss ${r.evalLoss.toFixed(5)}`, { seconds: Number(r.seconds.toFixed(2)), train: Number(r.trainSeconds.toFixed(2)) });
    } else {
      this.metrics.evaluationsFailed++;
      const failure: EvaluationJobFailure = outcome.failure;
      if (failure.kind === 'dataset') {
        store.failEvaluation(key, identity, failure.reason);
        log.warning(`evaluation of ${who} failed: ${failure.reason}`);
      } else {
        const status = store.failEvaluation(key, identity, `the evaluation failed on the workers (${failure.kind}): ${failure.reason}`, { retry: true, maxAttempts: 3 });
        log.error(`evaluation of ${who} failed on the workers (${status === 'queued' ? 'will retry' : 'giving up'}): ${failure.reason}`, { kind: failure.kind });
      }
    }
    this.metrics.queueLength = store.queueLength(key);
    return store.getEvaluation(key, identity);
  }

  /** Take a snapshot of the evaluation queue for `/metrics` (kept as it was while Redis is away). */
  private async refreshQueueMetrics(): Promise<void> {
    if (!this.remote) return;
    try {
      this.metrics.queue = await this.remote.queue.metrics();
    } catch (err) {
      if (!(err instanceof QueueUnavailableError)) throw err;
    }
  }

  /**
   * The file of the dataset about to be evaluated, re-read (through the reader, from the cache or
   * the hub) when this process has not seen it. When the hub answers with content not matching the
   * commit the evaluation fails (`DatasetEvaluationError`): with the final reason once the
   * downloads are spent, else with one that says it waits for the next download, which intake
   * makes when it is due (and puts the evaluation back in the queue when it matches).
   */
  private async evaluationFile(state: ChainState, identity: string, sub: SubmissionRecord): Promise<string> {
    const before = this.files.paths.has(identity) && this.files.fingerprints.has(identity) ? null : this.integrityStatus(sub);
    if (before?.verdict.kind === 'final') throw new DatasetEvaluationError(before.verdict.reason);
    if (before?.verdict.kind === 'wait') throw new DatasetEvaluationError(integrityWaitReason(before.failure, this.integrity));
    try {
      const { path } = await datasetFile(this.intakeContext(state.competition), identity, sub, true);
      if (before) this.options.store.clearHubIntegrityFailure(before.failure.repoId, before.failure.revision, before.failure.path); // this download matched
      return path;
    } catch (err) {
      if (err instanceof DatasetIntegrityError) throw new DatasetEvaluationError(this.integrityFailed(sub, err).reason);
      throw err;
    }
  }

  /** The downloads of a submission's dataset the hub answered with content not matching the commit, and what they mean now (null: none). */
  private integrityStatus(sub: SubmissionRecord): { failure: HubIntegrityFailure; verdict: IntegrityVerdict } | null {
    const failure = this.options.store.hubIntegrityFailure(sub.repoId!, sub.revision!, DATASET_FILE);
    return failure ? { failure, verdict: integrityVerdict(failure, this.integrity, Date.now()) } : null;
  }

  /**
   * Count a download of a submission's dataset that the hub answered with content not matching the
   * commit — only when a download was due, so two reads of the file in flight together count once.
   * Returns the verdict after it, and the reason: the final one, or one that says it waits.
   */
  private integrityFailed(sub: SubmissionRecord, err: DatasetIntegrityError): { verdict: IntegrityVerdict; reason: string } {
    const before = this.integrityStatus(sub);
    const failure = before && before.verdict.kind !== 'retry' ? before.failure
      : this.options.store.recordHubIntegrityFailure({ repoId: sub.repoId!, revision: sub.revision!, ...err.mismatch });
    const verdict = integrityVerdict(failure, this.integrity, Date.now());
    return { verdict, reason: verdict.kind === 'final' ? verdict.reason : integrityWaitReason(failure, this.integrity) };
  }

  /** A dataset's training rows: read ahead by `readAhead`, or asked for now. */
  private trainingSet(competition: LoadedCompetition, identity: string, path: string): Promise<TrainingOutcome> {
    const ahead = this.trainingAhead.get(identity);
    this.trainingAhead.delete(identity);
    return ahead ?? this.reader.loadTraining(this.trainingRequest(competition, path));
  }

  /** Start loading the training rows of the dataset the queue gives next (one ahead, no more). */
  private readAhead(competition: LoadedCompetition): void {
    const next = this.options.store.peekNextEvaluation(competition.key);
    for (const identity of this.trainingAhead.keys()) if (identity !== next) this.trainingAhead.delete(identity);
    const path = next === undefined ? undefined : this.files.paths.get(next);
    if (!next || !path || this.trainingAhead.has(next)) return;
    const loading = this.reader.loadTraining(this.trainingRequest(competition, path));
    loading.catch(() => undefined); // met again (and reported) when the evaluation takes it
    this.trainingAhead.set(next, loading);
  }

  private trainingRequest(competition: LoadedCompetition, path: string): TrainingRequest {
    const limits = competition.competition.limits;
    return { path, maxBytes: limits.maxBytes, maxRows: limits.maxRows, evalFingerprints: competition.evalFingerprints };
  }

  private committerOf(state: ChainState, identity: string): string {
    const uids = [...state.commitments.values()].filter((c) => c.submission.datasetIdentity === identity).map((c) => c.uid);
    return uids.length ? `uid ${uids.join(',')}` : `dataset ${identity.slice(0, 12)}`;
  }

  // ───────────────────────────── 4. weights ─────────────────────────────

  /** Score the round on fresh chain state and set weights for this window (once). */
  async scoreAndSetWeights(state: ChainState): Promise<{ outcome: SetWeightsOutcome | null; round: RoundResult | null }> {
    const { chain, store, netuid, log } = this.options;
    const [info, before] = await Promise.all([chain.subnetInfo({ netuid }), chain.metagraph({ netuid })]);
    const kind = info.commitRevealEnabled ? 'commit' : 'set';
    // a reveal sets weights (and the hotkey's lastUpdate): read the metagraph again after one
    const revealed = info.commitRevealEnabled ? await revealDueWeights({ chain, store, netuid, signer: this.options.signer, log }) : 0;
    const metagraph = revealed > 0 ? await chain.metagraph({ netuid }) : before;
    this.metrics.currentBlock = metagraph.block.number;
    if (store.weightsSetInWindow(netuid, weightWindow(info), kind)) return { outcome: { status: 'already_set', window: weightWindow(info) }, round: null };
    const competition = this.competitionToScore(state);
    const key = competition.key;
    const base = store.getEvaluation(key, BASE_EVALUATION);
    if (base?.status !== 'done' || !base.losses || base.compute !== this.compute) {
      log.warning('cannot score yet: the base model has not been evaluated');
      return { outcome: null, round: null };
    }
    const submissions = buildSubmissions({
      metagraph, ownerHotkey: info.ownerHotkey, commitments: state.commitments, store, competition, compute: this.compute, overlaps: this.overlaps,
      fingerprintsOf: (id) => this.files.fingerprints.get(id),
      waitingReason: (s) => {
        const unpublished = this.notReadable.get(s.id);
        if (unpublished) return unpublished;
        const integrity = this.integrityStatus(s);
        return integrity && integrity.verdict.kind !== 'final' ? integrityWaitReason(integrity.failure, this.integrity) : undefined;
      },
    });
    const round = scoreRound({
      currentBlock: metagraph.block.number, ownerUid: Math.max(0, metagraph.hotkeys.indexOf(info.ownerHotkey)), baseLosses: base.losses,
      submissions, previous: store.latestSmoothedWeights(), constants: competition.competition.scoring,
    });
    const outcome = await setWeightsForWindow({
      chain, store, netuid, info, metagraph, myUid: state.myUid, signer: this.options.signer, weights: round.weights, roundId: null, log,
    });
    if (outcome.status === 'set') {
      const roundId = store.recordRound({ competitionKey: key, block: outcome.block, burned: round.burned, perUid: round.perUid });
      store.linkWeightTransactionToRound(outcome.transaction.id, roundId);
      this.publishRound({ ...state, competition }, round, roundId, outcome.block);
      this.metrics.roundsScored++;
      this.metrics.lastWeightBlock = outcome.block;
      for (const u of round.perUid) {
        if (u.weight > 0 || u.stage === 'no_commitment') continue;
        log.debug(`uid ${u.uid}: weight 0 (${u.stage}): ${u.reason ?? ''}`);
      }
      const top = round.weights.slice().sort((a, b) => b.weight - a.weight).slice(0, 5).map((w) => `${w.uid}:${w.weight.toFixed(4)}`).join(' ');
      log.info(`round scored${round.burned ? ' (burn: nothing earned weight)' : ''}`, { top });
    } else if (outcome.status === 'failed') {
      this.metrics.weightSetFailures++;
    } else if (outcome.status === 'rate_limited') {
      log.info(`weights rate-limited for ${outcome.blocksLeft} more block(s)`);
    }
    return { outcome, round: outcome.status === 'set' ? round : null };
  }

  /**
   * The round weights are set from: the current one, or — until a pass has taken in and evaluated
   * everything of a newly revealed sealed round (`runPass` then clears `previousRound`) — the round
   * judged before it, whose results are complete. Scoring a half-evaluated round would zero every
   * dataset not reached yet.
   */
  private competitionToScore(state: ChainState): LoadedCompetition {
    const prev = this.previousRound;
    if (!prev) return state.competition;
    const counts = this.options.store.evaluationCounts(state.competition.key);
    this.options.log.info(`weights from round ${prev.round!.number} while round ${state.competition.round!.number}'s datasets are taken in and evaluated`, { queued: counts.queued, running: counts.running });
    return prev;
  }

  /** Hand the round's results to the publisher (it signs and uploads them in the background). */
  private publishRound(state: ChainState, round: RoundResult, roundId: number, block: number): void {
    const { publisher, log } = this.options;
    if (!publisher) return;
    try {
      publisher.submit(buildRoundResults({
        netuid: this.options.netuid, validator: this.options.signer.address, competition: state.competition, block, roundId,
        compute: this.compute, round, commitments: state.commitments, store: this.options.store,
      }));
    } catch (err) {
      log.warning(`the results of round ${roundId} could not be put together: ${errorMessage(err)}`);
    }
  }

  // ───────────────────────────── the pass and the loop ─────────────────────────────

  /**
   * One pass: read the chain, take in new datasets *while* evaluating the queue (the base model
   * needs no intake, and each dataset is queued as soon as it is checked), yield to weight setting
   * near the window's end, then score and set weights once intake has ended.
   */
  async runPass(): Promise<PassSummary> {
    const { store, chain } = this.options;
    const state = await this.readChain();
    let passOver = false; // set when the pass ends, well or not: intake stops early rather than delay a retry
    const intake = new BackgroundTask((progress) => this.intakeAll(state, progress, () => passOver));
    let evaluated = 0;
    let failed = 0;
    let weights: SetWeightsOutcome | null = null;
    let round: RoundResult | null = null;
    let block = state.block;
    try {
      while (!this.stopping) {
        intake.throwIfFailed();
        if (this.weightsDue(state, block) && store.getEvaluation(state.competition.key, BASE_EVALUATION)?.status === 'done' && this.chainReachable()) {
          try {
            const r = await this.scoreAndSetWeights(state);
            weights = r.outcome ?? weights;
            round = r.round ?? round;
          } catch (err) {
            if (!isChainUnavailable(err)) throw err;
            this.chainReachable(); // the node went away just now: weights wait, evaluations go on
          }
        }
        const ran = this.remote
          ? await this.evaluateThroughQueue(state, intake.ended ? null : intake.nextProgress())
          : await this.evaluateNext(state);
        if (ran === 'waiting') {
          block = await this.blocks.current();
          continue;
        }
        if (!ran) {
          if (intake.ended) break;
          // the queue is empty but intake is still checking datasets: wait for the next one, and
          // look at the block at least once a block so a slow download cannot make us miss the window
          await waitAtMost(intake.nextProgress(), (this.options.blockSeconds ?? 12) * 1000);
          block = await this.blocks.current();
          continue;
        }
        if (ran.status === 'done') evaluated++;
        else failed++;
        block = await this.blocks.current();
        // a long pass may cross the epoch: follow the new window (when the node is there to say)
        if (block >= state.info.nextEpochBlock && chain.connected) {
          state.info = await chain.subnetInfo({ netuid: this.options.netuid }).catch((err: unknown) => {
            if (isChainUnavailable(err)) return state.info;
            throw err;
          });
        }
      }
    } finally {
      // never leave intake running into the next pass: it stops at its next dataset
      passOver = true;
      await intake.settled;
    }
    intake.throwIfFailed();
    if (!this.stopping) {
      // intake has ended and the queue is empty: the new round is complete, judged from now on
      if (this.previousRound && store.queueLength(state.competition.key) === 0) this.previousRound = null;
      const r = await this.scoreAndSetWeights(state);
      if (r.outcome && r.outcome.status !== 'already_set') weights = r.outcome;
      weights ??= r.outcome;
      round = r.round ?? round;
    }
    return { block: state.block, evaluated, failed, queued: store.queueLength(state.competition.key), weights, round };
  }

  /**
   * True when the node is connected. Otherwise logs, once per outage, that weights wait for it
   * while evaluations go on.
   */
  private chainReachable(): boolean {
    if (this.options.chain.connected) {
      this.weightsWaiting = false;
      return true;
    }
    if (!this.weightsWaiting) this.options.log.warning('the chain is unreachable: weights wait for it; queued evaluations go on');
    this.weightsWaiting = true;
    return false;
  }

  /**
   * While the node is away, evaluate what is queued for the competition the last pass saw
   * (training needs no chain). Returns when the queue is empty, the node is back or the validator
   * stops.
   */
  private async evaluateWhileChainAway(): Promise<number> {
    const state = this.lastState;
    let evaluated = 0;
    const pending = () => this.options.store.queueLength(state!.competition.key) > 0 || (this.remote?.size ?? 0) > 0;
    while (state && !this.stopping && !this.chainReachable() && pending()) {
      const ran = this.remote ? await this.evaluateThroughQueue(state, null) : await this.evaluateNext(state);
      if (!ran) break;
      if (ran !== 'waiting') evaluated++;
    }
    return evaluated;
  }

  /**
   * Run passes until `rounds` rounds have set weights (forever when undefined), or one pass with
   * `once`. Faults back off and retry (at most `maxRetries` in a row when given); while the chain
   * is away, queued evaluations go on between the retries.
   */
  async run(p: { rounds?: number; once?: boolean; maxRetries?: number } = {}): Promise<PassSummary[]> {
    const { log } = this.options;
    const passes: PassSummary[] = [];
    let setRounds = 0;
    let failures = 0;
    const base = this.options.retryBaseMs ?? 2000;
    while (!this.stopping) {
      try {
        const pass = await this.runPass();
        passes.push(pass);
        failures = 0;
        if (pass.weights?.status === 'set') setRounds++;
        if (p.once || (p.rounds !== undefined && setRounds >= p.rounds)) break;
        if (pass.queued === 0) await this.sleep(this.options.pollMs ?? (this.options.blockSeconds ?? 12) * 1000);
      } catch (err) {
        if (!isRetryable(err)) throw err;
        if (isChainUnavailable(err) && (await this.evaluateWhileChainAway()) > 0) continue; // then try the chain again at once
        failures++;
        if (p.maxRetries !== undefined && failures > p.maxRetries) throw err;
        const wait = Math.min(this.options.maxBackoffMs ?? 60_000, base * 2 ** Math.min(failures - 1, 16));
        log.warning(`${errorMessage(err)}; retrying in ${(wait / 1000).toFixed(1)} s`, { attempt: failures });
        await this.sleep(wait);
      }
    }
    return passes;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((ok) => {
      const started = Date.now();
      const tick = () => (this.stopping || Date.now() - started >= ms ? ok() : setTimeout(tick, Math.min(250, ms)));
      tick();
    });
  }
}

/**
 * Why a revision whose scored round is earlier than the one judged before is refused: a revealed
 * set that no longer matches its commitment (its file replaced) must not take the competition back
 * a round. Null when the round did not go down.
 */
function roundScoredBefore(loaded: LoadedCompetition, judged: LoadedCompetition | null, stored: CompetitionRecord | undefined): string | null {
  if (!loaded.round) return null;
  const before = judged ? (judged.competition.id === loaded.competition.id ? judged.round?.number : undefined)
    : stored?.id === loaded.competition.id ? sealedRoundOfKey(stored.key) ?? undefined : undefined;
  if (before === undefined || loaded.round.number >= before) return null;
  return `round ${before} was scored before and its revealed set no longer matches its commitment (${loaded.round.refused.join('; ') || 'no reason given'})`;
}

/** The rounds of a competition as the store kept it (none when it no longer parses). */
function storedRounds(definition: unknown): readonly Round[] {
  const parsed = parseCompetition(definition);
  return parsed.ok ? competitionRounds(parsed.value) : [];
}

/** Resolves when `p` does or after `ms`, whichever comes first (the timer never outlives it). */
async function waitAtMost(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** Log fields saying when the next download of a file that did not match its commit is due. */
function nextDownload(verdict: IntegrityVerdict): Record<string, string> {
  return verdict.kind === 'wait' ? { nextDownloadIn: `${Math.max(0, Math.ceil((verdict.untilMs - Date.now()) / 1000))} s` } : {};
}

/**
 * Faults the loop waits out: hub or chain down, competition not published (yet) or broken, the
 * competition's files or base model served not matching their commit (nothing can be scored without
 * them; datasets that do not match are verdicts, never thrown this far).
 */
export function isRetryable(err: unknown): boolean {
  return isTransientHubError(err) || err instanceof IntegrityError || isChainUnavailable(err) || err instanceof NotReadyError || err instanceof CompetitionError
    || err instanceof QueueUnavailableError;
}
