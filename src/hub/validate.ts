/**
 * Validation of what names things on a hub: repo ids, revisions and file paths. Both the client
 * (before anything reaches the network or the cache) and the local hub server (before anything
 * reaches the disk or `git`) call these, so a hostile name is refused on both sides.
 */
import { InvalidHubInputError } from './errors.js';

export type RepoType = 'dataset' | 'model';

/** A repository on a hub: `{ type: 'dataset', name: 'alice/my-dataset' }`. */
export interface RepoRef {
  type: RepoType;
  /** `namespace/name` */
  name: string;
}

export const MAX_REPO_PART = 96;
export const MAX_PATH_BYTES = 1024;
export const MAX_REVISION = 200;

// Hugging Face's rule (huggingface_hub's REPO_ID_REGEX): letters, digits, '-', '_', '.'; no '--' or
// '..'; starting and ending with a letter, a digit or '_'. src/protocol/commitment.ts accepts the same ids.
const REPO_PART = /^[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?$/;
const PATH_SEGMENT = /^[A-Za-z0-9._\-+=@,()[\]~ ]+$/;
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;
export const FULL_SHA = /^[0-9a-f]{40}$/;

function refuse(what: string, value: string, why: string): never {
  // JSON.stringify shows NUL bytes and control characters instead of printing them raw.
  const shown = value.length > 120 ? `${JSON.stringify(value.slice(0, 120))}…` : JSON.stringify(value);
  throw new InvalidHubInputError(`Invalid ${what} ${shown}: ${why}.`);
}

function checkRepoPart(what: string, full: string, part: string): void {
  if (part.length === 0) refuse('repo id', full, `the ${what} is empty`);
  if (part.length > MAX_REPO_PART) refuse('repo id', full, `the ${what} is longer than ${MAX_REPO_PART} characters`);
  if (!REPO_PART.test(part) || part.includes('--') || part.includes('..') || part.toLowerCase().endsWith('.git')) {
    refuse('repo id', full, `the ${what} may use letters, digits, '-', '_' and '.', must start and end with a letter, a digit or '_', and may not contain '--' or '..'`);
  }
}

/** Check `namespace/name`; returns its two parts. Throws InvalidHubInputError. */
export function validateRepoName(name: string): { namespace: string; repo: string } {
  if (typeof name !== 'string') refuse('repo id', String(name), 'not a string');
  const parts = name.split('/');
  if (parts.length !== 2) refuse('repo id', name, "expected 'namespace/name'");
  checkRepoPart('namespace', name, parts[0]!);
  checkRepoPart('name', name, parts[1]!);
  return { namespace: parts[0]!, repo: parts[1]! };
}

export function validateRepoType(type: string): RepoType {
  if (type !== 'dataset' && type !== 'model') refuse('repo type', String(type), "expected 'dataset' or 'model'");
  return type;
}

/** Check a revision: a branch or tag name, a short or full commit SHA, or `HEAD`. */
export function validateRevision(revision: string): string {
  if (typeof revision !== 'string' || revision.length === 0) refuse('revision', String(revision), 'it is empty');
  if (revision.length > MAX_REVISION) refuse('revision', revision, `longer than ${MAX_REVISION} characters`);
  if (!REVISION.test(revision) || revision.includes('..') || revision.includes('//') || revision.endsWith('/') ||
      revision.endsWith('.') || revision.endsWith('.lock')) {
    refuse('revision', revision, 'expected a branch or tag name or a commit SHA');
  }
  return revision;
}

/**
 * Check a file path inside a repository: relative, '/'-separated, no empty, '.' or '..'
 * segments, no '.git' folder, no NUL or control characters, printable ASCII only, at most
 * 1024 bytes.
 */
export function validateFilePath(path: string): string {
  if (typeof path !== 'string' || path.length === 0) refuse('file path', String(path), 'it is empty');
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) refuse('file path', path, `longer than ${MAX_PATH_BYTES} bytes`);
  if (path.includes('\0')) refuse('file path', path, 'it contains a NUL byte');
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.includes('\\')) refuse('file path', path, 'it must be relative and use /');
  const segments = path.split('/');
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..') refuse('file path', path, "empty, '.' and '..' segments are not allowed");
    if (!PATH_SEGMENT.test(s) || s !== s.trim()) refuse('file path', path, 'it contains characters other than letters, digits and ._-+=@,()[]~ and inner spaces');
  }
  if (segments[0]!.toLowerCase() === '.git') refuse('file path', path, "the '.git' folder is not part of a repository's files");
  return path;
}

/** URL prefix of a repo on the hub: `datasets/a/b` or `a/b` (models have none). */
export function repoUrlPath(repo: RepoRef): string {
  return repo.type === 'model' ? repo.name : `datasets/${repo.name}`;
}
