/**
 * Running `git` against one bare repository: a fixed, minimal environment (no user or system
 * config, no prompts), arguments as an array (never a shell), stdin from a buffer, stdout
 * collected. Callers validate every name they pass in first.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface GitResult { code: number; stdout: Buffer; stderr: string }

export interface GitOptions {
  input?: Buffer | string;
  env?: Record<string, string>;
  /** Exit codes that are answers, not failures (e.g. 1 for `rev-parse --verify --quiet`). */
  okCodes?: number[];
}

/** Environment that makes git ignore the machine's configuration and never prompt. */
export function gitEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
    ...extra,
  };
}

/** Start `git --git-dir=DIR args…` with its streams open (for streaming blob reads). */
export function spawnGit(gitDir: string, home: string, args: string[], env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  return spawn('git', [`--git-dir=${gitDir}`, ...args], { env: gitEnv(home, env), stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Run `git --git-dir=DIR args…` to completion; throws on an exit code not in `okCodes` (default [0]). */
export function runGit(gitDir: string | null, home: string, args: string[], options: GitOptions = {}): Promise<GitResult> {
  return new Promise((resolvePromise, reject) => {
    const argv = gitDir ? [`--git-dir=${gitDir}`, ...args] : args;
    const child = spawn('git', argv, { env: gitEnv(home, options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => { if (err.length < 8192) err += c.toString(); });
    child.on('error', reject);
    child.stdin.on('error', () => undefined); // git may exit before reading all of stdin
    child.on('close', (code) => {
      const result = { code: code ?? -1, stdout: Buffer.concat(out), stderr: err };
      if ((options.okCodes ?? [0]).includes(result.code)) resolvePromise(result);
      else reject(new Error(`git ${args[0]} failed (exit ${result.code}): ${err.trim().split('\n')[0] ?? ''}`));
    });
    child.stdin.end(options.input ?? '');
  });
}
