/**
 * Reading one submitted dataset: download `data.jsonl` at its pinned revision (never more than the
 * competition's `maxBytes`), then validate, fingerprint and token-check it in one bounded pass.
 * The work of intake that needs no state — so it can run off the main thread (`IntakeThread`),
 * where it does not hold up training or the event loop.
 */
import { scanDataset, transferableFingerprints, type DatasetFingerprints } from '../dataset/index.js';
import { encodeChat } from '../engine/template.js';
import type { ChatTemplate } from '../protocol/recipe.js';
import { loadTokenizer, type ChatTokenizer } from '../engine/tokenizer.js';
import { IntegrityError, type HubClient } from '../hub/index.js';
import { errorMessage } from '../util/errors.js';
import { DATASET_FILE, isTransientHubError, isUnreadable, submissionFaultReason } from './hub-faults.js';
import { loadTrainingSet, type TrainingOutcome, type TrainingRequest } from '../evaluation/training-set.js';

/** What to read, and the competition's limits. */
export interface ReadRequest {
  repo: string;
  revision: string;
  maxBytes: number;
  maxRows: number;
  maxTokensPerRow: number;
  /** Folder of the base model's `tokenizer.json` (rows are measured in its tokens). */
  tokenizerDir: string;
  /** The recipe's chat template (absent: llama3). */
  chatTemplate?: ChatTemplate;
  /** Ahead of intake's queue (an evaluation is waiting for it). */
  urgent?: boolean;
}

export type ReadOutcome =
  /** Downloaded and scanned (the dataset may still be invalid: see `valid`). */
  | {
    kind: 'read';
    path: string;
    bytes: number;
    valid: boolean;
    errorCount: number;
    /** The first problem, as `data.jsonl:LINE: message`. */
    firstError: string | null;
    /** Line of the first row over `maxTokensPerRow`, if any. */
    tooLongLine: number | null;
    truncated: boolean;
    fingerprints: DatasetFingerprints;
  }
  /**
   * The submission's own fault (repo or revision missing, file too large, …): a reason to score 0.
   * `unreadable`: the hub would not serve the repo or revision at all (missing, private, gated) —
   * under protocol 2 it may still be published within its window.
   */
  | { kind: 'fault'; reason: string; unreadable?: boolean }
  /** The hub failed (down, timeout, 5xx): try again later. */
  | { kind: 'unavailable'; message: string }
  /**
   * The hub sent content that does not match the commit (discarded): `path` in the repo, what the
   * commit says it is (`expected`) and what arrived (`served`). Tried again a bounded number of times.
   */
  | { kind: 'integrity'; path: string; expected: string; served: string; message: string };

/** Reads datasets for intake and for training: in this thread (`inThreadReader`) or in a worker (`IntakeThread`). */
export interface DatasetReader {
  read(request: ReadRequest): Promise<ReadOutcome>;
  /** Read a downloaded dataset's training rows (`loadTrainingSet`). */
  loadTraining(request: TrainingRequest): Promise<TrainingOutcome>;
  /** Get ready to read (e.g. start a thread) so the first read does not wait for it. */
  warm(): void;
  close(): Promise<void>;
}

/** A downloaded dataset file, or why there is none. */
export type Downloaded = { kind: 'downloaded'; path: string } | Extract<ReadOutcome, { kind: 'fault' | 'unavailable' | 'integrity' }>;

/**
 * Download one dataset into the hub cache. Errors that are neither the submission's fault nor a
 * hub outage (a full disk, …) are thrown.
 */
export async function downloadDataset(hub: HubClient, request: ReadRequest): Promise<Downloaded> {
  const { repo, revision } = request;
  try {
    return { kind: 'downloaded', path: await hub.downloadFile({ repo, type: 'dataset', revision, path: DATASET_FILE, maxBytes: request.maxBytes }) };
  } catch (err) {
    if (err instanceof IntegrityError) return { kind: 'integrity', path: err.path, expected: err.expected, served: err.served, message: errorMessage(err) };
    const reason = submissionFaultReason(err, repo, revision);
    if (reason !== null) return { kind: 'fault', reason, ...(isUnreadable(err) ? { unreadable: true } : {}) };
    if (isTransientHubError(err)) return { kind: 'unavailable', message: errorMessage(err) };
    throw err;
  }
}

/** Validate, fingerprint and token-check a downloaded dataset file in one bounded pass. */
export async function scanDownloaded(path: string, request: ReadRequest, tokenizer: ChatTokenizer): Promise<ReadOutcome> {
  let tooLongLine: number | null = null;
  const max = request.maxTokensPerRow;
  const scan = await scanDataset(path, {
    limits: { maxFileBytes: request.maxBytes, maxRows: request.maxRows },
    onRow: (row, line) => {
      if (tooLongLine === null && encodeChat(row, tokenizer, max + 1, request.chatTemplate).ids.length > max) tooLongLine = line;
    },
  });
  return {
    kind: 'read', path, bytes: scan.bytes, valid: scan.valid, errorCount: scan.errorCount,
    firstError: scan.errors[0]?.replace(path, DATASET_FILE) ?? null, tooLongLine, truncated: scan.truncated,
    fingerprints: transferableFingerprints(scan.fingerprints), // may go to another thread
  };
}

/** Download and scan one dataset (`downloadDataset`, then `scanDownloaded`). */
export async function readDataset(hub: HubClient, request: ReadRequest, tokenizer: ChatTokenizer): Promise<ReadOutcome> {
  const file = await downloadDataset(hub, request);
  return file.kind === 'downloaded' ? scanDownloaded(file.path, request, tokenizer) : file;
}

/** Tokenizers by folder, loaded once. */
export class TokenizerCache {
  private readonly byDir = new Map<string, ChatTokenizer>();

  get(dir: string): ChatTokenizer {
    let t = this.byDir.get(dir);
    if (!t) {
      t = loadTokenizer(dir);
      this.byDir.set(dir, t);
    }
    return t;
  }
}

/** A reader that works in the calling thread (tools and benchmarks; the validator uses `IntakeThread`). */
export function inThreadReader(hub: HubClient): DatasetReader {
  const tokenizers = new TokenizerCache();
  return {
    read: (request) => readDataset(hub, request, tokenizers.get(request.tokenizerDir)),
    loadTraining: (request) => loadTrainingSet(request),
    warm: () => undefined,
    close: async () => undefined,
  };
}
