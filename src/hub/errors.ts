/**
 * One error class per way talking to a hub can fail, so callers (the validator above all) can
 * tell "this submission is bad" (revision or repo missing, file too large) from "try again later"
 * (hub down or slow). Messages name the repo, revision and path — never the token.
 */
import { FlockError, type FlockErrorOptions } from '../util/errors.js';

/** Base class of every hub failure. */
export class HubError extends FlockError {
  override name = 'HubError';
}

/** A repo id, revision or file path that is malformed or hostile (`../`, absolute, NUL, …). */
export class InvalidHubInputError extends HubError {
  override name = 'InvalidHubInputError';
  constructor(message: string, options: FlockErrorOptions = {}) {
    super(message, { exitCode: 1, ...options });
  }
}

/** The repository does not exist (never created, or deleted). */
export class RepoNotFoundError extends HubError {
  override name = 'RepoNotFoundError';
}

/** The repository exists but the revision (branch, tag or SHA) does not. */
export class RevisionNotFoundError extends HubError {
  override name = 'RevisionNotFoundError';
}

/** The revision exists but has no file at that path. */
export class EntryNotFoundError extends HubError {
  override name = 'EntryNotFoundError';
}

/** The repository already exists (createRepo without `existOk`). */
export class RepoExistsError extends HubError {
  override name = 'RepoExistsError';
}

/** The token is missing, unknown, or has no rights on that namespace (or the repo is gated). */
export class UnauthorizedError extends HubError {
  override name = 'UnauthorizedError';
}

/** The hub could not be reached or kept failing (network error or 5xx) after bounded retries. */
export class HubUnavailableError extends HubError {
  override name = 'HubUnavailableError';
}

/** The hub did not answer (or stopped sending) within the timeout, after bounded retries. */
export class HubTimeoutError extends HubError {
  override name = 'HubTimeoutError';
}

/** A download is larger than the caller's byte cap; nothing was kept. */
export class DownloadCapExceededError extends HubError {
  override name = 'DownloadCapExceededError';
}

/** What an `IntegrityError` is about: the file, and what it should be vs what the hub sent. */
export interface IntegrityMismatch {
  /** The file's path in the repo. */
  path: string;
  /** What the hub announced for this commit: `sha256:<hex>` (an LFS object), `git-sha1:<hex>` (a git blob) or `<n> bytes`. */
  expected: string;
  /** What arrived instead: a hash of the same kind, or `more than <n> bytes`. */
  served: string;
}

/** Downloaded bytes do not match the hash or size the hub announced; nothing was kept. */
export class IntegrityError extends HubError {
  override name = 'IntegrityError';
  readonly path: string;
  readonly expected: string;
  readonly served: string;
  constructor(message: string, mismatch: IntegrityMismatch, options: FlockErrorOptions = {}) {
    super(message, options);
    this.path = mismatch.path;
    this.expected = mismatch.expected;
    this.served = mismatch.served;
  }
}

/** Any other refusal by the hub (bad request, conflict, …), with its status. */
export class HubRequestError extends HubError {
  override name = 'HubRequestError';
  readonly status: number;
  constructor(message: string, status: number, options: FlockErrorOptions = {}) {
    super(message, options);
    this.status = status;
  }
}

/**
 * True for hub failures that say nothing about what was asked for: the hub was down, slow or
 * overloaded (try again later, as often as it takes). Not an `IntegrityError`: content that does
 * not match its commit is the caller's to judge.
 */
export function isTransientHubError(err: unknown): boolean {
  if (err instanceof HubUnavailableError || err instanceof HubTimeoutError) return true;
  return err instanceof HubRequestError && (err.status >= 500 || err.status === 429);
}
