/**
 * `flock validator run|status` as a user runs them (the built CLI in a child process) against a
 * devnet and a local hub started here: `kill -9` in the middle of training, then a restart —
 * nothing finished is redone, the interrupted evaluation is, weights are set once in the window —
 * the status command reading the state DB alone, and `run --queue` with `flock worker` children
 * on a real redis-server.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCommitment } from '../../src/protocol/index.js';
import { BASE_EVALUATION, openStore } from '../../src/validator/store.js';
import { FLOCK_BIN, REPO_ROOT, runFlock } from '../helpers/cli.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startSubnet, taskRows, toJsonl, type TestSubnet } from '../validator/subnet.js';

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Start the CLI without blocking this process's event loop (the devnet and hub live here). */
function startFlock(args: string[]): { pid: number; done: Promise<Run>; output: () => string } {
  const child = spawn(process.execPath, [FLOCK_BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1', HF_TOKEN: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const done = new Promise<Run>((ok) => child.on('close', (code, signal) => ok({ code, signal, stdout, stderr })));
  return { pid: child.pid!, done, output: () => stderr };
}

async function waitFor(what: string, check: () => boolean, output: () => string, timeoutMs = 90_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}; the validator said:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('flock validator (CLI)', () => {
  let net: TestSubnet;
  let stateDir: string;
  let args: string[];

  beforeAll(async () => {
    net = await startSubnet({ tempo: 10, weightsRateLimit: 2 });
    stateDir = join(net.root, 'state');
    const fast = await net.register('fast');
    const slow = await net.register('slow');
    await net.commit(fast, formatCommitment({ repoId: 'miners/fast', competitionId: '1', revision: await net.publish('fast', toJsonl(taskRows(8, 7))) }));
    // ~60 optimizer steps: long enough to be killed in the middle
    await net.commit(slow, formatCommitment({ repoId: 'miners/slow', competitionId: '1', revision: await net.publish('slow', toJsonl(taskRows(120, 99))) }));
    await net.addValidator();
    args = [
      'validator', 'run', '--once', '--wallet.name', 'validator', '--wallet.hotkey', 'default', '--wallet.path', net.walletsDir,
      '--subtensor.chain_endpoint', net.dev.url, '--netuid', '1', '--hub-url', net.hub.url, '--state-dir', stateDir,
      '--cache-dir', join(stateDir, 'hf-cache'), '--threads', '1', '--retry-ms', '100',
    ];
  });
  afterAll(async () => {
    await net?.close();
  });

  it('kill -9 mid-training: the restart redoes only the interrupted evaluation and sets weights once in the window', async () => {
    const first = startFlock(args);
    const db = join(stateDir, 'validator.sqlite');
    let key = '';
    await waitFor('the slow dataset to be training', () => {
      if (!/training \d+\/\d+/.test(first.output())) return false;
      const s = openStore(db, { readonly: true });
      try {
        const c = s.latestCompetition();
        if (!c) return false;
        key = `${c.id}@${c.revision}`;
        const evals = s.listEvaluations(key);
        return evals.filter((e) => e.status === 'done').length === 2 && evals.some((e) => e.status === 'running');
      } finally {
        s.close();
      }
    }, first.output);
    process.kill(first.pid, 'SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');

    const before = openStore(db, { readonly: true });
    const doneBefore = before.listEvaluations(key, 'done').map((e) => [e.datasetIdentity, e.finishedAt, e.attempts]);
    const interrupted = before.listEvaluations(key, 'running')[0]!.datasetIdentity;
    expect(before.weightTransactions()).toHaveLength(0);
    before.close();

    const second = await startFlock(args).done;
    expect(second.stderr).toContain('1 evaluation(s) interrupted by a stop were put back in the queue');
    // no hub token here: the validator says how to publish its rounds instead of failing
    expect(second.stderr).toContain('round results are not published: set HF_TOKEN to a token that may create and write dataset repos');
    expect(second.code).toBe(0);
    const after = openStore(db, { readonly: true });
    try {
      // finished work untouched; the interrupted one redone (second attempt)
      for (const [identity, finishedAt, attempts] of doneBefore) {
        expect(after.getEvaluation(key, identity as string)).toMatchObject({ status: 'done', finishedAt, attempts });
      }
      expect(after.getEvaluation(key, interrupted)).toMatchObject({ status: 'done', attempts: 2 });
      expect(after.getEvaluation(key, BASE_EVALUATION)?.attempts).toBe(1);
      expect(after.weightTransactions()).toHaveLength(1);
      expect(after.weightTransactions()[0]).toMatchObject({ status: 'included', kind: 'set' });
    } finally {
      after.close();
    }

    // a third run in the same window: nothing to train, no second weight transaction
    const third = await startFlock(args).done;
    expect(third.code).toBe(0);
    const last = openStore(db, { readonly: true });
    expect(last.weightTransactions()).toHaveLength(1);
    expect(last.evaluationCounts(key)).toEqual({ queued: 0, running: 0, done: 3, failed: 0 });
    last.close();
  });

  it('status prints the leaderboard from the state DB alone, as a table or JSON', () => {
    const text = runFlock(['validator', 'status', '--state-dir', stateDir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^competition 1 \(flock\/competition-1@[0-9a-f]{12}\)$/m);
    expect(text.stdout).toMatch(/^evaluations: 3 done, 0 failed, 0 queued, 0 running$/m);
    expect(text.stdout).toMatch(/^uid\s+hotkey\s+commitment\s+block\s+eval loss\s+win rate\s+weight\s+reason$/m);
    expect(text.stdout).toContain('miners/fast:1:');

    const json = runFlock(['validator', 'status', '--state-dir', stateDir, '--json']);
    expect(json.code).toBe(0);
    const status = JSON.parse(json.stdout) as { leaderboard: Array<{ uid: number; weight: number; reason?: string }>; weightTransactions: unknown[] };
    expect(status.leaderboard.map((r) => r.uid).sort()).toEqual([0, 1, 2, 3]);
    expect(status.leaderboard.reduce((a, r) => a + r.weight, 0)).toBeCloseTo(1, 9);
    expect(status.leaderboard.find((r) => r.uid === 0)?.reason).toBe('no commitment in this competition');
    expect(status.weightTransactions).toHaveLength(1);
  });

  it('status without a state DB and run without --netuid fail with a clear message', () => {
    const missing = runFlock(['validator', 'status', '--state-dir', join(stateDir, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot open the validator state file .*validator\.sqlite/);
    expect(missing.stderr).toContain('run `flock validator run` first');
    const noNetuid = runFlock(['validator', 'run', '--state-dir', stateDir, '--wallet.path', net.walletsDir, '--wallet.name', 'validator']);
    expect(noNetuid.code).toBe(2);
    expect(noNetuid.stderr).toContain('--netuid is required');
  });
  describe('run --queue', () => {
    let redis: TestRedis;
    beforeAll(async () => { redis = await startRedis(); });
    afterAll(async () => { await redis?.kill(); });

    it('evaluates through `flock worker` processes and records every result in its own state', async () => {
      const dir = join(net.root, 'queued');
      const workers = ['w1', 'w2'].map((name) => startFlock([
        'worker', '--queue', redis.url, '--hub-url', net.hub.url, '--backend', 'cpu', '--threads', '1', '--cache-dir', join(dir, `cache-${name}`), '--name', name,
      ]));
      try {
        for (const w of workers) await waitFor('the worker to connect', () => /compute flock-engine/.test(w.output()), w.output, 30_000);
        const run = await startFlock([...args.map((a) => (a === stateDir ? dir : a)), '--queue', redis.url]).done;
        expect(run.code, run.stderr).toBe(0);
        expect(run.stderr).toContain('evaluations go through the queue');
        expect(run.stderr).toMatch(/evaluations go to workers of compute identity "flock-engine [^"]+ · cpu/);
        expect(run.stderr).toMatch(/evaluated base model on w[12]: eval loss/);
        const store = openStore(join(dir, 'validator.sqlite'), { readonly: true });
        try {
          const c = store.latestCompetition()!;
          expect(store.evaluationCounts(`${c.id}@${c.revision}`)).toEqual({ queued: 0, running: 0, done: 3, failed: 0 });
        } finally {
          store.close();
        }
        // together the workers computed each of the 3 jobs once
        const computed = workers.map((w) => (w.output().match(/\| SUCCESS \| evaluated .*: eval loss/g) ?? []).length);
        expect(computed.reduce((a, b) => a + b, 0)).toBe(3);
      } finally {
        for (const w of workers) process.kill(w.pid, 'SIGTERM');
        await Promise.all(workers.map((w) => w.done));
      }
    });

    it('says how to start Redis when the queue cannot be reached', () => {
      const out = runFlock([...args.map((a) => (a === stateDir ? join(net.root, 'no-redis') : a)), '--queue', 'redis://:secret@127.0.0.1:1']);
      expect(out.code).toBe(1);
      expect(out.stderr).toContain('cannot reach Redis at redis://:***@127.0.0.1:1'); // the password masked
      expect(out.stderr).toContain('HINT: start redis-server there');
      expect(out.stderr).not.toContain('secret');
    });
  });

});

describe('flock validator status: miners\' text on the terminal', () => {
  it('a commitment and a reason holding control sequences are printed escaped, never raw', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'flock-status-'));
    try {
      const store = openStore(join(stateDir, 'validator.sqlite'));
      store.saveCompetition({ id: '1', revision: 'a'.repeat(40), repo: 'flock/competition-1', definition: {} });
      // clears the screen, homes the cursor and forges a log line; a right-to-left override flips what follows
      const hostile = 'x\x1b[2J\x1b[H\r2026-01-01 00:00:00 | SUCCESS | ok\u202e\u009b:1:';
      const hotkey = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';
      store.recordSubmission({ uid: 1, hotkey, commitment: hostile, block: 7, reason: 'bad' });
      store.recordRound({
        competitionKey: `1@${'a'.repeat(40)}`, block: 9, burned: true,
        perUid: [{ uid: 1, hotkey, weight: 0, score: 0, winRate: 0, stage: 'commitment', reason: `commitment "${hostile}" has 1 ":"-separated parts\x07\x08` }],
      });
      store.close();

      const out = runFlock(['validator', 'status', '--state-dir', stateDir]);
      expect(out.code).toBe(0);
      // nothing a terminal acts on, newlines between rows aside
      expect(out.stdout.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
      expect(out.stdout).toContain('x\\x1b[2J\\x1b[H\\r2026-01-01');
      expect(out.stdout).toContain('| SUCCESS | ok\\u202e\\x9b:1:"');
      expect(out.stdout).toMatch(/\\x07\\x08$/m);
      expect(out.stdout.split('\n').filter((l) => l.includes('SUCCESS'))).toHaveLength(1); // the reason's copy stays on the uid's row
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

});
