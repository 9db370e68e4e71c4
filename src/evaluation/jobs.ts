/**
 * Evaluation jobs as they travel through a queue between the validator (producer) and workers
 * (consumers): the payload, its id, the result a worker returns and the failure it reports. Pure:
 * no I/O. The BullMQ wiring is queue.ts.
 *
 * A job names everything that decides its result — the competition revision (and so the recipe,
 * evaluation set, base model and seed), the dataset identity and the compute identity — and its id
 * is a hash of exactly that, so enqueuing the same work twice is one job with one result. Where to
 * download the dataset (repo, revision, path) travels with the job but is not part of its id: two
 * commitments of the same rows are the same evaluation.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Receipt } from '../engine/run.js';
import { fromWireNumber, receiptSchema, toWireNumber, wireNumberSchema, type CompetitionPointer } from '../protocol/index.js';

/** The dataset identity of the base model's own evaluation (the validator's `BASE_EVALUATION`). */
export const BASE_IDENTITY = '@base';

/** The file of a dataset repo that is trained on (docs/protocol.md, "Datasets"). */
export const DATASET_PATH = 'data.jsonl';

/** One evaluation to run: train on `dataset` (none: the base model) with the competition's recipe and seed. */
export interface EvaluationJob {
  /** The competition revision (the owner's pointer). */
  competition: CompetitionPointer;
  /** The dataset to train on, or null to evaluate the base model alone. */
  dataset: {
    repoId: string;
    /** 40-hex commit of the dataset repo. */
    revision: string;
    /** The file in the repo, `data.jsonl`. */
    path: string;
    /** Dataset identity (64-hex, over the rows as the validator read them): checked against the downloaded file. */
    identity: string;
  } | null;
  /** The compute identity key (`computeIdentity(backend).key`) the result must be computed with. */
  compute: string;
}

const HEX40 = /^[0-9a-f]{40}$/;
const HEX64 = /^[0-9a-f]{64}$/;

const jobSchema = z.object({
  competition: z.object({
    competitionId: z.string().min(1).max(64),
    repoId: z.string().min(1).max(256),
    revision: z.string().regex(HEX40, { error: 'must be a 40-hex commit' }),
  }),
  dataset: z.object({
    repoId: z.string().min(1).max(256),
    revision: z.string().regex(HEX40, { error: 'must be a 40-hex commit' }),
    path: z.string().min(1).max(1024),
    identity: z.string().regex(HEX64, { error: 'must be a 64-hex dataset identity' }),
  }).nullable(),
  compute: z.string().min(1).max(1024),
});

/** Check a job payload read back from the queue (it is outside data). */
export function parseEvaluationJob(value: unknown): { ok: true; job: EvaluationJob } | { ok: false; reason: string } {
  const parsed = jobSchema.safeParse(value);
  if (parsed.success) return { ok: true, job: parsed.data };
  const issue = parsed.error.issues[0]!;
  return { ok: false, reason: `the job payload is malformed: ${issue.path.join('.') || '(root)'} ${issue.message}` };
}

/** The identity of what the job trains on: the dataset identity, or `@base`. */
export function jobIdentity(job: EvaluationJob): string {
  return job.dataset?.identity ?? BASE_IDENTITY;
}

/**
 * The job's id: SHA-256 (hex) over what makes its result — dataset identity (or `@base`),
 * competition id and revision, compute identity. Equal work, equal id.
 *
 * @example
 * evaluationJobId({ competition: pointer, dataset: null, compute: computeIdentity(backend).key }); // 64 hex
 */
export function evaluationJobId(job: EvaluationJob): string {
  const parts = ['flock-evaluation-job/1', job.competition.competitionId, job.competition.revision, jobIdentity(job), job.compute];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** What a worker returns for a job it ran. */
export interface EvaluationJobResult {
  /** Mean loss of each evaluation example over its assistant tokens, in evaluation-set order. */
  losses: number[];
  evalLoss: number;
  receipt: Receipt & { droppedContaminatedRows: number };
  /** Engine seconds (training + evaluation), and its two parts. */
  seconds: number;
  trainSeconds: number;
  evalSeconds: number;
  /** The worker that computed it. */
  worker: string;
}

/**
 * Why a job failed:
 * - `dataset`: the dataset can never be evaluated (invalid, nothing left to train on, missing or
 *   refused by the hub): it scores 0 with the reason;
 * - `integrity`: the downloaded file is not what the job names (content not matching the commit,
 *   or another dataset identity);
 * - `competition`: the competition's own files are unusable;
 * - `refused`: the worker would not run it (another compute identity, a malformed payload), or
 *   its result does not match the job;
 * - `transient`: every attempt hit a fault that is nobody's data's fault (hub outage, a lost
 *   device, a worker that kept dying): worth trying again later.
 */
export type EvaluationFailureKind = 'dataset' | 'integrity' | 'competition' | 'refused' | 'transient';

export interface EvaluationJobFailure {
  kind: EvaluationFailureKind;
  reason: string;
}

/** When a job entered the queue, a worker took it (its last attempt) and it finished (ms since the epoch, the queue's clocks). */
export interface EvaluationJobTiming {
  queuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** A settled job: its result (and, read from the queue, its timing), or why it failed. */
export type EvaluationJobOutcome =
  | { status: 'done'; result: EvaluationJobResult; timing?: EvaluationJobTiming }
  | { status: 'failed'; failure: EvaluationJobFailure };

const FAILURE_TAG = /^\[flock:(dataset|integrity|competition|refused)\] /;

/**
 * The text a worker fails a job with, carrying its kind (`[flock:dataset] the dataset …`): BullMQ
 * keeps a failed job's error message and nothing else of the error.
 */
export function formatFailureReason(kind: Exclude<EvaluationFailureKind, 'transient'>, reason: string): string {
  return `[flock:${kind}] ${reason}`;
}

/** The failure a failed job's message stands for; untagged messages are transient faults. */
export function parseFailureReason(message: string | undefined): EvaluationJobFailure {
  const text = message ?? 'the job failed without a reason';
  const m = FAILURE_TAG.exec(text);
  return m ? { kind: m[1] as EvaluationFailureKind, reason: text.slice(m[0].length) } : { kind: 'transient', reason: text };
}

// ── the result on the wire ───────────────────────────────────────────────────────────────────
// Job results are stored as JSON, which has no NaN or infinities: those travel as strings (the
// wire numbers of published results), so a result read back is bit-identical to the one computed.

const wireNumber = wireNumberSchema.transform(fromWireNumber);

/** A result as a worker returns it to the queue (JSON-safe). */
export function encodeJobResult(result: EvaluationJobResult): unknown {
  return { format: 1, ...result, losses: result.losses.map(toWireNumber), evalLoss: toWireNumber(result.evalLoss) };
}

const jobReceiptSchema = receiptSchema.extend({ droppedContaminatedRows: z.number().int().nonnegative() });

const resultSchema = z.object({
  format: z.literal(1),
  losses: z.array(wireNumber),
  evalLoss: wireNumber,
  receipt: jobReceiptSchema,
  seconds: z.number(),
  trainSeconds: z.number(),
  evalSeconds: z.number(),
  worker: z.string(),
});

/**
 * Read a job's return value back and check it answers `job`: a receipt of the job's compute
 * identity and dataset. A result that does not is a `refused` failure.
 */
export function decodeJobResult(job: EvaluationJob, value: unknown): EvaluationJobOutcome {
  const parsed = resultSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { status: 'failed', failure: { kind: 'refused', reason: `the job's result is malformed: ${issue.path.join('.') || '(root)'} ${issue.message}` } };
  }
  const { format: _format, ...result } = parsed.data;
  if (result.receipt.compute !== job.compute) {
    return { status: 'failed', failure: { kind: 'refused', reason: `the result was computed by "${result.receipt.compute}", the job asked for "${job.compute}"` } };
  }
  const identity = job.dataset?.identity ?? null;
  if (result.receipt.datasetHash !== identity) {
    return { status: 'failed', failure: { kind: 'refused', reason: `the result's receipt names dataset ${result.receipt.datasetHash ?? 'none'}, the job ${identity ?? 'none'}` } };
  }
  return { status: 'done', result };
}
