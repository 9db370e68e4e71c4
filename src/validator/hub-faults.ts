/**
 * How hub failures are read for a submission: the submission's own fault (a reason, the uid
 * scores 0) or a hub outage (transient: try again later).
 */
import {
  DownloadCapExceededError, EntryNotFoundError, HubRequestError, HubTimeoutError, HubUnavailableError, IntegrityError,
  InvalidHubInputError, RepoNotFoundError, RevisionNotFoundError, UnauthorizedError,
} from '../hub/index.js';

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
