/** `flock devnet` (src/cli/devnet.ts) as a user runs it: it prints its URL, serves, and stops on SIGTERM. */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawRequest } from './helpers.js';
import { FLOCK_BIN, REPO_ROOT, runFlock } from '../../helpers/cli.js';

describe('flock devnet', () => {
  it('serves on the port it prints and keeps its state in --dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flock-devnet-cli-'));
    try {
      const child = spawn(process.execPath, [FLOCK_BIN, 'devnet', '--port', '0', '--dir', dir, '--block-time', '50', '--tempo', '12'], {
        cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => { stderr += String(d); });
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += String(d);
          const m = /ws:\/\/\S+/.exec(out);
          if (m) resolve(m[0]);
        });
        child.on('exit', (code) => reject(new Error(`flock devnet exited ${code}: ${stderr}`)));
      });
      expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      expect((await rawRequest(url, 'system_chain')).result).toBe('FLock Devnet');
      expect(stderr).toContain('| INFO | devnet listening on');
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(existsSync(join(dir, 'devnet.sqlite'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 on a bad flag value', () => {
    const r = runFlock(['devnet', '--tempo', 'soon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--tempo must be a positive integer');
  });
});
