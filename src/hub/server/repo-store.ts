/**
 * The local hub's repositories: one bare git repository per repo under
 * `DIR/repos/{datasets|models}/{namespace}/{name}.git`, so revisions are real commit SHAs,
 * history is kept, and everything survives a restart. Large files are stored in git as Git LFS
 * pointer files; their content lives in the LfsStore.
 */
import { mkdir, rename, rm, stat, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { runGit, spawnGit } from './git.js';
import { looseObjectHeader, parseCommit, parseTree, readLooseObject, streamLooseBlob } from './loose-objects.js';
import type { RepoRef } from '../validate.js';

/** A file in a bare repository marking it private (git ignores files it does not know). */
const PRIVATE_MARKER = 'flock-private';

export interface TreeEntry {
  type: 'file' | 'directory';
  path: string;
  /** git object id (blob or tree) */
  oid: string;
  /** bytes of the file's content (for LFS files: the LFS object's size) */
  size: number;
  lfs?: { oid: string; size: number; pointerSize: number };
}

/** One commit as a history listing shows it. */
export interface CommitSummary {
  sha: string;
  /** Committer date, ISO 8601 UTC. */
  date: string;
  author: string;
  /** The message's first line. */
  title: string;
  message: string;
}

export type CommitOperation =
  | { kind: 'blob'; path: string; blobOid: string }
  | { kind: 'delete'; path: string };

export class CommitConflictError extends Error {}
export class BranchNotFoundError extends Error {}
export class TreeUpdateError extends Error {}

const LFS_POINTER = /^version https:\/\/git-lfs\.github\.com\/spec\/v1\noid sha256:([0-9a-f]{64})\nsize (\d+)\n$/;
const MAX_POINTER_SIZE = 1024;
const EMPTY_OID = '0'.repeat(40);
const FULL_SHA = /^[0-9a-f]{40}$/;

/** The text of a Git LFS pointer file for an object. */
export function lfsPointer(oid: string, size: number): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${size}\n`;
}

const INITIAL_GITATTRIBUTES = [
  '*.bin filter=lfs diff=lfs merge=lfs -text',
  '*.safetensors filter=lfs diff=lfs merge=lfs -text',
  '*.pt filter=lfs diff=lfs merge=lfs -text',
  '*.parquet filter=lfs diff=lfs merge=lfs -text',
  '',
].join('\n');

const MEMO_LIMIT = 20_000;

export class RepoStore {
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Answers about a commit never change (a commit is immutable): remembered to spare git runs. */
  private readonly memo = new Map<string, unknown>();

  constructor(private readonly dir: string) {}

  private get home(): string {
    return this.dir;
  }

  gitDir(repo: RepoRef): string {
    const [namespace, name] = repo.name.split('/') as [string, string];
    return join(this.dir, 'repos', `${repo.type}s`, namespace, `${name}.git`);
  }

  async init(): Promise<void> {
    await mkdir(join(this.dir, 'repos', 'datasets'), { recursive: true });
    await mkdir(join(this.dir, 'repos', 'models'), { recursive: true });
    await mkdir(join(this.dir, 'tmp'), { recursive: true });
  }

  async exists(repo: RepoRef): Promise<boolean> {
    try {
      return (await stat(join(this.gitDir(repo), 'HEAD'))).isFile();
    } catch {
      return false;
    }
  }

  /**
   * Create the repository with a first commit holding `.gitattributes` (as the Hub does).
   * Built in a temporary folder and renamed into place, so a crash never leaves half a repo.
   * Returns false when it already exists.
   */
  async create(repo: RepoRef, author: string, options: { private?: boolean } = {}): Promise<boolean> {
    return this.withLock(repo, async () => {
      if (await this.exists(repo)) return false;
      const tmp = await mkdtemp(join(this.dir, 'tmp', 'create-'));
      try {
        await runGit(null, this.home, ['init', '--quiet', '--bare', '--template=', '--initial-branch=main', tmp]);
        if (options.private) await writeFile(join(tmp, PRIVATE_MARKER), '');
        const blob = (await runGit(tmp, this.home, ['hash-object', '-w', '--stdin'], { input: INITIAL_GITATTRIBUTES })).stdout.toString().trim();
        const tree = (await runGit(tmp, this.home, ['mktree'], { input: `100644 blob ${blob}\t.gitattributes\n` })).stdout.toString().trim();
        const commit = (await runGit(tmp, this.home, ['commit-tree', tree, '-F', '-'], { input: 'initial commit\n', env: identity(author) })).stdout.toString().trim();
        await runGit(tmp, this.home, ['update-ref', 'refs/heads/main', commit]);
        const target = this.gitDir(repo);
        await mkdir(join(target, '..'), { recursive: true });
        this.forget(repo);
        try {
          await rename(tmp, target);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (err as NodeJS.ErrnoException).code === 'EEXIST') return false;
          throw err;
        }
        return true;
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    });
  }

  /** Delete the repository (moved aside first, so readers never see half of it). */
  /** True when the repository is private (only its namespace's tokens may read it). */
  async isPrivate(repo: RepoRef): Promise<boolean> {
    try {
      await stat(join(this.gitDir(repo), PRIVATE_MARKER));
      return true;
    } catch {
      return false;
    }
  }

  /** Make the repository private or public; false when it does not exist. */
  async setPrivate(repo: RepoRef, value: boolean): Promise<boolean> {
    return this.withLock(repo, async () => {
      if (!(await this.exists(repo))) return false;
      const marker = join(this.gitDir(repo), PRIVATE_MARKER);
      if (value) await writeFile(marker, '');
      else await rm(marker, { force: true });
      return true;
    });
  }

  async delete(repo: RepoRef): Promise<boolean> {
    return this.withLock(repo, async () => {
      if (!(await this.exists(repo))) return false;
      const aside = join(this.dir, 'tmp', `deleted-${randomUUID()}`);
      await rename(this.gitDir(repo), aside);
      this.forget(repo);
      await rm(aside, { recursive: true, force: true });
      return true;
    });
  }

  /** Full commit SHA of a branch, tag, short or full SHA, or HEAD; null when it does not resolve. */
  async resolve(repo: RepoRef, revision: string): Promise<string | null> {
    return (await this.commitInfo(repo, revision))?.sha ?? null;
  }

  /** SHA, commit date (ISO 8601) and subject of the commit a revision names; null when none. */
  async commitInfo(repo: RepoRef, revision: string): Promise<{ sha: string; date: string; title: string } | null> {
    const key = this.key(repo, 'commit', revision);
    const known = this.memo.get(key) as { sha: string; date: string; title: string } | undefined;
    if (known) return known;
    if (FULL_SHA.test(revision)) {
      const loose = await this.looseCommit(repo, revision);
      if (loose) return this.remember(key, { sha: revision, date: loose.date, title: loose.title });
    }
    // Callers validate `revision` (no leading '-'); --end-of-options guards anyway.
    const r = await runGit(this.gitDir(repo), this.home,
      ['log', '-1', '--no-walk', '--format=%H%n%cI%n%s', '--end-of-options', `${revision}^{commit}`, '--'], { okCodes: [0, 128] });
    const [sha = '', date = '', title = ''] = r.stdout.toString().split('\n');
    if (r.code !== 0 || !/^[0-9a-f]{40}$/.test(sha)) return null;
    const info = { sha, date, title };
    if (revision === sha) this.remember(key, info);
    return info;
  }

  /**
   * Commits reachable from `sha`, newest first (`git log` order): `limit` of them after skipping
   * `skip`, and how many there are in all. History below a commit never changes, so answers are
   * remembered.
   */
  async listCommits(repo: RepoRef, sha: string, skip: number, limit: number): Promise<{ commits: CommitSummary[]; total: number }> {
    const totalKey = this.key(repo, 'count', sha);
    let total = this.memo.get(totalKey) as number | undefined;
    if (total === undefined) {
      const r = await runGit(this.gitDir(repo), this.home, ['rev-list', '--count', '--end-of-options', sha, '--']);
      total = this.remember(totalKey, Number(r.stdout.toString().trim()));
    }
    if (skip >= total || limit <= 0) return { commits: [], total };
    const pageKey = this.key(repo, `log:${skip}:${limit}`, sha);
    const known = this.memo.get(pageKey) as CommitSummary[] | undefined;
    if (known) return { commits: known, total };
    // records end in NUL (-z); a message cannot hold a NUL, and the first three lines are fixed
    const r = await runGit(this.gitDir(repo), this.home,
      ['log', '-z', `--skip=${skip}`, `--max-count=${limit}`, '--format=%H%n%cI%n%an%n%B', '--end-of-options', sha, '--']);
    const commits: CommitSummary[] = [];
    for (const record of r.stdout.toString('utf8').split('\0')) {
      if (!record) continue;
      const [id = '', date = '', author = '', ...body] = record.split('\n');
      if (!FULL_SHA.test(id)) continue;
      const message = body.join('\n').replace(/\n+$/, '');
      commits.push({ sha: id, date: new Date(date).toISOString(), author, title: message.split('\n')[0] ?? '', message });
    }
    return { commits: this.remember(pageKey, commits), total };
  }

  /**
   * Entries of the tree at `sha` under `dir` ('' for the root), recursive or not. LFS pointer
   * files are reported with their LFS object's size and id.
   */
  async listTree(repo: RepoRef, sha: string, dir: string, recursive: boolean): Promise<TreeEntry[]> {
    const key = this.key(repo, `tree:${recursive}`, sha, dir);
    const known = this.memo.get(key) as TreeEntry[] | undefined;
    if (known) return known;
    const loose = await this.looseTree(repo, sha, dir, recursive);
    if (loose) return this.remember(key, loose);
    const args = ['ls-tree', '-l', '-z'];
    if (recursive) args.push('-r', '-t');
    args.push(sha);
    if (dir) args.push('--', `${dir}/`);
    const r = await runGit(this.gitDir(repo), this.home, args);
    return this.remember(key, await this.withLfsInfo(repo, parseLsTree(r.stdout)));
  }

  /** The entry at exactly `path` in the tree at `sha`, or null. */
  async entry(repo: RepoRef, sha: string, path: string): Promise<TreeEntry | null> {
    const key = this.key(repo, 'entry', sha, path);
    if (this.memo.has(key)) return this.memo.get(key) as TreeEntry | null;
    const loose = await this.looseEntry(repo, sha, path);
    if (loose !== undefined) return this.remember(key, loose);
    const r = await runGit(this.gitDir(repo), this.home, ['ls-tree', '-l', '-z', sha, '--', path]);
    const found = parseLsTree(r.stdout).find((e) => e.path === path);
    return this.remember(key, found ? (await this.withLfsInfo(repo, [found]))[0]! : null);
  }

  /** Stream a blob's bytes (from its loose object file, else `git cat-file blob`). */
  readBlob(repo: RepoRef, oid: string): Readable {
    const loose = streamLooseBlob(this.gitDir(repo), oid);
    if (loose) return loose;
    const child = spawnGit(this.gitDir(repo), this.home, ['cat-file', 'blob', oid]);
    child.stdin.end();
    child.stderr.resume();
    return child.stdout;
  }

  /** Store bytes as a blob; returns its id. */
  async writeBlob(repo: RepoRef, content: Buffer | string): Promise<string> {
    const r = await runGit(this.gitDir(repo), this.home, ['hash-object', '-w', '--stdin'], { input: content });
    return r.stdout.toString().trim();
  }

  /**
   * Apply operations on top of `branch` as one commit, serialised per repository so concurrent
   * commits never lose each other's changes. `parentCommit`, when given, must be the branch head.
   */
  async commit(repo: RepoRef, branch: string, ops: CommitOperation[], message: string, author: string, parentCommit?: string): Promise<string> {
    return this.withLock(repo, async () => {
      const gitDir = this.gitDir(repo);
      const head = await this.resolve(repo, `refs/heads/${branch}`);
      if (!head) throw new BranchNotFoundError(`branch ${branch} does not exist`);
      if (parentCommit && parentCommit !== head) throw new CommitConflictError(`parent commit ${parentCommit} is not the head of ${branch} (${head})`);
      const tmpDir = await mkdtemp(join(this.dir, 'tmp', 'commit-'));
      const env = { ...identity(author), GIT_INDEX_FILE: join(tmpDir, 'index') };
      try {
        await runGit(gitDir, this.home, ['read-tree', head], { env });
        const lines = ops.map((op) => op.kind === 'blob'
          ? `100644 ${op.blobOid}\t${op.path}\0`
          : `0 ${EMPTY_OID}\t${op.path}\0`).join('');
        try {
          await runGit(gitDir, this.home, ['update-index', '-z', '--index-info'], { input: lines, env });
          const tree = (await runGit(gitDir, this.home, ['write-tree'], { env })).stdout.toString().trim();
          const msgFile = join(tmpDir, 'message');
          await writeFile(msgFile, message.endsWith('\n') ? message : `${message}\n`);
          const commit = (await runGit(gitDir, this.home, ['commit-tree', tree, '-p', head, '-F', msgFile], { env })).stdout.toString().trim();
          await runGit(gitDir, this.home, ['update-ref', `refs/heads/${branch}`, commit, head]);
          return commit;
        } catch (err) {
          throw new TreeUpdateError(`could not apply the commit: ${(err as Error).message}`);
        }
      } finally {
        await rm(tmpDir, { recursive: true, force: true });
      }
    });
  }

  /** A commit read from its loose object (no git process), or null to ask git. */
  private async looseCommit(repo: RepoRef, sha: string): Promise<ReturnType<typeof parseCommit>> {
    const obj = await readLooseObject(this.gitDir(repo), sha);
    return obj?.type === 'commit' ? parseCommit(obj.content) : null;
  }

  /**
   * The entry at `path` in commit `sha`, walking loose tree objects (no git process); null when
   * there is no such entry, undefined when some object is not loose (then git answers).
   */
  private async looseEntry(repo: RepoRef, sha: string, path: string): Promise<TreeEntry | null | undefined> {
    const gitDir = this.gitDir(repo);
    const commit = FULL_SHA.test(sha) ? await this.looseCommit(repo, sha) : null;
    if (!commit) return undefined;
    let treeOid = commit.tree;
    const parts = path.split('/');
    for (let i = 0; i < parts.length; i++) {
      const tree = await readLooseObject(gitDir, treeOid);
      if (tree?.type !== 'tree') return undefined;
      const hit = parseTree(tree.content).find((e) => e.name === parts[i]);
      if (!hit) return null;
      const last = i === parts.length - 1;
      if (hit.mode === '40000') {
        if (last) return { type: 'directory', path, oid: hit.oid, size: 0 };
        treeOid = hit.oid;
        continue;
      }
      if (!last) return null;
      if (hit.mode === '160000') return null; // a submodule: ls-tree reports no blob or tree
      return looseFileEntry(gitDir, path, hit.oid);
    }
    return undefined;
  }

  /** `listTree` from loose objects (same entries, same order as `git ls-tree -l [-r -t]`); undefined to ask git. */
  private async looseTree(repo: RepoRef, sha: string, dir: string, recursive: boolean): Promise<TreeEntry[] | undefined> {
    const gitDir = this.gitDir(repo);
    const commit = FULL_SHA.test(sha) ? await this.looseCommit(repo, sha) : null;
    if (!commit) return undefined;
    let treeOid = commit.tree;
    if (dir) {
      const e = await this.looseEntry(repo, sha, dir);
      if (e === undefined) return undefined;
      if (e === null || e.type !== 'directory') return [];
      treeOid = e.oid;
    }
    const out: TreeEntry[] = [];
    if (dir && recursive) {
      // `ls-tree -r -t -- a/b/` also shows the trees on the way: a, a/b
      const parts = dir.split('/');
      for (let i = 1; i <= parts.length; i++) {
        const e = await this.looseEntry(repo, sha, parts.slice(0, i).join('/'));
        if (!e) return undefined;
        out.push(e);
      }
    }
    const walk = async (oid: string, prefix: string): Promise<boolean> => {
      const tree = await readLooseObject(gitDir, oid);
      if (tree?.type !== 'tree') return false;
      for (const e of parseTree(tree.content)) {
        const path = prefix ? `${prefix}/${e.name}` : e.name;
        if (e.mode === '40000') {
          out.push({ type: 'directory', path, oid: e.oid, size: 0 });
          if (recursive && !(await walk(e.oid, path))) return false;
        } else if (e.mode !== '160000') {
          const file = await looseFileEntry(gitDir, path, e.oid);
          if (!file) return false;
          out.push(file);
        }
      }
      return true;
    };
    return (await walk(treeOid, dir)) ? out : undefined;
  }

  private async withLfsInfo(repo: RepoRef, entries: TreeEntry[]): Promise<TreeEntry[]> {
    const small = entries.filter((e) => e.type === 'file' && e.size <= MAX_POINTER_SIZE);
    if (small.length === 0) return entries;
    const r = await runGit(this.gitDir(repo), this.home, ['cat-file', '--batch'], { input: small.map((e) => `${e.oid}\n`).join('') });
    const out = r.stdout;
    let at = 0;
    for (const e of small) {
      const nl = out.indexOf(10, at);
      const header = out.subarray(at, nl).toString();
      const size = Number(header.split(' ')[2]);
      const content = out.subarray(nl + 1, nl + 1 + size).toString('latin1');
      at = nl + 1 + size + 1;
      const m = LFS_POINTER.exec(content);
      if (m) {
        e.lfs = { oid: m[1]!, size: Number(m[2]), pointerSize: size };
        e.size = Number(m[2]);
      }
    }
    return entries;
  }

  private key(repo: RepoRef, kind: string, sha: string, path = ''): string {
    return `${repo.type}/${repo.name}\0${kind}\0${sha}\0${path}`;
  }

  private remember<T>(key: string, value: T): T {
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(key, value);
    return value;
  }

  private forget(repo: RepoRef): void {
    const prefix = `${repo.type}/${repo.name}\0`;
    for (const k of this.memo.keys()) if (k.startsWith(prefix)) this.memo.delete(k);
  }

  private async withLock<T>(repo: RepoRef, fn: () => Promise<T>): Promise<T> {
    const key = `${repo.type}/${repo.name}`;
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }
}

function identity(author: string): Record<string, string> {
  const date = new Date().toISOString();
  return {
    GIT_AUTHOR_NAME: author, GIT_AUTHOR_EMAIL: `${author}@local-hub`, GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_NAME: 'flock-hub', GIT_COMMITTER_EMAIL: 'hub@local-hub', GIT_COMMITTER_DATE: date,
  };
}

/** A file's tree entry from its loose blob (size; LFS pointer read when small); undefined when not loose. */
async function looseFileEntry(gitDir: string, path: string, oid: string): Promise<TreeEntry | undefined> {
  const header = await looseObjectHeader(gitDir, oid);
  if (header?.type !== 'blob') return undefined;
  const entry: TreeEntry = { type: 'file', path, oid, size: header.size };
  if (header.size <= MAX_POINTER_SIZE) {
    const blob = await readLooseObject(gitDir, oid);
    if (!blob) return undefined;
    const m = LFS_POINTER.exec(blob.content.toString('latin1'));
    if (m) {
      entry.lfs = { oid: m[1]!, size: Number(m[2]), pointerSize: header.size };
      entry.size = Number(m[2]);
    }
  }
  return entry;
}

/** Parse `git ls-tree -l -z` output: `<mode> <type> <oid> <size>\t<path>\0`. */
function parseLsTree(out: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (const record of out.toString('utf8').split('\0')) {
    if (!record) continue;
    const tab = record.indexOf('\t');
    const [, type, oid, size] = record.slice(0, tab).split(/ +/);
    const path = record.slice(tab + 1);
    if (type === 'blob') entries.push({ type: 'file', path, oid: oid!, size: Number(size) });
    else if (type === 'tree') entries.push({ type: 'directory', path, oid: oid!, size: 0 });
  }
  return entries;
}
