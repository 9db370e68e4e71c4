/** `flock hub serve|upload|download` as a user runs them (built CLI, real processes). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLOCK_BIN, REPO_ROOT, runFlock } from '../helpers/cli.js';

const TOKEN = 'tok-cli-alice-0123456789';
let root: string;
let server: ChildProcess;
let url: string;
let serverLog = '';

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'hub-cli-'));
  server = spawn(process.execPath, [FLOCK_BIN, 'hub', 'serve', '--port', '0', '--dir', join(root, 'data'), '--token', `alice:${TOKEN}`, '--logging.debug'], { cwd: REPO_ROOT });
  server.stderr!.on('data', (c: Buffer) => { serverLog += c.toString(); });
  url = await new Promise<string>((ok, fail) => {
    let out = '';
    server.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) ok(out.trim());
    });
    server.once('exit', (code) => fail(new Error(`hub serve exited ${code}: ${serverLog}`)));
  });
});

afterAll(() => {
  server.kill('SIGTERM');
  rmSync(root, { recursive: true, force: true });
});

const env = () => ({ HF_ENDPOINT: url, HF_HOME: join(root, 'hf'), HF_TOKEN: '' });

describe('flock hub', () => {
  it('serves a local hub that upload and download talk to through HF_ENDPOINT', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const data = join(root, 'data.jsonl');
    writeFileSync(data, '{"conversations":[]}\n');
    const up = runFlock(['hub', 'upload', 'alice/ds', data, '--create', '--json'], { env: { ...env(), HF_TOKEN: TOKEN } });
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    const sha = (JSON.parse(up.stdout) as { revision: string }).revision;
    expect(sha).toMatch(/^[0-9a-f]{40}$/);

    const down = runFlock(['hub', 'download', 'alice/ds', '--revision', sha.slice(0, 10), '--path', 'data.jsonl', '--out', join(root, 'out'), '--json'], { env: env() });
    expect(down.code).toBe(0);
    const result = JSON.parse(down.stdout) as { revision: string; files: { path: string; local: string }[] };
    expect(result.revision).toBe(sha);
    expect(readFileSync(join(root, 'out', 'data.jsonl'), 'utf8')).toBe('{"conversations":[]}\n');
    // and the Hugging Face cache under HF_HOME holds it too
    expect(readFileSync(join(root, 'hf', 'hub', 'datasets--alice--ds', 'snapshots', sha, 'data.jsonl'), 'utf8')).toContain('conversations');
  });

  it('explains a missing revision and a refused token, without printing the token', () => {
    const missing = runFlock(['hub', 'download', 'alice/ds', '--revision', 'nope'], { env: env() });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Revision nope not found in dataset alice/ds');
    const secret = 'tok-not-known-9876543210';
    const refused = runFlock(['hub', 'upload', 'alice/ds', join(root, 'data.jsonl'), '--hf-token', secret], { env: env() });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('401');
    expect(refused.stderr).not.toContain(secret);
    expect(serverLog).not.toContain(TOKEN);
  });

  it('rejects a malformed --token with a usage error', () => {
    const r = runFlock(['hub', 'serve', '--port', '0', '--dir', join(root, 'x'), '--token', 'no-colon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('NAME:TOKEN');
  });
});
