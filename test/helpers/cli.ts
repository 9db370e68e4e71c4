/**
 * Run the built `flock` CLI (bin/flock.js → dist/) as a user would, capturing its output. The e2e
 * tier's global setup (build-cli.ts) rebuilds dist/ first when src/ is newer.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FLOCK_BIN = fileURLToPath(new URL('../../bin/flock.js', import.meta.url));

export interface CliResult { code: number; stdout: string; stderr: string }

export function runFlock(args: string[], options: SpawnSyncOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [FLOCK_BIN, ...args], {
    encoding: 'utf8',
    cwd: REPO_ROOT,
    maxBuffer: 64 * 1024 * 1024,
    ...options,
    env: { ...process.env, NO_COLOR: '1', ...(options.env ?? {}) },
  });
  return { code: r.status ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}
