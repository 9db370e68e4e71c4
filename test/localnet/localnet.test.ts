/**
 * `flock localnet --quick --json` end to end: the built CLI starts a devnet
 * and a local hub, publishes a competition, has miners of known quality submit, runs validators
 * through real epochs, and reports the leaderboard with the chain's incentive — once with the
 * validators training in their own process, once through evaluation workers on a redis-server
 * (`--workers 2`), with the same verdict. Also: Ctrl-C stops a run cleanly (the process exits by
 * itself, its ports are closed).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LocalnetReport } from '../../src/localnet/localnet.js';
import { FLOCK_BIN, REPO_ROOT, runFlock } from '../helpers/cli.js';

function portOpen(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); ok(true); });
    s.once('error', () => ok(false));
  });
}

/** The verdict a local subnet must reach, with or without evaluation workers. */
function verdictTests(name: string, extra: string[], more: (get: () => LocalnetReport) => void = () => undefined): void {
  describe(name, () => {
    let report: LocalnetReport;
    let stderr = '';

    beforeAll(() => {
      const dir = mkdtempSync(join(tmpdir(), 'flock-localnet-test-'));
      const r = runFlock(['localnet', '--quick', '--json', '--dir', dir, ...extra]);
      stderr = r.stderr;
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      report = JSON.parse(r.stdout) as LocalnetReport;
    }, 600_000);

    const miner = (kind: string) => {
      const m = report.miners.find((x) => x.kind === kind);
      if (!m) throw new Error(`no ${kind} miner in the report`);
      return m;
    };

    it('ranks by incentive: good > medium > noisy and off-task', () => {
      expect(miner('good').incentive).toBeGreaterThan(miner('medium').incentive);
      expect(miner('medium').incentive).toBeGreaterThan(miner('noisy').incentive);
      expect(miner('medium').incentive).toBeGreaterThan(miner('off-task').incentive);
      expect(miner('good').evalLoss!).toBeLessThan(miner('medium').evalLoss!);
      expect(miner('medium').evalLoss!).toBeLessThan(report.baseLoss!);
      expect(miner('good').emission).toBeGreaterThan(0);
    });

    it('gives the copies and the contaminated dataset zero, with the right reasons', () => {
      const good = miner('good');
      for (const kind of ['copy', 'reworded-copy', 'diluted-copy']) {
        const m = miner(kind);
        expect(m.incentive).toBe(0);
        expect(m.weights.every((w) => w === 0)).toBe(true);
        expect(m.zeroReason).toMatch(/^copy: /);
        expect(m.zeroReason).toContain(`uid ${good.uid}`);
        expect(m.block).toBeGreaterThan(good.block);
      }
      // the diluted copy is caught by what it holds of the good dataset (protocol 2), not by its own rows
      expect(miner('diluted-copy').zeroReason).toMatch(/^copy: it holds \d+ of the \d+ rows \(100%\) of the dataset of uid /);
      // the contaminated miner trained on round 1's set once it was revealed, committed in round 2: caught there
      const c = miner('contaminated');
      expect(c.incentive).toBe(0);
      expect(c.zeroReason).toMatch(/^contamination: trained on the test: /);
      const [r1, r2] = report.sealedRounds;
      expect(c.block).toBeGreaterThanOrEqual(r1!.closes);
      expect(c.block).toBeLessThan(r2!.closes);
      for (const kind of ['good', 'medium']) expect(miner(kind).zeroReason).toBeNull();
    });

    it('validators agree: identical weights, validator trust >= 0.9 on chain', () => {
      expect(report.validators).toHaveLength(2);
      for (const v of report.validators) {
        expect(v.validatorTrust).toBeGreaterThanOrEqual(0.9);
        expect(v.evaluations).toBeGreaterThan(0);
        // each validator published its last round's signed results to its own repo
        expect(v.results).toMatchObject({ repo: `validators/flock-results-1-${v.hotkey.slice(0, 8)}`, round: 2, revision: expect.stringMatching(/^[0-9a-f]{40}$/) });
      }
      for (const m of report.miners) expect(new Set(m.weights.map((w) => w.toFixed(6))).size).toBe(1);
      expect(report.rounds).toBe(2);
    });

    it('runs two sealed rounds: each set revealed after its window, datasets carried over, the contaminated miner only in round 2', () => {
      const [r1, r2] = report.sealedRounds;
      expect(report.sealedRounds).toHaveLength(2);
      expect(r2!.opens).toBe(r1!.closes); // back to back: no block outside every window
      for (const r of report.sealedRounds) {
        expect(r.evalSha256).toMatch(/^[0-9a-f]{64}$/);
        expect(r.revealBlock).toBeGreaterThanOrEqual(r.closes);
      }
      const contaminated = miner('contaminated').uid;
      const others = report.miners.filter((m) => m.uid !== contaminated).map((m) => m.uid).sort((a, b) => a - b);
      expect(r1!.participants).toEqual(others);
      expect(r2!.participants).toEqual([...others, contaminated].sort((a, b) => a - b));
      for (const m of report.miners) expect(m.block).toBeGreaterThanOrEqual(r1!.opens);
      expect(report.competition.pointer).toContain(report.competition.revision);
      expect(stderr).toContain('owner published competition');
    });

    more(() => report);
  });
}

verdictTests('flock localnet --quick --json', [], (report) => {
  it('trains in the validators\' own process', () => {
    expect(report().workers).toBe(0);
    for (const v of report().validators) expect(v.workers).toBeUndefined();
  });
});

verdictTests('flock localnet --quick --json --workers 2', ['--workers', '2'], (report) => {
  it('trains on the workers: each validator\'s jobs computed once by its own workers', () => {
    expect(report().workers).toBe(2);
    for (const v of report().validators) {
      expect(v.workers).toHaveLength(2);
      const completed = v.workers!.reduce((a, w) => a + w.completed, 0);
      expect(completed).toBe(v.evaluations); // every result recorded came from one job of its own queue
      expect(v.workers!.every((w) => w.failed === 0)).toBe(true);
    }
  });
});

describe('flock localnet: Ctrl-C', () => {
  it('stops everything on SIGINT: exit code 130, devnet and hub ports closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flock-localnet-sigint-'));
    const child = spawn(process.execPath, [FLOCK_BIN, 'localnet', '--quick', '--dir', dir], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let err = '';
    const ports: number[] = [];
    const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
    await new Promise<void>((ok) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /devnet on ws:\/\/127\.0\.0\.1:(\d+), hub on http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
        if (m && ports.length === 0) {
          ports.push(Number(m[1]), Number(m[2]));
          ok();
        }
      });
    });
    expect(await portOpen(ports[0]!)).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(err).toContain('stopping the local subnet');
    for (const p of ports) expect(await portOpen(p)).toBe(false);
  }, 120_000);
});

describe('flock localnet --serve', () => {
  it('keeps the subnet running with the dashboard, serving its leaderboard, until Ctrl-C closes everything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flock-localnet-serve-'));
    const child = spawn(process.execPath, [FLOCK_BIN, 'localnet', '--quick', '--serve', '--port', '0', '--dir', dir], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
    const url = await new Promise<string>((ok, fail) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/?)/.exec(out);
        if (m) ok(m[1]!);
      });
      void exited.then((code) => fail(new Error(`localnet exited (${code}) before serving:\n${err.slice(-3000)}`)));
    });
    const ports = [...err.matchAll(/devnet on ws:\/\/127\.0\.0\.1:(\d+), hub on http:\/\/127\.0\.0\.1:(\d+)/g)].flatMap((m) => [Number(m[1]), Number(m[2])]);
    expect(out).toContain('local subnet: netuid 1'); // the report comes first
    // the leaderboard lists the miners once the background reader has the chain and the results
    let page = '';
    const started = Date.now();
    while (!/good/.test(page) && Date.now() - started < 60_000) {
      page = await fetch(url).then((r) => r.text(), () => '');
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(page).toMatch(/good/);
    expect(page).toMatch(/diluted-copy/);
    const dashboardPort = Number(new URL(url).port);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const p of [...ports, dashboardPort]) expect(await portOpen(p), `port ${p}`).toBe(false);
  }, 180_000);
});
