/**
 * Dataset intake (scoring steps 2–3 and the copy index of step 4): read a submission's
 * `data.jsonl` at its pinned revision (never more than the competition's `maxBytes`; downloaded,
 * validated and fingerprinted by a `DatasetReader`, off the main thread in the validator), record
 * it, add its fingerprints to the copy index and count the rows that match the evaluation set.
 * Cheap — no training — so it runs for every committed dataset of the competition.
 *
 * A submission's own fault (repo or revision missing, file too large, invalid rows) is a reason
 * (the uid scores 0); a hub outage is transient (the submission is simply tried again later);
 * content that does not match the commit throws `DatasetIntegrityError`, which the validator
 * counts against a bounded number of attempts (`integrityVerdict`).
 */
import { contamination, formatBytes, type DatasetFingerprints, type FingerprintIndex } from '../dataset/index.js';
import { HubUnavailableError, type IntegrityMismatch } from '../hub/index.js';
import { unreadableDatasetVerdict } from '../protocol/index.js';
import { FlockError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { LoadedCompetition } from '../evaluation/competition.js';
import type { DatasetReader, ReadOutcome, ReadRequest } from './dataset-reader.js';
import { DATASET_FILE } from './hub-faults.js';
import type { SubmissionRecord, ValidatorStore } from './store.js';

export { DATASET_FILE, isTransientHubError, submissionFaultReason } from './hub-faults.js';

/** A dataset taken in before can no longer be read (gone from the cache and from the hub). */
export class DatasetGoneError extends FlockError {
  override name = 'DatasetGoneError';
}

/** The hub answered a dataset's download with content that does not match the commit (discarded). */
export class DatasetIntegrityError extends FlockError {
  override name = 'DatasetIntegrityError';
  constructor(message: string, readonly mismatch: IntegrityMismatch) {
    super(message);
  }
}

/** Where each dataset's file is and its fingerprints (kept in memory; rebuilt from the cache after a restart). */
export class DatasetFiles {
  readonly paths = new Map<string, string>();
  readonly fingerprints = new Map<string, DatasetFingerprints>();
}

export interface IntakeContext {
  reader: DatasetReader;
  store: ValidatorStore;
  index: FingerprintIndex;
  files: DatasetFiles;
  competition: LoadedCompetition;
  log: Logger;
  /** The chain's block now (for the publish window of protocol 2); unknown: the window is over. */
  currentBlock?: number;
}

export type IntakeOutcome =
  | { kind: 'accepted'; identity: string }
  | { kind: 'rejected'; reason: string }
  /** Not readable yet, within its publish window (protocol 2): read again on a later pass. */
  | { kind: 'waiting'; reason: string; untilBlock: number };

/** The read request for a submission under the competition's limits. */
export function readRequest(ctx: Pick<IntakeContext, 'competition'>, sub: SubmissionRecord): ReadRequest {
  const limits = ctx.competition.competition.limits;
  return {
    repo: sub.repoId!, revision: sub.revision!, maxBytes: limits.maxBytes, maxRows: limits.maxRows,
    maxTokensPerRow: limits.maxTokensPerRow, tokenizerDir: ctx.competition.modelDir,
    chatTemplate: ctx.competition.competition.recipe.chatTemplate,
  };
}

/**
 * The outcome of a read; a hub outage is thrown (transient, as `isTransientHubError` sees it), and
 * content not matching the commit as a `DatasetIntegrityError`.
 */
function unlessUnavailable(outcome: ReadOutcome): Exclude<ReadOutcome, { kind: 'unavailable' | 'integrity' }> {
  if (outcome.kind === 'unavailable') throw new HubUnavailableError(outcome.message);
  if (outcome.kind === 'integrity') {
    throw new DatasetIntegrityError(outcome.message, { path: outcome.path, expected: outcome.expected, served: outcome.served });
  }
  return outcome;
}

/**
 * Record one submission's dataset (dataset row, link, contamination count, copy index), reading
 * it with `ctx.reader` unless `outcome` (the reader's answer) is given. Hub outages throw
 * (transient), content not matching the commit throws `DatasetIntegrityError`; everything the
 * miner did wrong comes back as `rejected` with a reason (also stored on the submission).
 */
export async function intakeSubmission(ctx: IntakeContext, sub: SubmissionRecord, outcome?: Promise<ReadOutcome>): Promise<IntakeOutcome> {
  const { store, competition } = ctx;
  const limits = competition.competition.limits;
  const read = unlessUnavailable(await (outcome ?? ctx.reader.read(readRequest(ctx, sub))));
  const reject = (reason: string): IntakeOutcome => {
    store.setSubmissionReason(sub.id, reason);
    return { kind: 'rejected', reason };
  };
  if (read.kind === 'fault') {
    if (!read.unreadable) return reject(read.reason);
    const verdict = unreadableDatasetVerdict({ commitmentBlock: sub.block, currentBlock: ctx.currentBlock ?? Number.POSITIVE_INFINITY, reason: read.reason }, competition.competition.scoring);
    return verdict.kind === 'wait' ? { kind: 'waiting', reason: verdict.reason, untilBlock: verdict.untilBlock } : reject(verdict.reason);
  }
  // rows longer than maxTokensPerRow (with the base model's tokenizer and chat template) are a structural error
  if (read.valid && read.tooLongLine !== null) {
    return reject(`${DATASET_FILE}:${read.tooLongLine}: the row is longer than ${limits.maxTokensPerRow} tokens (the competition's maxTokensPerRow)`);
  }
  if (!read.valid) return reject(`${DATASET_FILE} has ${read.errorCount} problem(s) (run \`flock dataset check\`); first: ${read.firstError ?? ''}`);
  const fp = read.fingerprints;
  if (fp.rows === 0) return reject(`${DATASET_FILE} has no rows`);
  const identity = fp.identity;
  const contaminated = contamination(fp, competition.evalFingerprints).contaminatedRows.length;
  store.recordDataset({ identity, bytes: read.bytes, rows: fp.rows, fingerprintsRef: 'fingerprints.sqlite' });
  store.setSubmissionDataset(sub.id, identity);
  store.recordDatasetCheck({ competitionKey: competition.key, datasetIdentity: identity, rows: fp.rows, contaminatedRows: contaminated });
  if (!ctx.index.has(identity, identity)) ctx.index.add(identity, fp);
  ctx.files.paths.set(identity, read.path);
  ctx.files.fingerprints.set(identity, fp);
  ctx.log.debug('dataset checked', { uid: sub.uid, repo: sub.repoId, rows: fp.rows, bytes: formatBytes(read.bytes), contaminated, truncated: read.truncated });
  return { kind: 'accepted', identity };
}

/**
 * The local file and fingerprints of an accepted dataset, re-read (from the hub cache, through
 * the reader) when this process has not seen it yet, after a restart. Hub outages throw; a
 * dataset that cannot be read any more throws `DatasetGoneError`, one the hub serves changed
 * `DatasetIntegrityError`. `urgent`: an evaluation waits for
 * it (the reader takes it before intake's queue).
 */
export async function datasetFile(ctx: IntakeContext, identity: string, sub: SubmissionRecord, urgent = false): Promise<{ path: string; fingerprints: DatasetFingerprints }> {
  let path = ctx.files.paths.get(identity);
  let fp = ctx.files.fingerprints.get(identity);
  if (path && fp) return { path, fingerprints: fp };
  const read = unlessUnavailable(await ctx.reader.read({ ...readRequest(ctx, sub), urgent }));
  if (read.kind === 'fault') throw new DatasetGoneError(`the dataset cannot be read any more: ${read.reason}`);
  path = read.path;
  fp = read.fingerprints;
  ctx.files.paths.set(identity, path);
  ctx.files.fingerprints.set(identity, fp);
  return { path, fingerprints: fp };
}
