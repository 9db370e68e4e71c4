/**
 * Dataset intake (scoring steps 2–3 and the copy index of step 4): download a submission's
 * `data.jsonl` at its pinned revision (never more than the competition's `maxBytes`), validate it,
 * fingerprint it into the copy index and count the rows that match the evaluation set. Cheap — no
 * training — so it runs for every committed dataset of the competition.
 *
 * A submission's own fault (repo or revision missing, file too large, invalid rows) is a reason
 * (the uid scores 0); a hub outage is transient (the submission is simply tried again later).
 */
import {
  DownloadCapExceededError, EntryNotFoundError, HubRequestError, HubTimeoutError, HubUnavailableError, IntegrityError,
  InvalidHubInputError, RepoNotFoundError, RevisionNotFoundError, UnauthorizedError, type HubClient,
} from '../hub/index.js';
import { contamination, formatBytes, scanDataset, type DatasetFingerprints, type FingerprintIndex } from '../dataset/index.js';
import { encodeChat } from '../engine/template.js';
import type { Logger } from '../util/log.js';
import type { LoadedCompetition } from './competition.js';
import type { SubmissionRecord, ValidatorStore } from './store.js';

/** The file a dataset repo must hold at its root (SYSTEM.md §2.3). */
export const DATASET_FILE = 'data.jsonl';

/** True for hub failures that say nothing about the submission (try again later). */
export function isTransientHubError(err: unknown): boolean {
  if (err instanceof HubUnavailableError || err instanceof HubTimeoutError || err instanceof IntegrityError) return true;
  return err instanceof HubRequestError && (err.status >= 500 || err.status === 429);
}

/**
 * The reason a hub failure zeroes a submission, or null when the failure is transient or unknown
 * (then the caller rethrows).
 */
export function submissionFaultReason(err: unknown, repo: string, revision: string): string | null {
  const at = `${repo}@${revision.slice(0, 12)}`;
  if (err instanceof RepoNotFoundError) return `the dataset repo ${repo} does not exist on the hub (deleted, renamed or private)`;
  if (err instanceof RevisionNotFoundError) return `revision ${revision} of ${repo} does not exist on the hub`;
  if (err instanceof EntryNotFoundError) return `${at} has no ${DATASET_FILE} at the repo root`;
  if (err instanceof UnauthorizedError) return `${repo} is private or gated: validators cannot read it`;
  if (err instanceof DownloadCapExceededError) return `${DATASET_FILE} at ${at} is too large: ${err.message}`;
  if (err instanceof InvalidHubInputError) return `the hub refused ${at}: ${err.message}`;
  if (err instanceof HubRequestError && err.status >= 400 && err.status < 500 && err.status !== 429) return `the hub refused ${at} (HTTP ${err.status})`;
  return null;
}

/** Where each dataset's file is and its fingerprints (kept in memory; rebuilt from the cache after a restart). */
export class DatasetFiles {
  readonly paths = new Map<string, string>();
  readonly fingerprints = new Map<string, DatasetFingerprints>();
}

export interface IntakeContext {
  hub: HubClient;
  store: ValidatorStore;
  index: FingerprintIndex;
  files: DatasetFiles;
  competition: LoadedCompetition;
  log: Logger;
}

export type IntakeOutcome =
  | { kind: 'accepted'; identity: string }
  | { kind: 'rejected'; reason: string };

/**
 * Download, validate and fingerprint one submission's dataset and record it (dataset row, link,
 * contamination count, copy index). Hub outages throw (transient); everything the miner did
 * wrong comes back as `rejected` with a reason (also stored on the submission).
 */
export async function intakeSubmission(ctx: IntakeContext, sub: SubmissionRecord): Promise<IntakeOutcome> {
  const { hub, store, competition } = ctx;
  const limits = competition.competition.limits;
  const repo = sub.repoId!;
  const revision = sub.revision!;
  let path: string;
  try {
    path = await hub.downloadFile({ repo, type: 'dataset', revision, path: DATASET_FILE, maxBytes: limits.maxBytes });
  } catch (err) {
    const reason = submissionFaultReason(err, repo, revision);
    if (reason === null) throw err;
    store.setSubmissionReason(sub.id, reason);
    return { kind: 'rejected', reason };
  }
  // rows longer than maxTokensPerRow (with the base model's tokenizer and chat template) are a structural error
  const tokenizer = competition.checkpoint.tokenizer;
  let tooLong: number | null = null;
  const scan = await scanDataset(path, {
    limits: { maxFileBytes: limits.maxBytes, maxRows: limits.maxRows },
    onRow: (row, line) => {
      if (tooLong === null && encodeChat(row, tokenizer, limits.maxTokensPerRow + 1).ids.length > limits.maxTokensPerRow) tooLong = line;
    },
  });
  if (scan.valid && tooLong !== null) {
    const reason = `${DATASET_FILE}:${tooLong}: the row is longer than ${limits.maxTokensPerRow} tokens (the competition's maxTokensPerRow)`;
    store.setSubmissionReason(sub.id, reason);
    return { kind: 'rejected', reason };
  }
  if (!scan.valid) {
    const first = scan.errors[0]?.replace(path, DATASET_FILE) ?? '';
    const reason = `${DATASET_FILE} has ${scan.errorCount} problem(s) (run \`flock dataset check\`); first: ${first}`;
    store.setSubmissionReason(sub.id, reason);
    return { kind: 'rejected', reason };
  }
  if (scan.fingerprints.rows === 0) {
    const reason = `${DATASET_FILE} has no rows`;
    store.setSubmissionReason(sub.id, reason);
    return { kind: 'rejected', reason };
  }
  const fp = scan.fingerprints;
  const identity = fp.identity;
  const contaminated = contamination(fp, competition.evalFingerprints).contaminatedRows.length;
  store.recordDataset({ identity, bytes: scan.bytes, rows: fp.rows, fingerprintsRef: 'fingerprints.sqlite' });
  store.setSubmissionDataset(sub.id, identity);
  store.recordDatasetCheck({ competitionId: competition.key, datasetIdentity: identity, rows: fp.rows, contaminatedRows: contaminated });
  if (!ctx.index.has(identity, identity)) ctx.index.add(identity, fp);
  ctx.files.paths.set(identity, path);
  ctx.files.fingerprints.set(identity, fp);
  ctx.log.debug('dataset checked', { uid: sub.uid, repo, rows: fp.rows, bytes: formatBytes(scan.bytes), contaminated, truncated: scan.truncated });
  return { kind: 'accepted', identity };
}

/**
 * The local file and fingerprints of an accepted dataset, re-read from the hub cache when this
 * process has not seen it yet (after a restart). Hub outages throw.
 */
export async function datasetFile(ctx: IntakeContext, identity: string, sub: SubmissionRecord): Promise<{ path: string; fingerprints: DatasetFingerprints }> {
  let path = ctx.files.paths.get(identity);
  let fp = ctx.files.fingerprints.get(identity);
  if (path && fp) return { path, fingerprints: fp };
  const limits = ctx.competition.competition.limits;
  path = await ctx.hub.downloadFile({ repo: sub.repoId!, type: 'dataset', revision: sub.revision!, path: DATASET_FILE, maxBytes: limits.maxBytes });
  fp = (await scanDataset(path, { limits: { maxFileBytes: limits.maxBytes, maxRows: limits.maxRows } })).fingerprints;
  ctx.files.paths.set(identity, path);
  ctx.files.fingerprints.set(identity, fp);
  return { path, fingerprints: fp };
}

/** Downloads running ahead of intake (`prefetchDatasets`). */
export interface Prefetch {
  /** Resolves when this submission's file is in the cache or its download failed (started now if it was not yet). */
  ready(sub: SubmissionRecord): Promise<void>;
  /** Resolves when every download has ended. */
  done: Promise<void>;
}

/**
 * Download many submissions' files into the cache, `concurrency` at a time and in the given order,
 * so that intake (sequential: validation, fingerprints, the copy index) can go on with the first
 * while later ones are still on the wire. Each file is downloaded once. Errors are left for
 * `intakeSubmission`, which meets them again and records them.
 */
export function prefetchDatasets(ctx: IntakeContext, subs: readonly SubmissionRecord[], concurrency: number): Prefetch {
  const maxBytes = ctx.competition.competition.limits.maxBytes;
  const downloads = new Map<number, Promise<void>>();
  const fetchOne = (s: SubmissionRecord): Promise<void> => {
    let p = downloads.get(s.id);
    if (!p) {
      p = s.repoId && s.revision
        ? ctx.hub.downloadFile({ repo: s.repoId, type: 'dataset', revision: s.revision, path: DATASET_FILE, maxBytes }).then(() => undefined, () => undefined)
        : Promise.resolve();
      downloads.set(s.id, p);
    }
    return p;
  };
  let next = 0;
  const worker = async () => {
    while (next < subs.length) await fetchOne(subs[next++]!);
  };
  const done = Promise.all(Array.from({ length: Math.min(concurrency, subs.length) }, worker)).then(() => undefined);
  return { ready: fetchOne, done };
}
