/**
 * The validator's state: one SQLite file (better-sqlite3, WAL) holding competitions, submissions,
 * datasets, evaluations (with per-example losses), smoothed-weight history and weight
 * transactions. It is what lets a validator run for weeks through restarts:
 *
 * - an evaluation is written in one transaction (status, losses, receipt together);
 * - on open, an evaluation left `running` by a crash goes back to the queue (it is redone);
 * - at most one live weight transaction per (netuid, window, kind) — enforced by a unique index,
 *   so weights are never set twice in a window even across restarts;
 * - WAL lets `flock validator status` read while the loop writes.
 *
 * All of the validator's SQL is here; the schema, its migrations and the row ↔ record mapping are
 * in store-schema.ts. Tables that hold per-competition results (evaluations, rounds, dataset
 * checks) are keyed by `competitionKey(id, revision)` in a `competition_key` column; submissions
 * carry the raw competition id of their commitment (`competition_id`).
 */
import Database from 'better-sqlite3';
import { statementCache } from '../util/sqlite.js';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { FlockError } from '../util/errors.js';
import type { SmoothedWeight, UidScore } from '../protocol/scoring.js';
export { competitionKey } from '../evaluation/competition.js';
import {
  MIGRATIONS, STORE_SCHEMA_VERSION, competitionFromRow, encodeLosses, evaluationFromRow, submissionFromRow, weightTxFromRow,
  type CompetitionRow, type DatasetRow, type EvaluationRow, type HistoryRow, type HubIntegrityFailureRow, type RoundRow, type SubmissionRow,
  type WeightTxRow,
} from './store-schema.js';

export { STORE_SCHEMA_VERSION, decodeLosses, encodeLosses } from './store-schema.js';


/** Dataset identity used for the base model's own evaluation (no training). */
export const BASE_EVALUATION = '@base';

export type EvaluationStatus = 'queued' | 'running' | 'done' | 'failed';
export type WeightTxKind = 'set' | 'commit' | 'reveal';
export type WeightTxStatus = 'pending' | 'included' | 'failed';



export interface CompetitionRecord {
  id: string;
  revision: string;
  repo: string;
  definition: unknown;
  firstSeenBlock: number | null;
  createdAt: number;
  /** The key its evaluations, checks and rounds are stored under (`LoadedCompetition.key`). */
  key: string;
}

export interface SubmissionRecord {
  id: number;
  uid: number;
  hotkey: string;
  commitment: string;
  block: number;
  competitionId: string | null;
  repoId: string | null;
  revision: string | null;
  datasetIdentity: string | null;
  reason: string | null;
  firstSeenAt: number;
}

export interface NewSubmission {
  uid: number;
  hotkey: string;
  commitment: string;
  block: number;
  competitionId?: string | null;
  repoId?: string | null;
  revision?: string | null;
  reason?: string | null;
}

export interface DatasetRecord {
  identity: string;
  bytes: number;
  rows: number;
  fingerprintsRef: string | null;
  createdAt: number;
}

export interface EvaluationRecord {
  /** `competitionKey(id, revision)`. */
  competitionKey: string;
  datasetIdentity: string;
  status: EvaluationStatus;
  priorityBlock: number;
  attempts: number;
  losses: Float64Array | null;
  evalLoss: number | null;
  receipt: unknown;
  /** The compute identity key (src/engine/run.ts) a done evaluation was computed with. */
  compute: string | null;
  reason: string | null;
  queuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface CompletedEvaluation {
  /** `competitionKey(id, revision)`. */
  competitionKey: string;
  datasetIdentity: string;
  losses: ArrayLike<number>;
  evalLoss: number;
  /** Hashes of dataset, base model, recipe, eval set; engine version, backend, kernels, device. */
  receipt: unknown;
  /** The compute identity key the losses were computed with. */
  compute: string;
}

export interface RoundRecord {
  id: number;
  /** `competitionKey(id, revision)`. */
  competitionKey: string;
  block: number;
  burned: boolean;
  createdAt: number;
  perUid: UidScore[];
}

/** A file whose download the hub answered with content that does not match the commit. */
export interface HubIntegrityFailure {
  repoId: string;
  revision: string;
  path: string;
  /** Downloads that failed the check so far. */
  attempts: number;
  /** When the last one failed (ms since epoch). */
  lastFailedAt: number;
  /** What the commit says the file is, and what the hub sent instead (last attempt). */
  expected: string;
  served: string;
}

/** One row of `flock validator status`: the latest round's view of a uid. */
export interface LeaderboardRow extends UidScore {
  commitment: string | null;
  block: number | null;
}

export interface WeightTransactionRecord {
  id: number;
  netuid: number;
  window: number;
  kind: WeightTxKind;
  status: WeightTxStatus;
  roundId: number | null;
  uids: number[];
  weights: number[];
  salt: number[] | null;
  versionKey: number | null;
  block: number | null;
  txHash: string | null;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface NewWeightTransaction {
  netuid: number;
  window: number;
  kind?: WeightTxKind;
  roundId?: number | null;
  uids: readonly number[];
  weights: readonly number[];
  salt?: readonly number[] | null;
  versionKey?: number | null;
}

export interface OpenStoreOptions {
  /** Open for reading only (the status command): no migration, no requeue. */
  readonly?: boolean;
  /** Clock for timestamps (ms since epoch); tests pin it. */
  now?: () => number;
}

/**
 * Open (creating if needed) the validator's state file, migrate it to the current schema and put
 * any evaluation interrupted by a crash back in the queue.
 *
 * @example
 * const store = openStore(join(stateDir, 'validator.sqlite'));
 * const next = store.claimNextEvaluation('1');
 */
export function openStore(file: string, options: OpenStoreOptions = {}): ValidatorStore {
  return new ValidatorStore(file, options);
}

export class ValidatorStore {
  private readonly db: Database.Database;
  /** Evaluations found `running` at open and put back in the queue. */
  readonly requeuedOnOpen: number;
  private readonly now: () => number;
  /** Prepared statements by SQL text. */
  private readonly statement: (sql: string) => Database.Statement;

  constructor(readonly file: string, options: OpenStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    if (!options.readonly && file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    try {
      this.db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    } catch (err) {
      throw new FlockError(`cannot open the validator state file ${file}: ${(err as Error).message}`, {
        cause: err,
        hint: options.readonly ? 'run `flock validator run` first, or pass the right --state-dir' : 'check that the state directory is writable',
      });
    }
    this.statement = statementCache(this.db);
    this.db.pragma('busy_timeout = 5000');
    if (options.readonly) {
      this.checkVersion();
      this.requeuedOnOpen = 0;
      return;
    }
    this.db.pragma('journal_mode = WAL');
    // NORMAL is durable at each checkpoint and never corrupts in WAL mode; a power cut may lose the
    // last transactions, which the loop then redoes.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
    this.requeuedOnOpen = this.requeueInterrupted();
  }

  /** Schema version of the open file. */
  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private checkVersion(): number {
    const v = this.schemaVersion();
    if (v > STORE_SCHEMA_VERSION) {
      throw new FlockError(`the state file ${this.file} has schema version ${v}, newer than this flock (${STORE_SCHEMA_VERSION})`, {
        hint: 'upgrade flock, or point --state-dir at a fresh folder',
      });
    }
    return v;
  }

  private migrate(): void {
    const from = this.checkVersion();
    for (let v = from; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      }).immediate();
    }
  }

  // ───────────────────────────── competitions ─────────────────────────────

  /** Cache a competition definition by (id, revision); an existing entry is kept as is. */
  saveCompetition(c: { id: string; revision: string; repo: string; definition: unknown; firstSeenBlock?: number | null; key?: string }): void {
    this.statement(
        `INSERT INTO competitions (id, revision, repo, definition, first_seen_block, created_at, evaluation_key)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id, revision) DO UPDATE SET evaluation_key = COALESCE(evaluation_key, excluded.evaluation_key)`,
      )
      .run(c.id, c.revision, c.repo, JSON.stringify(c.definition), c.firstSeenBlock ?? null, this.now(), c.key ?? null);
  }

  getCompetition(id: string, revision: string): CompetitionRecord | undefined {
    const row = this.statement(`SELECT * FROM competitions WHERE id = ? AND revision = ?`).get(id, revision) as CompetitionRow | undefined;
    return row && competitionFromRow(row);
  }

  /** The most recently cached competition (the one the validator last followed). */
  latestCompetition(): CompetitionRecord | undefined {
    const row = this.statement(`SELECT * FROM competitions ORDER BY created_at DESC, rowid DESC LIMIT 1`).get() as CompetitionRow | undefined;
    return row && competitionFromRow(row);
  }

  // ───────────────────────────── datasets ─────────────────────────────

  /** Record a downloaded, validated dataset (idempotent by identity). */
  recordDataset(d: { identity: string; bytes: number; rows: number; fingerprintsRef?: string | null }): void {
    this.statement(
        `INSERT INTO datasets (identity, bytes, rows, fingerprints_ref, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (identity) DO UPDATE SET fingerprints_ref = COALESCE(excluded.fingerprints_ref, fingerprints_ref)`,
      )
      .run(d.identity, d.bytes, d.rows, d.fingerprintsRef ?? null, this.now());
  }

  getDataset(identity: string): DatasetRecord | undefined {
    const row = this.statement(`SELECT * FROM datasets WHERE identity = ?`).get(identity) as DatasetRow | undefined;
    return row && { identity: row.identity, bytes: row.bytes, rows: row.rows, fingerprintsRef: row.fingerprints_ref, createdAt: row.created_at };
  }

  // ───────────────────────────── submissions ─────────────────────────────

  /**
   * Record a commitment seen on chain. The same (hotkey, block, commitment) is recorded once;
   * returns the row and whether it is new.
   */
  recordSubmission(s: NewSubmission): { submission: SubmissionRecord; isNew: boolean } {
    const info = this.statement(
        `INSERT INTO submissions (uid, hotkey, commitment, block, competition_id, repo_id, revision, reason, first_seen_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hotkey, block, commitment) DO NOTHING`,
      )
      .run(s.uid, s.hotkey, s.commitment, s.block, s.competitionId ?? null, s.repoId ?? null, s.revision ?? null, s.reason ?? null, this.now());
    const row = this.statement(`SELECT * FROM submissions WHERE hotkey = ? AND block = ? AND commitment = ?`)
      .get(s.hotkey, s.block, s.commitment) as SubmissionRow;
    return { submission: submissionFromRow(row), isNew: info.changes > 0 };
  }

  /** Link a submission to the dataset its revision holds. */
  setSubmissionDataset(submissionId: number, datasetIdentity: string): void {
    this.statement(`UPDATE submissions SET dataset_identity = ? WHERE id = ?`).run(datasetIdentity, submissionId);
  }

  /** Record why a submission scores 0 before evaluation (bad commitment, invalid data, copy…). */
  setSubmissionReason(submissionId: number, reason: string | null): void {
    this.statement(`UPDATE submissions SET reason = ? WHERE id = ?`).run(reason, submissionId);
  }

  /** The latest submission of each (uid, hotkey) pair. */
  latestSubmissions(): SubmissionRecord[] {
    const rows = this.statement(
        `SELECT s.* FROM submissions s
         WHERE s.block = (SELECT MAX(block) FROM submissions t WHERE t.uid = s.uid AND t.hotkey = s.hotkey)
         ORDER BY s.uid, s.hotkey, s.id`,
      )
      .all() as SubmissionRow[];
    // two commitments in one block by the same hotkey: keep the last one seen
    const byKey = new Map<string, SubmissionRecord>();
    for (const r of rows) byKey.set(`${r.uid}\u0000${r.hotkey}`, submissionFromRow(r));
    return [...byKey.values()];
  }

  /** Every submission to a competition, oldest first: the copy index covers all of them. */
  competitionSubmissions(competitionId: string): SubmissionRecord[] {
    const rows = this.statement(`SELECT * FROM submissions WHERE competition_id = ? ORDER BY block, uid, id`)
      .all(competitionId) as SubmissionRow[];
    return rows.map(submissionFromRow);
  }

  // ───────────────────────────── evaluations ─────────────────────────────

  /**
   * Queue a dataset for evaluation unless it is already queued, running, done or failed (the same
   * data is never trained twice). A queued entry moves up when an older commitment of the same
   * data appears. Returns the entry's status.
   */
  enqueueEvaluation(competitionKey: string, datasetIdentity: string, priorityBlock: number): EvaluationStatus {
    this.statement(
        `INSERT INTO evaluations (competition_key, dataset_identity, status, priority_block, queued_at)
         VALUES (?, ?, 'queued', ?, ?)
         ON CONFLICT (competition_key, dataset_identity) DO UPDATE
           SET priority_block = MIN(priority_block, excluded.priority_block) WHERE status = 'queued'`,
      )
      .run(competitionKey, datasetIdentity, priorityBlock, this.now());
    return this.getEvaluation(competitionKey, datasetIdentity)!.status;
  }

  /** The dataset the next `claimNextEvaluation` would take (nothing is claimed). */
  peekNextEvaluation(competitionKey: string): string | undefined {
    const row = this.statement(
      `SELECT dataset_identity FROM evaluations WHERE competition_key = ? AND status = 'queued'
       ORDER BY priority_block, dataset_identity LIMIT 1`,
    ).get(competitionKey) as { dataset_identity: string } | undefined;
    return row?.dataset_identity;
  }

  /**
   * Take the next queued evaluation (oldest commitment first) and mark it running, atomically.
   * Undefined when the queue is empty.
   */
  claimNextEvaluation(competitionKey: string): EvaluationRecord | undefined {
    const claim = this.db.transaction(() => {
      const row = this.statement(
          `SELECT dataset_identity FROM evaluations WHERE competition_key = ? AND status = 'queued'
           ORDER BY priority_block, dataset_identity LIMIT 1`,
        )
        .get(competitionKey) as { dataset_identity: string } | undefined;
      if (!row) return undefined;
      this.statement(
          `UPDATE evaluations SET status = 'running', attempts = attempts + 1, started_at = ?
           WHERE competition_key = ? AND dataset_identity = ?`,
        )
        .run(this.now(), competitionKey, row.dataset_identity);
      return this.getEvaluation(competitionKey, row.dataset_identity);
    });
    return claim.immediate();
  }

  /**
   * Store a finished evaluation — status, per-example losses, mean and receipt — in one
   * transaction. Creates the entry if it was never queued (e.g. the base model's evaluation).
   */
  completeEvaluation(e: CompletedEvaluation): void {
    const blob = encodeLosses(e.losses);
    const now = this.now();
    this.db.transaction(() => {
      this.statement(
          `INSERT INTO evaluations (competition_key, dataset_identity, status, priority_block, attempts, losses, eval_loss, receipt, compute, reason, queued_at, started_at, finished_at)
           VALUES (?, ?, 'done', 0, 1, ?, ?, ?, ?, NULL, ?, ?, ?)
           ON CONFLICT (competition_key, dataset_identity) DO UPDATE SET
             status = 'done', losses = excluded.losses, eval_loss = excluded.eval_loss, receipt = excluded.receipt,
             compute = excluded.compute, reason = NULL, finished_at = excluded.finished_at, attempts = MAX(attempts, 1)`,
        )
        .run(e.competitionKey, e.datasetIdentity, blob, e.evalLoss, JSON.stringify(e.receipt ?? null), e.compute, now, now, now);
    }).immediate();
  }

  /**
   * Put every done evaluation of a competition computed with another compute identity (another
   * engine version, backend, kernel variant or device, or none recorded) back in the queue, its
   * results dropped: losses of different identities are never compared in one round. Returns how
   * many were re-queued.
   */
  requeueOtherCompute(competitionKey: string, compute: string): number {
    return this.statement(
      `UPDATE evaluations SET status = 'queued', losses = NULL, eval_loss = NULL, receipt = NULL, compute = NULL,
         reason = NULL, attempts = 0, started_at = NULL, finished_at = NULL
       WHERE competition_key = ? AND status = 'done' AND (compute IS NULL OR compute <> ?)`,
    ).run(competitionKey, compute).changes;
  }

  /**
   * Record a failed evaluation. With `retry` and fewer than `maxAttempts` attempts so far it goes
   * back to the queue (a transient fault); otherwise it is failed for good with `reason` (the
   * dataset scores 0 with that reason). Returns the new status.
   */
  failEvaluation(
    competitionKey: string,
    datasetIdentity: string,
    reason: string,
    options: { retry?: boolean; maxAttempts?: number } = {},
  ): EvaluationStatus {
    const max = options.maxAttempts ?? 3;
    return this.db.transaction(() => {
      const current = this.getEvaluation(competitionKey, datasetIdentity);
      const attempts = current?.attempts ?? 0;
      const status: EvaluationStatus = options.retry && attempts < max ? 'queued' : 'failed';
      this.statement(
          `INSERT INTO evaluations (competition_key, dataset_identity, status, priority_block, attempts, reason, queued_at, finished_at)
           VALUES (?, ?, ?, 0, 1, ?, ?, ?)
           ON CONFLICT (competition_key, dataset_identity) DO UPDATE SET
             status = excluded.status, reason = excluded.reason, finished_at = excluded.finished_at`,
        )
        .run(competitionKey, datasetIdentity, status, reason, this.now(), status === 'failed' ? this.now() : null);
      return status;
    }).immediate();
  }

  /** Put every `running` evaluation back in the queue (run on open: a crash interrupted them). */
  requeueInterrupted(): number {
    return this.statement(`UPDATE evaluations SET status = 'queued', started_at = NULL WHERE status = 'running'`).run().changes;
  }

  /**
   * Put one `running` evaluation back in the queue without counting its attempt (the fault was
   * nobody's data's: an unreachable queue, a hub outage). Returns false when it was not running.
   */
  releaseEvaluation(competitionKey: string, datasetIdentity: string): boolean {
    return this.statement(
      `UPDATE evaluations SET status = 'queued', started_at = NULL, attempts = MAX(attempts - 1, 0)
       WHERE competition_key = ? AND dataset_identity = ? AND status = 'running'`,
    ).run(competitionKey, datasetIdentity).changes > 0;
  }

  getEvaluation(competitionKey: string, datasetIdentity: string): EvaluationRecord | undefined {
    const row = this.statement(`SELECT * FROM evaluations WHERE competition_key = ? AND dataset_identity = ?`)
      .get(competitionKey, datasetIdentity) as EvaluationRow | undefined;
    return row && evaluationFromRow(row);
  }

  /** Every evaluation of a competition, optionally of one status, in queue order. */
  listEvaluations(competitionKey: string, status?: EvaluationStatus): EvaluationRecord[] {
    const rows = (
      status
        ? this.statement(`SELECT * FROM evaluations WHERE competition_key = ? AND status = ? ORDER BY priority_block, dataset_identity`).all(competitionKey, status)
        : this.statement(`SELECT * FROM evaluations WHERE competition_key = ? ORDER BY priority_block, dataset_identity`).all(competitionKey)
    ) as EvaluationRow[];
    return rows.map(evaluationFromRow);
  }

  /** Number of queued evaluations (a metric). */
  queueLength(competitionKey: string): number {
    return (this.statement(`SELECT COUNT(*) AS n FROM evaluations WHERE competition_key = ? AND status = 'queued'`).get(competitionKey) as { n: number }).n;
  }

  // ───────────────────────────── weights ─────────────────────────────

  /** Store one scoring round (smoothed W, r, win rate and reason per uid) in one transaction. */
  recordRound(r: { competitionKey: string; block: number; burned: boolean; perUid: readonly UidScore[] }): number {
    return this.db.transaction(() => {
      const id = Number(
        this.statement(`INSERT INTO rounds (competition_key, block, burned, created_at) VALUES (?, ?, ?, ?)`)
          .run(r.competitionKey, r.block, r.burned ? 1 : 0, this.now()).lastInsertRowid,
      );
      const ins = this.statement(
        `INSERT INTO weight_history (round_id, uid, hotkey, weight, score, win_rate, eval_loss, stage, reason)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const u of r.perUid) {
        ins.run(id, u.uid, u.hotkey, u.weight, u.score, u.winRate, u.evalLoss ?? null, u.stage ?? null, u.reason ?? null);
      }
      return id;
    }).immediate();
  }

  /** The latest round, with its per-uid rows; undefined before the first round. */
  latestRound(): RoundRecord | undefined {
    const round = this.statement(`SELECT * FROM rounds ORDER BY id DESC LIMIT 1`).get() as RoundRow | undefined;
    return round && this.roundWithRows(round);
  }

  /** Past rounds, newest first. */
  rounds(limit = 20): RoundRecord[] {
    const rows = this.statement(`SELECT * FROM rounds ORDER BY id DESC LIMIT ?`).all(limit) as RoundRow[];
    return rows.map((r) => this.roundWithRows(r));
  }

  /** W of the latest round (non-zero entries): the `previous` input of the next round. */
  latestSmoothedWeights(): SmoothedWeight[] {
    const round = this.latestRound();
    if (!round) return [];
    return round.perUid.filter((u) => u.weight > 0).map((u) => ({ uid: u.uid, hotkey: u.hotkey, weight: u.weight }));
  }

  /**
   * The leaderboard as this validator last scored it: every uid of the latest round with its
   * latest commitment, eval loss, win rate, weight and reason, highest weight first. Readable
   * without the chain (the status command opens the store read-only).
   */
  leaderboard(): LeaderboardRow[] {
    const round = this.latestRound();
    if (!round) return [];
    const latest = new Map(this.latestSubmissions().map((s) => [`${s.uid}\u0000${s.hotkey}`, s]));
    return round.perUid
      .map((u) => {
        const s = latest.get(`${u.uid}\u0000${u.hotkey}`);
        return { ...u, commitment: s?.commitment ?? null, block: s?.block ?? null };
      })
      .sort((a, b) => b.weight - a.weight || a.uid - b.uid);
  }

  private roundWithRows(r: RoundRow): RoundRecord {
    const rows = this.statement(`SELECT * FROM weight_history WHERE round_id = ? ORDER BY uid`).all(r.id) as HistoryRow[];
    return {
      id: r.id,
      competitionKey: r.competition_key,
      block: r.block,
      burned: r.burned === 1,
      createdAt: r.created_at,
      perUid: rows.map((h) => {
        const u: UidScore = { uid: h.uid, hotkey: h.hotkey, weight: h.weight, score: h.score, winRate: h.win_rate };
        if (h.eval_loss !== null) u.evalLoss = h.eval_loss;
        if (h.stage !== null) u.stage = h.stage as UidScore['stage'];
        if (h.reason !== null) u.reason = h.reason;
        return u;
      }),
    };
  }

  /**
   * Claim a weight window before sending the transaction: records it `pending` unless a pending or
   * included transaction of the same kind already exists for (netuid, window) — then returns that
   * one and `claimed: false`. A crash after the claim leaves it pending, so a restarted validator
   * does not set weights again in that window until the caller resolves it (`markWeightTransaction`).
   */
  claimWeightWindow(tx: NewWeightTransaction): { claimed: true; transaction: WeightTransactionRecord } | { claimed: false; transaction: WeightTransactionRecord } {
    const kind = tx.kind ?? 'set';
    return this.db.transaction(() => {
      const existing = this.liveWeightTransaction(tx.netuid, tx.window, kind);
      if (existing) return { claimed: false as const, transaction: existing };
      const now = this.now();
      const id = Number(
        this.statement(
            `INSERT INTO weight_transactions (netuid, window_index, kind, status, round_id, uids, weights, salt, version_key, created_at, updated_at)
             VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(tx.netuid, tx.window, kind, tx.roundId ?? null, JSON.stringify(tx.uids), JSON.stringify(tx.weights), tx.salt ? JSON.stringify(tx.salt) : null, tx.versionKey ?? null, now, now)
          .lastInsertRowid,
      );
      return { claimed: true as const, transaction: this.weightTransaction(id)! };
    }).immediate();
  }

  /** Record the outcome of a weight transaction (block and hash once included; error when failed). */
  markWeightTransaction(id: number, update: { status: WeightTxStatus; block?: number | null; txHash?: string | null; error?: string | null }): void {
    this.statement(
        `UPDATE weight_transactions SET status = ?, block = COALESCE(?, block), tx_hash = COALESCE(?, tx_hash), error = ?, updated_at = ? WHERE id = ?`,
      )
      .run(update.status, update.block ?? null, update.txHash ?? null, update.error ?? null, this.now(), id);
  }

  /** Keep what a commit's reveal needs: the values actually committed and the salt. */
  setCommittedWeights(id: number, committed: { uids: readonly number[]; weights: readonly number[]; salt: readonly number[] }): void {
    this.statement(`UPDATE weight_transactions SET uids = ?, weights = ?, salt = ?, updated_at = ? WHERE id = ?`)
      .run(JSON.stringify(committed.uids), JSON.stringify(committed.weights), JSON.stringify(committed.salt), this.now(), id);
  }

  /** Forget a commit's salt: its reveal is given up (it expired), so it is never tried again. */
  abandonReveal(id: number): void {
    this.statement(`UPDATE weight_transactions SET salt = NULL, updated_at = ? WHERE id = ?`).run(this.now(), id);
  }

  /** Tie a weight transaction to the round whose weights it carries. */
  linkWeightTransactionToRound(id: number, roundId: number): void {
    this.statement(`UPDATE weight_transactions SET round_id = ?, updated_at = ? WHERE id = ?`).run(roundId, this.now(), id);
  }

  /** True when a pending or included transaction of this kind exists for (netuid, window). */
  weightsSetInWindow(netuid: number, window: number, kind: WeightTxKind = 'set'): boolean {
    return this.liveWeightTransaction(netuid, window, kind) !== undefined;
  }

  weightTransaction(id: number): WeightTransactionRecord | undefined {
    const row = this.statement(`SELECT * FROM weight_transactions WHERE id = ?`).get(id) as WeightTxRow | undefined;
    return row && weightTxFromRow(row);
  }

  /** Transactions still pending (sent, outcome unknown — e.g. after a crash), oldest first. */
  pendingWeightTransactions(): WeightTransactionRecord[] {
    const rows = this.statement(`SELECT * FROM weight_transactions WHERE status = 'pending' ORDER BY id`).all() as WeightTxRow[];
    return rows.map(weightTxFromRow);
  }

  /** Block of the last included weight transaction (a metric), or null. */
  lastWeightBlock(netuid: number): number | null {
    const row = this.statement(`SELECT MAX(block) AS b FROM weight_transactions WHERE netuid = ? AND status = 'included'`)
      .get(netuid) as { b: number | null };
    return row.b;
  }

  /** Remember the chain block at which a claimed weight transaction was about to be sent. */
  setWeightTransactionClaimBlock(id: number, block: number): void {
    this.statement(`UPDATE weight_transactions SET claim_block = ?, updated_at = ? WHERE id = ?`).run(block, this.now(), id);
  }

  /** The chain block recorded by `setWeightTransactionClaimBlock`, or null. */
  weightTransactionClaimBlock(id: number): number | null {
    const row = this.statement(`SELECT claim_block AS b FROM weight_transactions WHERE id = ?`).get(id) as { b: number | null } | undefined;
    return row?.b ?? null;
  }

  /** Every weight transaction, newest first (status and tests). */
  weightTransactions(limit = 50): WeightTransactionRecord[] {
    const rows = this.statement(`SELECT * FROM weight_transactions ORDER BY id DESC LIMIT ?`).all(limit) as WeightTxRow[];
    return rows.map(weightTxFromRow);
  }

  // ───────────────────────────── dataset checks ─────────────────────────────

  /** Record a dataset's contamination count for a competition (`competitionKey`); idempotent. */
  recordDatasetCheck(c: { competitionKey: string; datasetIdentity: string; rows: number; contaminatedRows: number }): void {
    this.statement(
        `INSERT INTO dataset_checks (competition_key, dataset_identity, rows, contaminated_rows) VALUES (?, ?, ?, ?)
         ON CONFLICT (competition_key, dataset_identity) DO UPDATE SET rows = excluded.rows, contaminated_rows = excluded.contaminated_rows`,
      )
      .run(c.competitionKey, c.datasetIdentity, c.rows, c.contaminatedRows);
  }

  /** The dataset checks of a competition (`competitionKey`), by dataset identity. */
  datasetChecks(competitionKey: string): Map<string, { rows: number; contaminatedRows: number }> {
    const rows = this.statement(`SELECT dataset_identity, rows, contaminated_rows FROM dataset_checks WHERE competition_key = ?`)
      .all(competitionKey) as { dataset_identity: string; rows: number; contaminated_rows: number }[];
    return new Map(rows.map((r) => [r.dataset_identity, { rows: r.rows, contaminatedRows: r.contaminated_rows }]));
  }

  /** One dataset's check under a competition, if recorded. */
  datasetCheck(competitionKey: string, datasetIdentity: string): { rows: number; contaminatedRows: number } | undefined {
    const r = this.statement(`SELECT rows, contaminated_rows FROM dataset_checks WHERE competition_key = ? AND dataset_identity = ?`)
      .get(competitionKey, datasetIdentity) as { rows: number; contaminated_rows: number } | undefined;
    return r && { rows: r.rows, contaminatedRows: r.contaminated_rows };
  }

  /** Evaluation counts of a competition by status (metrics and status). */
  evaluationCounts(competitionKey: string): Record<EvaluationStatus, number> {
    const out: Record<EvaluationStatus, number> = { queued: 0, running: 0, done: 0, failed: 0 };
    const rows = this.statement(`SELECT status, COUNT(*) AS n FROM evaluations WHERE competition_key = ? GROUP BY status`).all(competitionKey) as { status: EvaluationStatus; n: number }[];
    for (const r of rows) out[r.status] = r.n;
    return out;
  }

  // ───────────────────────────── hub integrity failures ─────────────────────────────

  /**
   * Count one more download of `path` at `repoId@revision` that the hub answered with content not
   * matching the commit; returns the file's record with the new count.
   */
  recordHubIntegrityFailure(f: { repoId: string; revision: string; path: string; expected: string; served: string }): HubIntegrityFailure {
    this.statement(
        `INSERT INTO hub_integrity_failures (repo_id, revision, path, attempts, last_failed_at, expected, served) VALUES (?, ?, ?, 1, ?, ?, ?)
         ON CONFLICT (repo_id, revision, path) DO UPDATE SET
           attempts = attempts + 1, last_failed_at = excluded.last_failed_at, expected = excluded.expected, served = excluded.served`,
      )
      .run(f.repoId, f.revision, f.path, this.now(), f.expected, f.served);
    return this.hubIntegrityFailure(f.repoId, f.revision, f.path)!;
  }

  /** The integrity failures recorded for a file, if any. */
  hubIntegrityFailure(repoId: string, revision: string, path: string): HubIntegrityFailure | undefined {
    const r = this.statement(`SELECT * FROM hub_integrity_failures WHERE repo_id = ? AND revision = ? AND path = ?`)
      .get(repoId, revision, path) as HubIntegrityFailureRow | undefined;
    return r && {
      repoId: r.repo_id, revision: r.revision, path: r.path, attempts: r.attempts, lastFailedAt: r.last_failed_at, expected: r.expected, served: r.served,
    };
  }

  /** Forget a file's integrity failures (a later download matched the commit). */
  clearHubIntegrityFailure(repoId: string, revision: string, path: string): void {
    this.statement(`DELETE FROM hub_integrity_failures WHERE repo_id = ? AND revision = ? AND path = ?`).run(repoId, revision, path);
  }

  /**
   * Put a failed evaluation back in the queue: it failed because its dataset could not be read
   * while the hub served content not matching the commit, and now it can. Returns whether it did.
   */
  requeueEvaluationAfterHubIntegrity(competitionKey: string, datasetIdentity: string): boolean {
    return this.statement(
      `UPDATE evaluations SET status = 'queued', reason = NULL, started_at = NULL, finished_at = NULL
       WHERE competition_key = ? AND dataset_identity = ? AND status = 'failed'`,
    ).run(competitionKey, datasetIdentity).changes > 0;
  }

  private liveWeightTransaction(netuid: number, window: number, kind: WeightTxKind): WeightTransactionRecord | undefined {
    const row = this.statement(`SELECT * FROM weight_transactions WHERE netuid = ? AND window_index = ? AND kind = ? AND status <> 'failed'`)
      .get(netuid, window, kind) as WeightTxRow | undefined;
    return row && weightTxFromRow(row);
  }
}
