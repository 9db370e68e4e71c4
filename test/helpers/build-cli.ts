/**
 * Global setup of the e2e tests, which run the CLI as users do: `bin/flock.js` → the compiled
 * `dist/`. It keeps `dist/` built from the current `src/`: when any `src/**.ts` is newer than its
 * compiled `.js` (or missing one), or a tsconfig is newer than `dist/`, it runs
 * `tsc -p tsconfig.build.json` (about 10 s); otherwise the check is a few hundred `stat`s.
 *
 * Several test runs may share the working tree. One builds at a time (a lock file); the build is
 * written to a temporary folder beside `dist/` (same depth, so source maps stay right) and each
 * file is renamed into place, so a CLI started meanwhile reads whole files. The outputs get the
 * build's start time as their mtime: a source edited while tsc ran is newer, and rebuilt next time.
 * Type errors do not stop the tests (tsc still emits; `npm run typecheck` is where they fail): they
 * are printed as a warning.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json'];
const LOCK = join(ROOT, 'node_modules', '.cache', 'flock-build-cli.lock');
/** A lock older than this is left over from a run that died. */
const LOCK_STALE_MS = 10 * 60_000;

function* filesUnder(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else yield path;
  }
}

function mtimeMs(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Why `dist/` does not match `src/`, or null when it does. */
export function staleReason(): string | null {
  const builtAt = mtimeMs(join(DIST, 'cli', 'main.js'));
  if (builtAt === undefined) return 'dist/ is not built';
  for (const config of CONFIGS) if ((mtimeMs(join(ROOT, config)) ?? 0) > builtAt) return `${config} changed`;
  for (const source of filesUnder(SRC)) {
    if (!source.endsWith('.ts') || source.endsWith('.d.ts')) continue;
    const compiled = mtimeMs(join(DIST, relative(SRC, source)).replace(/\.ts$/, '.js'));
    if (compiled === undefined) return `${relative(ROOT, source)} is not compiled`;
    if (mtimeMs(source)! > compiled) return `${relative(ROOT, source)} changed`;
  }
  return null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take the build lock, waiting while another live run holds it. */
async function lock(): Promise<void> {
  mkdirSync(dirname(LOCK), { recursive: true });
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(readFileSync(LOCK, { encoding: 'utf8', flag: 'r' }).trim() || NaN);
    const age = Date.now() - (mtimeMs(LOCK) ?? Date.now());
    if (!Number.isInteger(holder) || !alive(holder) || age > LOCK_STALE_MS) {
      rmSync(LOCK, { force: true });
      continue;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function unlock(): void {
  try {
    if (readFileSync(LOCK, 'utf8').trim() === String(process.pid)) unlinkSync(LOCK);
  } catch {
    // already gone
  }
}

function build(reason: string): void {
  const started = new Date();
  const out = join(ROOT, `.dist-build-${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  process.stdout.write(`building dist/ for the e2e tests (${reason}) …\n`);
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out], { cwd: ROOT, encoding: 'utf8' });
    // exit 2: type errors, outputs written anyway; anything else but 0: nothing usable
    if (r.status !== 0 && !(r.status === 2 && existsSync(join(out, 'cli', 'main.js')))) {
      throw new Error(`tsc -p tsconfig.build.json failed (exit ${r.status ?? r.signal}):\n${r.stdout}${r.stderr}${r.error ?? ''}`);
    }
    if (r.status === 2) process.stdout.write(`warning: src/ has type errors (the tests run what tsc emitted):\n${r.stdout.split('\n').slice(0, 30).join('\n')}\n`);
    for (const file of filesUnder(out)) {
      const target = join(DIST, relative(out, file));
      mkdirSync(dirname(target), { recursive: true });
      renameSync(file, target);
      utimesSync(target, started, started);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  process.stdout.write(`built dist/ in ${((Date.now() - started.getTime()) / 1000).toFixed(1)} s\n`);
}

export default async function setup(): Promise<void> {
  if (staleReason() === null) return;
  await lock();
  try {
    // another run may have built it while this one waited
    const reason = staleReason();
    if (reason !== null) build(reason);
  } finally {
    unlock();
  }
}
