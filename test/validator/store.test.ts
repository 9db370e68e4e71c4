import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SCORING_CONSTANTS, scoreRound, type SubmissionInput } from '../../src/protocol/scoring.js';
import { FlockError } from '../../src/util/errors.js';
import { BASE_EVALUATION, STORE_SCHEMA_VERSION, competitionKey, openStore, type ValidatorStore } from '../../src/validator/store.js';
import { MIGRATIONS } from '../../src/validator/store-schema.js';
import { openRaw, runSql } from '../helpers/sqlite.js';

const STORE_URL = pathToFileURL(resolve('src/validator/store.ts')).href;
const open: ValidatorStore[] = [];
const children: ChildProcess[] = [];

afterEach(() => {
  for (const s of open.splice(0)) s.close();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function tempFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'flock-store-')), 'state', 'validator.sqlite');
}

function openAt(file: string, readonly = false): ValidatorStore {
  const s = openStore(file, { readonly });
  open.push(s);
  return s;
}

/** Run a TypeScript snippet in a child node process with `store` = the store module. */
function child(file: string, body: string): { proc: ChildProcess; line: (re: RegExp) => Promise<string>; exit: Promise<number | null> } {
  const script = join(mkdtempSync(join(tmpdir(), 'flock-store-child-')), 'child.ts');
  writeFileSync(script, `import * as store from ${JSON.stringify(STORE_URL)};\nconst file = ${JSON.stringify(file)};\n${body}\n`);
  const proc = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  proc.stdout!.on('data', (d) => {
    out += String(d);
    waiters.splice(0).forEach((w) => w());
  });
  proc.stderr!.on('data', (d) => (err += String(d)));
  const exit = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  const line = (re: RegExp) =>
    new Promise<string>((res, rej) => {
      const check = () => {
        const m = out.split('\n').find((l) => re.test(l));
        if (m !== undefined) return res(m);
        if (proc.exitCode !== null) return rej(new Error(`child exited ${proc.exitCode} before printing ${re}: ${err}`));
        waiters.push(check);
      };
      proc.on('exit', check);
      check();
    });
  return { proc, line, exit };
}

describe('validator store', () => {
  it('creates a WAL database at the current schema version, and refuses a newer one', () => {
    const file = tempFile();
    const s = openAt(file);
    expect(s.schemaVersion()).toBe(STORE_SCHEMA_VERSION);
    const raw = openRaw(file);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.pragma(`user_version = ${STORE_SCHEMA_VERSION + 1}`);
    raw.close();
    s.close();
    expect(() => openStore(file)).toThrow(FlockError);
    expect(() => openStore(file)).toThrow(/newer than this flock/);
  });

  it('keeps every kind of state across a restart', () => {
    const file = tempFile();
    const a = openAt(file);
    a.saveCompetition({ id: '1', revision: 'r'.repeat(40), repo: 'flock/competition-1', definition: { protocol: 1, id: '1' }, firstSeenBlock: 10 });
    a.saveCompetition({ id: '2', revision: 's'.repeat(40), repo: 'flock/competition-2', definition: { protocol: 2, id: '2' }, key: '2@round-1:abc' });
    a.recordDataset({ identity: 'ds1', bytes: 1234, rows: 56, fingerprintsRef: 'fp/ds1.bin' });
    const { submission } = a.recordSubmission({ uid: 3, hotkey: 'hk3', commitment: 'alice/ds:1:' + 'a'.repeat(40), block: 100, competitionId: '1', repoId: 'alice/ds', revision: 'a'.repeat(40) });
    a.setSubmissionDataset(submission.id, 'ds1');
    const losses = Float32Array.from([0.1, 2.5, 3.333, 1e-7]);
    a.completeEvaluation({ competitionKey: '1', datasetIdentity: 'ds1', losses, evalLoss: 1.5, receipt: { engine: '0.1.0', dataset: 'ds1' }, compute: 'c1' });
    const roundId = a.recordRound({
      competitionKey: '1',
      block: 120,
      burned: false,
      perUid: [{ uid: 3, hotkey: 'hk3', score: 1, winRate: 1, weight: 1, evalLoss: 1.5 }, { uid: 4, hotkey: 'hk4', score: 0, winRate: 0, weight: 0, stage: 'copy', reason: 'copy of uid 3' }],
    });
    a.close();

    const b = openAt(file);
    expect(b.requeuedOnOpen).toBe(0);
    // the key results are stored under: competitionKey unless the revision gave its own (sealed rounds)
    expect(b.getCompetition('1', 'r'.repeat(40))).toMatchObject({ repo: 'flock/competition-1', definition: { protocol: 1, id: '1' }, firstSeenBlock: 10, key: `1@${'r'.repeat(40)}` });
    expect(b.getCompetition('2', 's'.repeat(40))?.key).toBe('2@round-1:abc');
    expect(b.latestCompetition()?.id).toBe('2');
    expect(b.getDataset('ds1')).toMatchObject({ bytes: 1234, rows: 56, fingerprintsRef: 'fp/ds1.bin' });
    expect(b.latestSubmissions()).toEqual([expect.objectContaining({ uid: 3, hotkey: 'hk3', block: 100, datasetIdentity: 'ds1' })]);
    expect(b.competitionSubmissions('1').map((s) => s.uid)).toEqual([3]);
    const e = b.getEvaluation('1', 'ds1')!;
    expect(e.status).toBe('done');
    expect(Array.from(e.losses!)).toEqual(Array.from(losses)); // exact: f32 → f64 is lossless
    expect(e.receipt).toEqual({ engine: '0.1.0', dataset: 'ds1' });
    const round = b.latestRound()!;
    expect(round.id).toBe(roundId);
    expect(round.perUid[1]).toEqual({ uid: 4, hotkey: 'hk4', score: 0, winRate: 0, weight: 0, stage: 'copy', reason: 'copy of uid 3' });
    expect(b.latestSmoothedWeights()).toEqual([{ uid: 3, hotkey: 'hk3', weight: 1 }]);
    expect(b.leaderboard()).toEqual([
      { uid: 3, hotkey: 'hk3', score: 1, winRate: 1, weight: 1, evalLoss: 1.5, commitment: 'alice/ds:1:' + 'a'.repeat(40), block: 100 },
      { uid: 4, hotkey: 'hk4', score: 0, winRate: 0, weight: 0, stage: 'copy', reason: 'copy of uid 3', commitment: null, block: null },
    ]);
  });

  it('records a commitment once and keeps the latest per uid and hotkey', () => {
    const s = openAt(tempFile());
    const first = s.recordSubmission({ uid: 1, hotkey: 'h', commitment: 'x', block: 10 });
    expect(first.isNew).toBe(true);
    expect(s.recordSubmission({ uid: 1, hotkey: 'h', commitment: 'x', block: 10 }).isNew).toBe(false);
    s.recordSubmission({ uid: 1, hotkey: 'h', commitment: 'y', block: 20, reason: 'the commitment is empty' });
    s.recordSubmission({ uid: 1, hotkey: 'recycled', commitment: 'z', block: 15 });
    const latest = s.latestSubmissions();
    expect(latest.map((l) => [l.hotkey, l.commitment, l.reason])).toEqual([
      ['h', 'y', 'the commitment is empty'],
      ['recycled', 'z', null],
    ]);
  });

  it('queues oldest commitment first and never queues the same data twice', () => {
    const s = openAt(tempFile());
    expect(s.enqueueEvaluation('1', 'late', 300)).toBe('queued');
    s.enqueueEvaluation('1', 'early', 100);
    s.enqueueEvaluation('1', 'mid', 200);
    s.enqueueEvaluation('1', 'late', 50); // an older commitment of the same data moves it up
    s.enqueueEvaluation('2', 'other', 1);
    expect(s.queueLength('1')).toBe(3);
    expect(s.claimNextEvaluation('1')!.datasetIdentity).toBe('late');
    s.completeEvaluation({ competitionKey: '1', datasetIdentity: 'late', losses: [1, 2], evalLoss: 1.5, receipt: {}, compute: 'c1' });
    expect(s.enqueueEvaluation('1', 'late', 1)).toBe('done');
    expect(s.claimNextEvaluation('1')!.datasetIdentity).toBe('early');
    expect(s.claimNextEvaluation('1')!.datasetIdentity).toBe('mid');
    expect(s.claimNextEvaluation('1')).toBeUndefined();
    expect(s.listEvaluations('1', 'running').map((e) => e.datasetIdentity)).toEqual(['early', 'mid']);
  });

  it('keeps evaluations of different competition revisions apart', () => {
    const s = openAt(tempFile());
    const v1 = competitionKey('1', 'a'.repeat(40));
    const v2 = competitionKey('1', 'b'.repeat(40));
    s.completeEvaluation({ competitionKey: v1, datasetIdentity: 'd', losses: [1], evalLoss: 1, receipt: {}, compute: 'c1' });
    expect(s.enqueueEvaluation(v2, 'd', 5)).toBe('queued'); // new eval set: trained again
    expect(s.enqueueEvaluation(v1, 'd', 5)).toBe('done');
  });

  it('retries a transient failure, then fails for good with the reason', () => {
    const s = openAt(tempFile());
    s.enqueueEvaluation('1', 'd', 1);
    s.claimNextEvaluation('1');
    expect(s.failEvaluation('1', 'd', 'hub timeout', { retry: true, maxAttempts: 2 })).toBe('queued');
    expect(s.claimNextEvaluation('1')!.attempts).toBe(2);
    expect(s.failEvaluation('1', 'd', 'hub timeout', { retry: true, maxAttempts: 2 })).toBe('failed');
    expect(s.failEvaluation('1', 'bad', 'line 3: turns must alternate')).toBe('failed');
    expect(s.getEvaluation('1', 'bad')).toMatchObject({ status: 'failed', reason: 'line 3: turns must alternate' });
    // the base model's evaluation is stored like any other, without queueing
    s.completeEvaluation({ competitionKey: '1', datasetIdentity: BASE_EVALUATION, losses: [3, 3], evalLoss: 3, receipt: null, compute: 'c1' });
    expect(s.getEvaluation('1', BASE_EVALUATION)!.status).toBe('done');
  });

  it('releases one running evaluation back to the queue without counting its attempt', () => {
    const s = openAt(tempFile());
    s.enqueueEvaluation('1', 'a', 1);
    s.enqueueEvaluation('1', 'b', 2);
    expect(s.claimNextEvaluation('1')!.attempts).toBe(1);
    s.claimNextEvaluation('1');
    expect(s.releaseEvaluation('1', 'a')).toBe(true);
    expect(s.getEvaluation('1', 'a')).toMatchObject({ status: 'queued', attempts: 0 });
    expect(s.getEvaluation('1', 'b')!.status).toBe('running'); // the other one stays claimed
    expect(s.releaseEvaluation('1', 'a')).toBe(false); // not running any more
    expect(s.claimNextEvaluation('1')).toMatchObject({ datasetIdentity: 'a', attempts: 1 });
  });

  it('requeues an evaluation interrupted by kill -9, and does not redo finished ones', async () => {
    const file = tempFile();
    const s = openAt(file);
    s.enqueueEvaluation('1', 'finished', 1);
    s.enqueueEvaluation('1', 'training', 2);
    s.claimNextEvaluation('1');
    s.completeEvaluation({ competitionKey: '1', datasetIdentity: 'finished', losses: [0.5], evalLoss: 0.5, receipt: {}, compute: 'c1' });
    s.close();

    const c = child(file, `
      const s = store.openStore(file);
      const e = s.claimNextEvaluation('1');
      console.log('claimed ' + e.datasetIdentity);
      setInterval(() => {}, 1000); // "training" until killed
    `);
    expect(await c.line(/^claimed /)).toBe('claimed training');
    c.proc.kill('SIGKILL');
    await c.exit;

    const after = openAt(file);
    expect(after.requeuedOnOpen).toBe(1);
    expect(after.getEvaluation('1', 'training')).toMatchObject({ status: 'queued', attempts: 1 });
    expect(after.getEvaluation('1', 'finished')).toMatchObject({ status: 'done', attempts: 1 });
    const again = after.claimNextEvaluation('1')!;
    expect(again).toMatchObject({ datasetIdentity: 'training', attempts: 2 });
    expect(after.claimNextEvaluation('1')).toBeUndefined();
  });

  it('never sets weights twice in one window, across restarts', () => {
    const file = tempFile();
    const s = openAt(file);
    const first = s.claimWeightWindow({ netuid: 7, window: 42, uids: [1, 2], weights: [65535, 100], versionKey: 1 });
    expect(first.claimed).toBe(true);
    const second = s.claimWeightWindow({ netuid: 7, window: 42, uids: [1], weights: [65535] });
    expect(second).toMatchObject({ claimed: false, transaction: { id: first.transaction.id, status: 'pending', uids: [1, 2] } });
    // the database itself refuses a second live row, whatever the caller does
    expect(() =>
      runSql(file, `INSERT INTO weight_transactions (netuid, window_index, kind, status, uids, weights, created_at, updated_at) VALUES (7, 42, 'set', 'pending', '[]', '[]', 0, 0)`),
    ).toThrow(/UNIQUE/);
    s.close();

    // crash while pending: after restart the window still counts as set
    const r = openAt(file);
    expect(r.weightsSetInWindow(7, 42)).toBe(true);
    expect(r.pendingWeightTransactions().map((t) => t.window)).toEqual([42]);
    r.markWeightTransaction(first.transaction.id, { status: 'included', block: 9001, txHash: '0xabc' });
    expect(r.claimWeightWindow({ netuid: 7, window: 42, uids: [1], weights: [1] }).claimed).toBe(false);
    expect(r.lastWeightBlock(7)).toBe(9001);
    // a failed transaction frees its window; other windows and kinds are independent
    const w43 = r.claimWeightWindow({ netuid: 7, window: 43, uids: [1], weights: [1] });
    r.markWeightTransaction(w43.transaction.id, { status: 'failed', error: 'SettingWeightsTooFast' });
    expect(r.weightsSetInWindow(7, 43)).toBe(false);
    expect(r.claimWeightWindow({ netuid: 7, window: 43, uids: [1], weights: [1] }).claimed).toBe(true);
    expect(r.claimWeightWindow({ netuid: 7, window: 42, kind: 'commit', uids: [1], weights: [1], salt: [5, 6] }).claimed).toBe(true);
    expect(r.weightsSetInWindow(8, 42)).toBe(false);
  });

  it('lets readers read while another process writes', async () => {
    const file = tempFile();
    openAt(file).close();
    const n = 300;
    const c = child(file, `
      const s = store.openStore(file);
      console.log('ready');
      for (let i = 0; i < ${n}; i++) {
        s.completeEvaluation({ competitionKey: '1', datasetIdentity: 'd' + i, losses: new Float64Array(64).fill(i), evalLoss: i, receipt: { i }, compute: 'c1' });
      }
      s.close();
      console.log('done');
    `);
    await c.line(/^ready$/);
    const reader = openAt(file, true);
    const seen: number[] = [];
    while (c.proc.exitCode === null) {
      seen.push(reader.listEvaluations('1').length);
      await new Promise((r) => setImmediate(r));
    }
    expect(await c.exit).toBe(0);
    seen.push(reader.listEvaluations('1').length);
    for (let k = 1; k < seen.length; k++) expect(seen[k]).toBeGreaterThanOrEqual(seen[k - 1]!);
    expect(seen[seen.length - 1]).toBe(n);
    expect(Array.from(reader.getEvaluation('1', 'd7')!.losses!.slice(0, 2))).toEqual([7, 7]);
  });

  it('a reader sees the last committed state while a write transaction is open', () => {
    const file = tempFile();
    const s = openAt(file);
    s.enqueueEvaluation('1', 'a', 1);
    const r = openAt(file, true);
    const w = openRaw(file); // another writer
    w.exec('BEGIN IMMEDIATE');
    w.exec(`UPDATE evaluations SET status = 'running'`);
    expect(r.getEvaluation('1', 'a')!.status).toBe('queued'); // no SQLITE_BUSY, old snapshot
    w.exec('COMMIT');
    w.close();
    expect(r.getEvaluation('1', 'a')!.status).toBe('running');
  });

  it('smoothed weights survive a restart unchanged (scoring restart property)', () => {
    const M = 50;
    const base = Array.from({ length: M }, (_, x) => 2 + ((x * 37) % 11) / 10);
    const subs = (gainOf: (uid: number) => number): SubmissionInput[] =>
      [1, 2, 3, 4].map((uid) => ({
        uid,
        hotkey: `hk${uid}`,
        registrationBlock: 1,
        commitmentBlock: 100 * uid,
        rows: 10,
        contaminatedRows: 0,
        losses: base.map((l, x) => l * (1 - gainOf(uid)) + ((x * uid) % 7) / 1000),
      }));
    const round = (previous: ReturnType<typeof scoreRound>['smoothed'], gain: (uid: number) => number) =>
      scoreRound({ currentBlock: 1000, ownerUid: 0, baseLosses: base, submissions: subs(gain), previous, constants: DEFAULT_SCORING_CONSTANTS });

    const r1 = round([], (u) => 0.02 * u);
    const r2 = round(r1.smoothed, (u) => 0.1 - 0.02 * u);

    const file = tempFile();
    const a = openAt(file);
    a.recordRound({ competitionKey: '1', block: 1000, burned: r1.burned, perUid: r1.perUid });
    a.close();
    const b = openAt(file);
    const r2AfterRestart = round(b.latestSmoothedWeights(), (u) => 0.1 - 0.02 * u);
    expect(r2AfterRestart.weights).toEqual(r2.weights);
    // and the history mattered: without it round 2 would differ
    expect(round([], (u) => 0.1 - 0.02 * u).weights).not.toEqual(r2.weights);
    expect(r2AfterRestart.weights.reduce((s, w) => s + w.weight, 0)).toBeCloseTo(1, 12);
  });

  it('re-queues done evaluations of another compute identity (or none recorded) and keeps the rest', () => {
    const s = openAt(tempFile());
    for (const [id, compute] of [['same', 'c2'], ['other', 'c1'], ['old', 'c1']] as const) {
      s.enqueueEvaluation('1', id, 5);
      s.completeEvaluation({ competitionKey: '1', datasetIdentity: id, losses: [1], evalLoss: 1, receipt: {}, compute });
    }
    // a row written before the compute column existed reads as null
    runSql(s.file, `UPDATE evaluations SET compute = NULL WHERE dataset_identity = 'old'`);
    s.completeEvaluation({ competitionKey: 'other-competition', datasetIdentity: 'x', losses: [1], evalLoss: 1, receipt: {}, compute: 'c1' });
    s.failEvaluation('1', 'bad', 'invalid data');
    s.enqueueEvaluation('1', 'waiting', 9);

    expect(s.requeueOtherCompute('1', 'c2')).toBe(2);
    const status = Object.fromEntries(s.listEvaluations('1').map((e) => [e.datasetIdentity, [e.status, e.compute, e.losses === null]]));
    expect(status).toEqual({
      same: ['done', 'c2', false],
      other: ['queued', null, true],
      old: ['queued', null, true],
      bad: ['failed', null, true],
      waiting: ['queued', null, true],
    });
    expect(s.getEvaluation('other-competition', 'x')?.status).toBe('done');
    expect(s.requeueOtherCompute('1', 'c2')).toBe(0);
  });

  it('counts downloads that did not match their commit per file, across a restart, and forgets them on a match', () => {
    const file = tempFile();
    let now = 1_000;
    const a = openStore(file, { now: () => now });
    const f = { repoId: 'alice/ds', revision: 'a'.repeat(40), path: 'data.jsonl', expected: 'git-sha1:' + '1'.repeat(40), served: 'git-sha1:' + '2'.repeat(40) };
    expect(a.hubIntegrityFailure(f.repoId, f.revision, f.path)).toBeUndefined();
    expect(a.recordHubIntegrityFailure(f)).toEqual({ ...f, attempts: 1, lastFailedAt: 1_000 });
    now = 5_000;
    expect(a.recordHubIntegrityFailure({ ...f, served: 'git-sha1:' + '3'.repeat(40) })).toEqual({ ...f, served: 'git-sha1:' + '3'.repeat(40), attempts: 2, lastFailedAt: 5_000 });
    a.recordHubIntegrityFailure({ ...f, revision: 'b'.repeat(40) }); // another commit: its own count
    a.close();
    const b = openAt(file);
    expect(b.hubIntegrityFailure(f.repoId, f.revision, f.path)).toMatchObject({ attempts: 2, lastFailedAt: 5_000 });
    b.clearHubIntegrityFailure(f.repoId, f.revision, f.path);
    expect(b.hubIntegrityFailure(f.repoId, f.revision, f.path)).toBeUndefined();
    expect(b.hubIntegrityFailure(f.repoId, 'b'.repeat(40), f.path)).toMatchObject({ attempts: 1 });

    // an evaluation that failed waiting for such a download goes back in the queue; others stay
    b.enqueueEvaluation('1', 'waited', 5);
    b.failEvaluation('1', 'waited', 'data.jsonl … (download 1 of 3; trying again later)');
    b.completeEvaluation({ competitionKey: '1', datasetIdentity: 'done', losses: [1], evalLoss: 1, receipt: {}, compute: 'c' });
    expect(b.requeueEvaluationAfterHubIntegrity('1', 'waited')).toBe(true);
    expect(b.getEvaluation('1', 'waited')).toMatchObject({ status: 'queued', reason: null, priorityBlock: 5 });
    expect(b.requeueEvaluationAfterHubIntegrity('1', 'done')).toBe(false);
    expect(b.getEvaluation('1', 'done')?.status).toBe('done');
  });

  it('migrates a version-4 file: the per-competition key columns are renamed and their rows kept', () => {
    const file = tempFile();
    mkdirSync(dirname(file), { recursive: true });
    const raw = openRaw(file);
    for (const sql of MIGRATIONS.slice(0, 4)) raw.exec(sql);
    raw.pragma('user_version = 4');
    raw.exec(`INSERT INTO evaluations (competition_id, dataset_identity, status, priority_block, queued_at) VALUES ('1@r', 'd', 'queued', 5, 0)`);
    raw.exec(`INSERT INTO dataset_checks (competition_id, dataset_identity, rows, contaminated_rows) VALUES ('1@r', 'd', 10, 1)`);
    raw.exec(`INSERT INTO rounds (competition_id, block, burned, created_at) VALUES ('1@r', 9, 0, 0)`);
    raw.close();
    const s = openAt(file);
    expect(s.schemaVersion()).toBe(STORE_SCHEMA_VERSION);
    expect(s.getEvaluation('1@r', 'd')).toMatchObject({ competitionKey: '1@r', status: 'queued', priorityBlock: 5 });
    expect(s.datasetCheck('1@r', 'd')).toEqual({ rows: 10, contaminatedRows: 1 });
    expect(s.latestRound()).toMatchObject({ competitionKey: '1@r', block: 9 });
    expect(s.queueLength('1@r')).toBe(1);
  });
});
