/**
 * Published results (docs/protocol.md, "Published results"): after each round a validator writes
 * what it decided — per uid the commitment, dataset identity, eval loss and per-example losses, win
 * rate, weight, the reason for a zero and the receipt — signs it with its hotkey and uploads it to a
 * hub dataset repo it owns, which its own chain commitment points to (`{"results":"owner/name"}`).
 * Anyone can read it, check the signature and re-run the evaluations (`flock audit`).
 *
 * This module is the format: the document, its canonical JSON (what is signed), parsing untrusted
 * documents with bounds, and the pointer commitment. Pure: signing and verifying live in the chain
 * layer (sr25519), reading and writing in the roles that publish and read.
 */
import { z } from 'zod';
import { COMMITMENT_MAX_BYTES, repoIdProblem, utf8Length } from './commitment.js';
import { quote, type ParseResult } from './result.js';

/** The format tag of version 1. */
export const RESULTS_FORMAT = 'flock-results/1';
/** The file in the validator's results repo; each round is a new commit of it. */
export const RESULTS_FILE = 'results.json';
/** Readers refuse larger documents unread (256 uids × 10 000 evaluation losses fit with room). */
export const RESULTS_MAX_BYTES = 64 * 1024 * 1024;
const MAX_UIDS = 65_536;
const MAX_LOSSES = 1_000_000;

/** A loss as JSON carries it: finite numbers as numbers, the rest as strings (JSON has no NaN). */
export type WireNumber = number | 'NaN' | 'Infinity' | '-Infinity';

/** A finite number as is; NaN and the infinities as their names. */
export function toWireNumber(x: number): WireNumber {
  if (Number.isFinite(x)) return x;
  return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
}

export function fromWireNumber(x: WireNumber): number {
  return typeof x === 'number' ? x : Number(x);
}

/**
 * The receipt of one evaluation: everything that made its losses. The engine writes it
 * (`runEvaluation`, engine/run.ts); validators store and publish it; auditors compare it.
 */
export interface Receipt {
  engine: string;
  engineVersion: string;
  backend: string;
  /** Kernel variant per op family (computeIdentity). */
  kernels: Readonly<Record<string, string>>;
  /** The device (GPU adapter and driver), or null on the CPU. */
  device: string | null;
  /** The compute identity's key: equal keys and inputs give bit-identical losses. */
  compute: string;
  modelHash: string;
  /** Dataset identity (the caller's hash over its row hashes) of the training or of the adapter given, or null for the base model. */
  datasetHash: string | null;
  evalSetHash: string;
  recipeHash: string;
  seed: number;
  /**
   * Hash of the adapter evaluated (`adapterHash`): the one trained, or the one given instead of
   * training; null for the base model. Equal inputs and compute identity give the same hash.
   */
  adapterHash: string | null;
}

/** A receipt as published: the engine's, and the contaminated rows dropped before training (evaluation layer). */
export type PublishedReceipt = Receipt & { droppedContaminatedRows?: number };

/** What the validator decided about one uid. */
export interface PublishedUid {
  uid: number;
  hotkey: string;
  /** The commitment text as on chain (null: none), and the block it was set in. */
  commitment: string | null;
  commitmentBlock: number | null;
  /** The dataset the commitment names, when it parsed. */
  repoId: string | null;
  revision: string | null;
  datasetIdentity: string | null;
  /** Mean eval loss and per-example losses (evaluation-set order), when it was evaluated. */
  evalLoss: WireNumber | null;
  losses: WireNumber[] | null;
  winRate: number;
  /** This round's score r and the smoothed weight W (before u16). */
  score: number;
  weight: number;
  /** Why its weight is zero (scoring stage and reason), else null. */
  stage: string | null;
  reason: string | null;
  receipt: PublishedReceipt | null;
}

/** One round's results, as signed. */
export interface ResultsDocument {
  format: typeof RESULTS_FORMAT;
  netuid: number;
  /** The validator's hotkey (SS58): the signer. */
  validator: string;
  /**
   * The competition revision the round scored (the owner's pointer) and, when the competition runs
   * sealed rounds, the round whose evaluation set it scored.
   */
  competition: { id: string; repoId: string; revision: string; sealedRound?: number };
  /** The block the round's weights were set in, and the round's number in this validator's state. */
  block: number;
  round: number;
  /** The compute identity every loss below was computed with. */
  compute: string;
  /** When the document was made (ISO 8601, UTC). */
  createdAt: string;
  /** The base model's own evaluation (the hurdle every dataset must clear). */
  base: { evalLoss: WireNumber; losses: WireNumber[]; receipt: PublishedReceipt | null };
  uids: PublishedUid[];
}

/** The file: the document and the validator's sr25519 signature over its canonical JSON. */
export interface SignedResults {
  document: ResultsDocument;
  /** 0x-hex, 64 bytes. */
  signature: string;
}

/**
 * JSON with object keys sorted (recursively), no whitespace, numbers as JavaScript writes them
 * (the shortest text that reads back to the same float64): one text per value, so signer and
 * verifier hash the same bytes. Throws on non-finite numbers and non-JSON values.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON has no ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON has no ${typeof value}`);
  }
}

/** The bytes a validator signs: the UTF-8 of the document's canonical JSON. */
export function resultsSigningBytes(document: ResultsDocument): Uint8Array {
  return new TextEncoder().encode(canonicalJson(document));
}

/** The file's text (the signed document, pretty enough to read on the hub). */
export function formatSignedResults(signed: SignedResults): string {
  return `${JSON.stringify({ document: signed.document, signature: signed.signature }, null, 1)}\n`;
}

/** A `WireNumber` as JSON holds it (read back as is; `fromWireNumber` makes it a number). */
export const wireNumberSchema = z.union([z.number().finite(), z.enum(['NaN', 'Infinity', '-Infinity'])]);
const wire = wireNumberSchema;
const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`));
const text = (max: number) => z.string().max(max);

/** An engine receipt read from outside (bounded strings). */
export const receiptSchema = z.object({
  engine: text(64), engineVersion: text(64), backend: text(64), kernels: z.record(text(64), text(256)), device: text(1024).nullable(),
  compute: text(2048), modelHash: text(128), datasetHash: text(128).nullable(), evalSetHash: text(128), recipeHash: text(128),
  seed: z.number().int(), adapterHash: text(128).nullable(), droppedContaminatedRows: z.number().int().nonnegative().optional(),
});

const uidSchema = z.object({
  uid: z.number().int().nonnegative(), hotkey: text(64),
  commitment: text(4 * COMMITMENT_MAX_BYTES).nullable(), commitmentBlock: z.number().int().nonnegative().nullable(),
  repoId: text(256).nullable(), revision: text(64).nullable(), datasetIdentity: hex(32).or(z.literal('@base')).nullable(),
  evalLoss: wire.nullable(), losses: z.array(wire).max(MAX_LOSSES).nullable(),
  winRate: z.number().finite(), score: z.number().finite(), weight: z.number().finite(),
  stage: text(64).nullable(), reason: text(4096).nullable(), receipt: receiptSchema.nullable(),
});

const documentSchema = z.object({
  format: z.literal(RESULTS_FORMAT),
  netuid: z.number().int().nonnegative(),
  validator: text(64),
  competition: z.object({ id: text(64), repoId: text(256), revision: text(64), sealedRound: z.number().int().min(1).max(1_000_000).optional() }),
  block: z.number().int().nonnegative(),
  round: z.number().int().nonnegative(),
  compute: text(2048),
  createdAt: text(64),
  base: z.object({ evalLoss: wire, losses: z.array(wire).max(MAX_LOSSES), receipt: receiptSchema.nullable() }),
  uids: z.array(uidSchema).max(MAX_UIDS),
});

export type ResultsErrorCode = 'too_large' | 'bad_json' | 'unknown_format' | 'bad_document' | 'bad_signature_format';

/**
 * Read a results file from outside (a hub anyone can write to). Never throws: a file over
 * `maxBytes`, not JSON, of a format this code does not know, or not shaped as the format says is
 * a reason. The signature is only checked for shape here: verify it with the chain layer's
 * `verifyResults`.
 */
export function parseSignedResults(raw: string, options: { maxBytes?: number } = {}): ParseResult<SignedResults, ResultsErrorCode> {
  const max = options.maxBytes ?? RESULTS_MAX_BYTES;
  const bytes = utf8Length(raw);
  if (bytes > max) return { ok: false, code: 'too_large', reason: `the results file is ${bytes} bytes; at most ${max} are read` };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, code: 'bad_json', reason: 'the results file is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, code: 'bad_document', reason: 'the results file must be a JSON object {document, signature}' };
  const { document, signature } = value as { document?: unknown; signature?: unknown };
  const format = (document as { format?: unknown } | undefined)?.format;
  if (format !== RESULTS_FORMAT) {
    return { ok: false, code: 'unknown_format', reason: `the results document's format is ${typeof format === 'string' ? quote(format) : 'missing'}; this version of flock reads ${quote(RESULTS_FORMAT)}` };
  }
  const parsed = documentSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, code: 'bad_document', reason: `the results document is malformed at ${issue.path.join('.') || '(root)'}: ${issue.message}` };
  }
  if (typeof signature !== 'string' || !/^0x[0-9a-f]{128}$/.test(signature)) {
    return { ok: false, code: 'bad_signature_format', reason: 'the results file has no signature of the right shape (0x and 128 hex digits)' };
  }
  return { ok: true, value: { document: parsed.data as ResultsDocument, signature } };
}

/** A validator's results pointer: the repo it publishes to. */
export interface ResultsPointer {
  repoId: string;
}

/**
 * Format a validator's chain commitment pointing to its results repo: `{"results":"owner/name"}`.
 * Throws `TypeError` on a bad repo id or a text over 128 bytes.
 */
export function formatResultsPointer(p: ResultsPointer): string {
  const problem = repoIdProblem(p.repoId);
  if (problem) throw new TypeError(problem);
  const out = JSON.stringify({ results: p.repoId });
  if (utf8Length(out) > COMMITMENT_MAX_BYTES) throw new TypeError(`the results pointer would be ${utf8Length(out)} bytes; at most ${COMMITMENT_MAX_BYTES} fit on chain`);
  return out;
}

/** Parse a results pointer; never throws. Anything else (a miner's commitment) is `not_results`. */
export function parseResultsPointer(raw: string | Uint8Array): ParseResult<ResultsPointer, 'not_results' | 'bad_repo_id'> {
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    return { ok: false, code: 'not_results', reason: 'not a results pointer' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).join(',') !== 'results' || typeof (value as { results: unknown }).results !== 'string') {
    return { ok: false, code: 'not_results', reason: 'not a results pointer' };
  }
  const repoId = (value as { results: string }).results;
  const problem = repoIdProblem(repoId);
  if (problem) return { ok: false, code: 'bad_repo_id', reason: problem };
  return { ok: true, value: { repoId } };
}
