/**
 * The validator store's schema and the mapping between its rows and the records the store hands
 * out. The schema is versioned with `PRAGMA user_version`; `MIGRATIONS[k]` moves version k to
 * k + 1, in one transaction (store.ts runs them on open).
 */
import { competitionKey } from '../evaluation/competition.js';
import { FlockError } from '../util/errors.js';
import type {
  CompetitionRecord, EvaluationRecord, EvaluationStatus, SubmissionRecord, WeightTransactionRecord, WeightTxKind, WeightTxStatus,
} from './store.js';

export const MIGRATIONS: readonly string[] = [
  // v0 → v1
  `
  CREATE TABLE competitions (
    id TEXT NOT NULL,
    revision TEXT NOT NULL,            -- competition repo revision (the pointer's v)
    repo TEXT NOT NULL,
    definition TEXT NOT NULL,          -- competition.json, defaults filled, as JSON
    first_seen_block INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (id, revision)
  );
  CREATE TABLE datasets (
    identity TEXT PRIMARY KEY,         -- hash over the sorted row hashes
    bytes INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    fingerprints_ref TEXT,             -- where this dataset's row fingerprints are kept
    created_at INTEGER NOT NULL
  );
  CREATE TABLE submissions (
    id INTEGER PRIMARY KEY,
    uid INTEGER NOT NULL,
    hotkey TEXT NOT NULL,
    commitment TEXT NOT NULL,          -- as read from chain
    block INTEGER NOT NULL,            -- commitment block
    competition_id TEXT,               -- null when the commitment does not parse
    repo_id TEXT,
    revision TEXT,
    dataset_identity TEXT REFERENCES datasets(identity),
    reason TEXT,                       -- why it scores 0 before any evaluation (null: none yet)
    first_seen_at INTEGER NOT NULL,
    UNIQUE (hotkey, block, commitment)
  );
  CREATE INDEX submissions_by_uid ON submissions (uid, hotkey, block);
  CREATE INDEX submissions_by_competition ON submissions (competition_id, block);
  CREATE TABLE evaluations (
    competition_id TEXT NOT NULL,      -- competitionKey(id, revision)
    dataset_identity TEXT NOT NULL,    -- or '@base'
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    priority_block INTEGER NOT NULL,   -- oldest commitment of this dataset: the queue order
    attempts INTEGER NOT NULL DEFAULT 0,
    losses BLOB,                       -- per-example losses, float64 little-endian
    eval_loss REAL,
    receipt TEXT,                      -- JSON
    reason TEXT,                       -- why it failed (the dataset scores 0)
    queued_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    PRIMARY KEY (competition_id, dataset_identity)
  );
  CREATE INDEX evaluations_queue ON evaluations (status, priority_block, dataset_identity);
  CREATE TABLE rounds (
    id INTEGER PRIMARY KEY,
    competition_id TEXT NOT NULL,      -- competitionKey(id, revision)
    block INTEGER NOT NULL,
    burned INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE weight_history (
    round_id INTEGER NOT NULL REFERENCES rounds(id),
    uid INTEGER NOT NULL,
    hotkey TEXT NOT NULL,
    weight REAL NOT NULL,              -- smoothed W
    score REAL NOT NULL,               -- this round's r
    win_rate REAL NOT NULL,
    eval_loss REAL,
    stage TEXT,
    reason TEXT,
    PRIMARY KEY (round_id, uid)
  );
  CREATE TABLE weight_transactions (
    id INTEGER PRIMARY KEY,
    netuid INTEGER NOT NULL,
    window_index INTEGER NOT NULL,     -- epoch / weight window
    kind TEXT NOT NULL CHECK (kind IN ('set', 'commit', 'reveal')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'included', 'failed')),
    round_id INTEGER REFERENCES rounds(id),
    uids TEXT NOT NULL,                -- JSON u16[]
    weights TEXT NOT NULL,             -- JSON u16[]
    salt TEXT,                         -- JSON u16[] (commit/reveal)
    version_key INTEGER,
    block INTEGER,
    tx_hash TEXT,
    error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX weight_tx_one_live_per_window
    ON weight_transactions (netuid, window_index, kind) WHERE status <> 'failed';
  `,
  // v1 → v2 (the validator loop): per-competition dataset checks, and the block at which a weight
  // transaction was claimed (so a restart can tell from the chain whether it landed).
  `
  CREATE TABLE dataset_checks (
    competition_id TEXT NOT NULL,      -- competitionKey(id, revision)
    dataset_identity TEXT NOT NULL,
    rows INTEGER NOT NULL,             -- rows considered (after maxRows)
    contaminated_rows INTEGER NOT NULL,-- rows matching evaluation examples
    PRIMARY KEY (competition_id, dataset_identity)
  );
  ALTER TABLE weight_transactions ADD COLUMN claim_block INTEGER;
  `,
  // v2 → v3: the compute identity (engine version, backend, kernels, device) of each finished
  // evaluation, so results of another identity are redone instead of mixed into a round.
  `
  ALTER TABLE evaluations ADD COLUMN compute TEXT;
  `,
  // v3 → v4: downloads the hub answered with content that does not match the commit, per file, so
  // the bounded retries of such a download (and the wait between them) survive a restart.
  `
  CREATE TABLE hub_integrity_failures (
    repo_id TEXT NOT NULL,
    revision TEXT NOT NULL,            -- the commit the file was asked at
    path TEXT NOT NULL,                -- the file in the repo
    attempts INTEGER NOT NULL,         -- downloads that failed the check so far
    last_failed_at INTEGER NOT NULL,   -- ms since epoch
    expected TEXT NOT NULL,            -- what the commit says the file is (hash or size)
    served TEXT NOT NULL,              -- what the hub sent instead (at the last attempt)
    PRIMARY KEY (repo_id, revision, path)
  );
  `,
  // v4 → v5: columns named for what they hold. `submissions.competition_id` is a competition id;
  // the tables below hold `competitionKey(id, revision)`, now called that.
  `
  ALTER TABLE evaluations RENAME COLUMN competition_id TO competition_key;
  ALTER TABLE rounds RENAME COLUMN competition_id TO competition_key;
  ALTER TABLE dataset_checks RENAME COLUMN competition_id TO competition_key;
  `,
  // v5 → v6: the key a competition revision's results are stored under. It is
  // competitionKey(id, revision) unless the competition runs sealed rounds, where every revision
  // scoring the same round shares one (sealedRoundKey); null in rows written before.
  `
  ALTER TABLE competitions ADD COLUMN evaluation_key TEXT;
  `,
];

/** Schema version this code writes. */
export const STORE_SCHEMA_VERSION = MIGRATIONS.length;

// ───────────────────────────── rows and records ─────────────────────────────

export interface CompetitionRow {
  id: string; revision: string; repo: string; definition: string; first_seen_block: number | null; created_at: number; evaluation_key: string | null;
}
export interface DatasetRow { identity: string; bytes: number; rows: number; fingerprints_ref: string | null; created_at: number }
export interface SubmissionRow {
  id: number; uid: number; hotkey: string; commitment: string; block: number; competition_id: string | null;
  repo_id: string | null; revision: string | null; dataset_identity: string | null; reason: string | null; first_seen_at: number;
}
export interface EvaluationRow {
  competition_key: string; dataset_identity: string; status: EvaluationStatus; priority_block: number; attempts: number;
  losses: Buffer | null; eval_loss: number | null; receipt: string | null; compute: string | null; reason: string | null;
  queued_at: number; started_at: number | null; finished_at: number | null;
}
export interface RoundRow { id: number; competition_key: string; block: number; burned: number; created_at: number }
export interface HubIntegrityFailureRow {
  repo_id: string; revision: string; path: string; attempts: number; last_failed_at: number; expected: string; served: string;
}
export interface HistoryRow {
  round_id: number; uid: number; hotkey: string; weight: number; score: number; win_rate: number;
  eval_loss: number | null; stage: string | null; reason: string | null;
}
export interface WeightTxRow {
  id: number; netuid: number; window_index: number; kind: WeightTxKind; status: WeightTxStatus; round_id: number | null;
  uids: string; weights: string; salt: string | null; version_key: number | null; block: number | null;
  tx_hash: string | null; error: string | null; created_at: number; updated_at: number;
}

export function competitionFromRow(r: CompetitionRow): CompetitionRecord {
  return {
    id: r.id, revision: r.revision, repo: r.repo, definition: JSON.parse(r.definition), firstSeenBlock: r.first_seen_block, createdAt: r.created_at,
    key: r.evaluation_key ?? competitionKey(r.id, r.revision),
  };
}

export function submissionFromRow(r: SubmissionRow): SubmissionRecord {
  return {
    id: r.id, uid: r.uid, hotkey: r.hotkey, commitment: r.commitment, block: r.block, competitionId: r.competition_id,
    repoId: r.repo_id, revision: r.revision, datasetIdentity: r.dataset_identity, reason: r.reason, firstSeenAt: r.first_seen_at,
  };
}

export function evaluationFromRow(r: EvaluationRow): EvaluationRecord {
  return {
    competitionKey: r.competition_key, datasetIdentity: r.dataset_identity, status: r.status, priorityBlock: r.priority_block,
    attempts: r.attempts, losses: r.losses ? decodeLosses(r.losses) : null, evalLoss: r.eval_loss,
    receipt: r.receipt === null ? null : JSON.parse(r.receipt), compute: r.compute, reason: r.reason,
    queuedAt: r.queued_at, startedAt: r.started_at, finishedAt: r.finished_at,
  };
}

export function weightTxFromRow(r: WeightTxRow): WeightTransactionRecord {
  return {
    id: r.id, netuid: r.netuid, window: r.window_index, kind: r.kind, status: r.status, roundId: r.round_id,
    uids: JSON.parse(r.uids) as number[], weights: JSON.parse(r.weights) as number[],
    salt: r.salt === null ? null : (JSON.parse(r.salt) as number[]), versionKey: r.version_key,
    block: r.block, txHash: r.tx_hash, error: r.error, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

/** Per-example losses as float64 little-endian bytes (exact for f32 and f64 inputs). */
export function encodeLosses(losses: ArrayLike<number>): Buffer {
  const buf = Buffer.alloc(losses.length * 8);
  for (let i = 0; i < losses.length; i++) buf.writeDoubleLE(losses[i]!, i * 8);
  return buf;
}

export function decodeLosses(buf: Buffer): Float64Array {
  if (buf.length % 8 !== 0) throw new FlockError(`corrupt losses blob in the validator state (${buf.length} bytes is not a multiple of 8)`);
  const out = new Float64Array(buf.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = buf.readDoubleLE(i * 8);
  return out;
}
