/**
 * How hub failures are read for a submission: the submission's own fault (a reason, the uid
 * scores 0), a hub outage (transient: try again later), or content that does not match the commit
 * (an `IntegrityError`: tried again a bounded number of times, with a wait between attempts, then a
 * reason).
 */
import {
  DownloadCapExceededError, EntryNotFoundError, HubRequestError, InvalidHubInputError, RepoNotFoundError, RevisionNotFoundError, UnauthorizedError,
} from '../hub/index.js';
import type { HubIntegrityFailure } from './store.js';

/** The file a dataset repo must hold at its root (docs/protocol.md, "Datasets"). */
export const DATASET_FILE = 'data.jsonl';

/**
 * True for hub failures that say nothing about the submission (try again later, as often as it
 * takes). Not an `IntegrityError`: content that does not match the commit is retried a bounded
 * number of times (`integrityVerdict`).
 */
export { isTransientHubError } from '../hub/index.js';

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

/** True when the hub would not serve the repo or revision at all: missing, private or gated. */
export function isUnreadable(err: unknown): boolean {
  return err instanceof RepoNotFoundError || err instanceof RevisionNotFoundError || err instanceof UnauthorizedError;
}

/**
 * Downloads of a file the hub may answer with content that does not match the commit before the
 * submission scores 0: a hub can serve a bad object for a while (a stale cache, a half-written
 * object), not forever.
 */
export const INTEGRITY_MAX_ATTEMPTS = 3;
/** Wait after the first such download before the next, doubled after each (5 min, then 10 min). */
export const INTEGRITY_BACKOFF_MS = 5 * 60_000;

export interface IntegrityPolicy {
  /** Downloads that may fail the check before the verdict (default `INTEGRITY_MAX_ATTEMPTS`). */
  maxAttempts: number;
  /** Wait after the first failed download, doubled after each (default `INTEGRITY_BACKOFF_MS`). */
  backoffMs: number;
}

export const DEFAULT_INTEGRITY_POLICY: IntegrityPolicy = { maxAttempts: INTEGRITY_MAX_ATTEMPTS, backoffMs: INTEGRITY_BACKOFF_MS };

/**
 * What to do with a file whose downloads failed the integrity check `f.attempts` times: `final`
 * (the submission scores 0 with `reason`), `wait` (until `untilMs` before downloading it again) or
 * `retry` (download it again now).
 */
export type IntegrityVerdict = { kind: 'final'; reason: string } | { kind: 'wait'; untilMs: number } | { kind: 'retry' };

export function integrityVerdict(f: HubIntegrityFailure, policy: IntegrityPolicy, nowMs: number): IntegrityVerdict {
  if (f.attempts >= policy.maxAttempts) return { kind: 'final', reason: integrityReason(f) };
  const untilMs = f.lastFailedAt + policy.backoffMs * 2 ** (f.attempts - 1);
  return nowMs < untilMs ? { kind: 'wait', untilMs } : { kind: 'retry' };
}

function mismatchText(f: HubIntegrityFailure): string {
  return `${f.path} at ${f.repoId}@${f.revision.slice(0, 12)} does not match its commit: expected ${f.expected}, the hub served ${f.served}`;
}

/** The reason a submission scores 0 when the hub keeps serving a file that does not match its commit. */
export function integrityReason(f: HubIntegrityFailure): string {
  return `${mismatchText(f)} (${f.attempts} download${f.attempts === 1 ? '' : 's'}, none matched)`;
}

const WAIT_MARK = '; trying again later)';

/** The reason an evaluation waits (scoring 0 meanwhile) for the next download of such a file. */
export function integrityWaitReason(f: HubIntegrityFailure, policy: IntegrityPolicy): string {
  return `${mismatchText(f)} (download ${f.attempts} of ${policy.maxAttempts}${WAIT_MARK}`;
}

/** True for a reason `integrityWaitReason` wrote. */
export function isIntegrityWaitReason(reason: string | null | undefined): boolean {
  return reason?.endsWith(WAIT_MARK) ?? false;
}
