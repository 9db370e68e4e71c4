/**
 * The miner commitment and the competition pointer: the two short strings stored on chain with the
 * Commitments pallet (one `Raw` field, at most 128 bytes).
 *
 * Miner commitment: `"{repo_id}:{competition_id}:{revision}"`, e.g.
 * `alice/my-dataset:1:4f2c…` (40-hex git commit of the dataset repo on the Hub).
 *
 * Upstream compatibility (read from FLock-io/FLock-subnet, `flockoff/miners/data.py`, `ModelId`):
 * their miners commit `f"{namespace}:{competition_id}:{commit}"` where `namespace` is the HF
 * dataset repo id (`owner/name`), `competition_id` a short string (their default "1", at most 12
 * characters) and `commit` the full commit oid returned by `HfApi.upload_file` (40 lowercase hex).
 * Their parser is `cs.split(":")` and maps a literal `None` commit to the branch `main`; their
 * validator skips commitments that start with `{` (JSON). Every commitment their miner tool writes
 * parses here unchanged.
 *
 * Deliberately stricter than upstream: the revision must be a full 40-hex commit SHA. A branch
 * (`main`, `None`) or a short SHA is rejected, because a mutable ref lets the data change after
 * the commitment block (breaking "earlier commitment wins" and letting validators download
 * different data), and a short SHA may be ambiguous or not resolve on the Hub.
 */
import { type ParseResult, ProtocolError, quote } from './result.js';

/** Most bytes a Commitments pallet `Raw` field holds (`Raw0..Raw128`). */
export const COMMITMENT_MAX_BYTES = 128;
/** Longest HF repo name (the part after `owner/`), as `huggingface_hub` validates it. */
export const REPO_NAME_MAX_CHARS = 96;
/** Longest competition id we accept (upstream allows 12; a little room for ids like `2026-q1-math`). */
export const COMPETITION_ID_MAX_CHARS = 32;

/** A parsed miner commitment. */
export interface Commitment {
  /** Hugging Face dataset repo, `owner/name`. */
  repoId: string;
  /** Competition the dataset is submitted to (matches the competition pointer's `c`). */
  competitionId: string;
  /** Full 40-hex commit SHA of the dataset repo (lowercase). */
  revision: string;
}

export type CommitmentErrorCode =
  | 'empty'
  | 'not_utf8'
  | 'too_long'
  | 'json_not_commitment'
  | 'bad_format'
  | 'bad_repo_id'
  | 'bad_competition_id'
  | 'bad_revision';

/** The competition pointer: the owner hotkey's commitment naming where competition.json lives. */
export interface CompetitionPointer {
  /** Competition id (`c`). */
  competitionId: string;
  /** Hub dataset repo holding competition.json and the evaluation set (`r`). */
  repoId: string;
  /** 40-hex commit of that repo (`v`): the evaluation revision. */
  revision: string;
}

export type PointerErrorCode = 'empty' | 'not_utf8' | 'too_long' | 'bad_json' | 'bad_format' | 'bad_repo_id' | 'bad_competition_id' | 'bad_revision';

const REVISION_RE = /^[0-9a-f]{40}$/;
const COMPETITION_ID_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
// One segment of an HF repo id: letters, digits, `_`, `-`, `.`; starts and ends with a letter,
// digit or `_` (the `\b` of huggingface_hub's REPO_ID_REGEX).
const REPO_SEGMENT_RE = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

const utf8 = new TextEncoder();

/** Number of UTF-8 bytes of `s`. */
export function utf8Length(s: string): number {
  return utf8.encode(s).length;
}

/**
 * Decode chain bytes as strict UTF-8 (a string passes through). Invalid UTF-8 is an error rather
 * than U+FFFD, so two different byte strings never parse to the same commitment.
 */
function decodeRaw(raw: string | Uint8Array): ParseResult<string, 'not_utf8'> {
  if (typeof raw === 'string') return { ok: true, value: raw };
  try {
    return { ok: true, value: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw) };
  } catch {
    return { ok: false, code: 'not_utf8', reason: 'the commitment is not valid UTF-8 text' };
  }
}

/** Why `repoId` is not a valid HF dataset repo id (`owner/name`), or null when it is. */
export function repoIdProblem(repoId: string): string | null {
  const parts = repoId.split('/');
  if (parts.length !== 2) {
    return `repo id ${quote(repoId)} must be "owner/name" (exactly one "/")`;
  }
  const [owner, name] = parts as [string, string];
  for (const [label, seg] of [['owner', owner], ['name', name]] as const) {
    if (seg.length === 0) return `repo id ${quote(repoId)} has an empty ${label}`;
    if (!REPO_SEGMENT_RE.test(seg)) {
      return `repo id ${quote(repoId)}: the ${label} may use only letters, digits, "-", "_" and "." and must start and end with a letter, digit or "_"`;
    }
    if (seg.length > REPO_NAME_MAX_CHARS) return `repo id ${quote(repoId)}: the ${label} is longer than ${REPO_NAME_MAX_CHARS} characters`;
  }
  if (repoId.includes('--') || repoId.includes('..')) return `repo id ${quote(repoId)} must not contain "--" or ".."`;
  if (repoId.endsWith('.git')) return `repo id ${quote(repoId)} must not end with ".git"`;
  return null;
}

/** Why `id` is not a valid competition id, or null when it is. */
export function competitionIdProblem(id: string): string | null {
  if (id.length === 0) return 'the competition id is empty';
  if (id.length > COMPETITION_ID_MAX_CHARS) return `competition id ${quote(id)} is longer than ${COMPETITION_ID_MAX_CHARS} characters`;
  if (!COMPETITION_ID_RE.test(id)) {
    return `competition id ${quote(id)} may use only letters, digits, "-", "_" and "." and must start and end with a letter or digit`;
  }
  return null;
}

/** Why `revision` is not a full 40-hex commit SHA, or null when it is. */
export function revisionProblem(revision: string): string | null {
  if (REVISION_RE.test(revision)) return null;
  if (/^[0-9A-Fa-f]{40}$/.test(revision)) return `revision ${quote(revision)} must be lowercase hex`;
  if (/^[0-9a-fA-F]{4,39}$/.test(revision)) {
    return `revision ${quote(revision)} is a short SHA; commit the full 40-character commit SHA of the dataset repo`;
  }
  return `revision ${quote(revision)} is not a commit SHA (a branch or tag can change after you commit); use the full 40-character commit SHA of the dataset repo`;
}

/**
 * Parse a miner commitment read from chain (bytes of the `Raw` field, or the decoded string).
 * Never throws: a bad commitment comes back as `{ ok: false, code, reason }`.
 *
 * @example
 * const r = parseCommitment('alice/my-dataset:1:' + 'a'.repeat(40));
 * if (r.ok) console.log(r.value.repoId); // "alice/my-dataset"
 */
export function parseCommitment(raw: string | Uint8Array): ParseResult<Commitment, CommitmentErrorCode> {
  const decoded = decodeRaw(raw);
  if (!decoded.ok) return decoded;
  const text = decoded.value;
  if (text.length === 0) return { ok: false, code: 'empty', reason: 'the commitment is empty' };
  const bytes = utf8Length(text);
  if (bytes > COMMITMENT_MAX_BYTES) {
    return { ok: false, code: 'too_long', reason: `the commitment is ${bytes} bytes; at most ${COMMITMENT_MAX_BYTES} fit on chain` };
  }
  if (text.startsWith('{')) {
    return {
      ok: false,
      code: 'json_not_commitment',
      reason: 'the commitment is JSON (a competition pointer?), not "repo_id:competition_id:revision"',
    };
  }
  const parts = text.split(':');
  if (parts.length !== 3) {
    return {
      ok: false,
      code: 'bad_format',
      reason: `commitment ${quote(text)} has ${parts.length} ":"-separated parts; expected "repo_id:competition_id:revision"`,
    };
  }
  const [repoId, competitionId, revision] = parts as [string, string, string];
  const repo = repoIdProblem(repoId);
  if (repo) return { ok: false, code: 'bad_repo_id', reason: repo };
  const comp = competitionIdProblem(competitionId);
  if (comp) return { ok: false, code: 'bad_competition_id', reason: comp };
  const rev = revisionProblem(revision);
  if (rev) return { ok: false, code: 'bad_revision', reason: rev };
  return { ok: true, value: { repoId, competitionId, revision } };
}

/**
 * Format a commitment for `set_commitment`. Throws `ProtocolError` when a part is invalid or the
 * result exceeds 128 bytes — the miner tool calls this before paying for a transaction.
 *
 * @example
 * formatCommitment({ repoId: 'alice/ds', competitionId: '1', revision: 'f'.repeat(40) });
 * // "alice/ds:1:ffff…"
 */
export function formatCommitment(c: Commitment): string {
  const text = `${c.repoId}:${c.competitionId}:${c.revision}`;
  const parsed = parseCommitment(text);
  if (!parsed.ok) throw new ProtocolError(parsed.code, parsed.reason);
  return text;
}

/**
 * Parse the owner's competition pointer `{"c":"1","r":"flock/competition-1","v":"<40-hex>"}`.
 * Never throws. Unknown keys are rejected so that a pointer means one thing to every validator.
 *
 * @example
 * parseCompetitionPointer('{"c":"1","r":"flock/competition-1","v":"' + 'b'.repeat(40) + '"}');
 */
export function parseCompetitionPointer(raw: string | Uint8Array): ParseResult<CompetitionPointer, PointerErrorCode> {
  const decoded = decodeRaw(raw);
  if (!decoded.ok) return decoded;
  const text = decoded.value;
  if (text.length === 0) return { ok: false, code: 'empty', reason: 'the competition pointer is empty' };
  const bytes = utf8Length(text);
  if (bytes > COMMITMENT_MAX_BYTES) {
    return { ok: false, code: 'too_long', reason: `the competition pointer is ${bytes} bytes; at most ${COMMITMENT_MAX_BYTES} fit on chain` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'bad_json', reason: `the competition pointer ${quote(text)} is not JSON` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'bad_format', reason: 'the competition pointer must be a JSON object {"c","r","v"}' };
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort().join(',');
  if (keys !== 'c,r,v' || typeof obj.c !== 'string' || typeof obj.r !== 'string' || typeof obj.v !== 'string') {
    return { ok: false, code: 'bad_format', reason: 'the competition pointer must have exactly the string fields "c", "r" and "v"' };
  }
  const comp = competitionIdProblem(obj.c);
  if (comp) return { ok: false, code: 'bad_competition_id', reason: comp };
  const repo = repoIdProblem(obj.r);
  if (repo) return { ok: false, code: 'bad_repo_id', reason: repo };
  const rev = revisionProblem(obj.v);
  if (rev) return { ok: false, code: 'bad_revision', reason: rev };
  return { ok: true, value: { competitionId: obj.c, repoId: obj.r, revision: obj.v } };
}

/**
 * Format the competition pointer as compact JSON with keys in the fixed order c, r, v. Throws
 * `ProtocolError` when a part is invalid or the result exceeds 128 bytes.
 */
export function formatCompetitionPointer(p: CompetitionPointer): string {
  const text = JSON.stringify({ c: p.competitionId, r: p.repoId, v: p.revision });
  const parsed = parseCompetitionPointer(text);
  if (!parsed.ok) throw new ProtocolError(parsed.code, parsed.reason);
  return text;
}

/**
 * Parse a miner commitment and check that it is for the active competition (scoring step 1's
 * "wrong competition id"). Never throws.
 *
 * @example
 * const r = commitmentForCompetition(raw, '1');
 * if (!r.ok) store.setSubmissionReason(id, r.reason);
 */
export function commitmentForCompetition(
  raw: string | Uint8Array,
  competitionId: string,
): ParseResult<Commitment, CommitmentErrorCode | 'other_competition'> {
  const parsed = parseCommitment(raw);
  if (!parsed.ok || parsed.value.competitionId === competitionId) return parsed;
  return {
    ok: false,
    code: 'other_competition',
    reason: `the commitment is for competition ${quote(parsed.value.competitionId)}; the active competition is ${quote(competitionId)}`,
  };
}
