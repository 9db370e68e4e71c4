/**
 * Reading loose git objects without git: every answer is checked against what `git` itself says
 * about the same real bare repository (commit date and subject, tree entries, blob bytes), and a
 * packed repository (after `git gc`) still gets the same answers through the git fallback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { runGit } from '../../../src/hub/server/git.js';
import { RepoStore, lfsPointer } from '../../../src/hub/server/repo-store.js';
import { looseObjectHeader, parseCommit, parseTree, readLooseObject, streamLooseBlob } from '../../../src/hub/server/loose-objects.js';
import type { RepoRef } from '../../../src/hub/validate.js';

let root: string;
let store: RepoStore;
const repo: RepoRef = { name: 'alice/data', type: 'dataset' };
let sha: string;
const big = Buffer.alloc(300_000, 'abcdefghij\n'); // several inflate chunks when streamed
const lfsOid = 'a'.repeat(64);

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'flock-loose-'));
  store = new RepoStore(root);
  await store.init();
  await store.create(repo, 'alice');
  const ops = [
    { kind: 'blob' as const, path: 'data.jsonl', blobOid: await store.writeBlob(repo, '{"a":1}\n') },
    { kind: 'blob' as const, path: 'dir/sub/big.txt', blobOid: await store.writeBlob(repo, big) },
    { kind: 'blob' as const, path: 'weights.bin', blobOid: await store.writeBlob(repo, lfsPointer(lfsOid, 123456)) },
    { kind: 'blob' as const, path: 'empty.txt', blobOid: await store.writeBlob(repo, '') },
  ];
  sha = await store.commit(repo, 'main', ops, 'Add files\nsecond line of the subject\n\nbody text', 'alice');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const git = async (args: string[]) => (await runGit(store.gitDir(repo), root, args)).stdout;

describe('loose objects', () => {
  it('parses a commit as git formats %cI and %s', async () => {
    const obj = await readLooseObject(store.gitDir(repo), sha);
    expect(obj?.type).toBe('commit');
    const parsed = parseCommit(obj!.content)!;
    const [date, title, tree] = (await git(['log', '-1', '--format=%cI%n%s%n%T', sha])).toString().split('\n');
    expect(parsed).toEqual({ tree, date, title });
    expect(parsed.title).toBe('Add files second line of the subject');
  });

  it('formats dates with a non-UTC committer offset like git', () => {
    const commit = Buffer.from(`tree ${'b'.repeat(40)}\nauthor a <a@x> 1700000000 -0530\ncommitter c <c@x> 1700000000 -0530\n\nhello\n`);
    // 1700000000 is 2023-11-14T22:13:20Z
    expect(parseCommit(commit)).toEqual({ tree: 'b'.repeat(40), date: '2023-11-14T16:43:20-05:30', title: 'hello' });
  });

  it('parses trees and headers like ls-tree and cat-file', async () => {
    const tree = (await git(['rev-parse', `${sha}^{tree}`])).toString().trim();
    const entries = parseTree((await readLooseObject(store.gitDir(repo), tree))!.content);
    const lsTree = (await git(['ls-tree', tree])).toString().trim().split('\n').map((l) => {
      const [meta, name] = l.split('\t');
      const [mode, , oid] = meta!.split(' ');
      return { mode: mode === '040000' ? '40000' : mode, name, oid };
    });
    expect(entries).toEqual(lsTree);
    const bigOid = (await git(['rev-parse', `${sha}:dir/sub/big.txt`])).toString().trim();
    expect(await looseObjectHeader(store.gitDir(repo), bigOid)).toEqual({ type: 'blob', size: big.length });
  });

  it('streams blob bytes identical to git cat-file', async () => {
    for (const path of ['dir/sub/big.txt', 'data.jsonl', 'empty.txt']) {
      const oid = (await git(['rev-parse', `${sha}:${path}`])).toString().trim();
      const stream = streamLooseBlob(store.gitDir(repo), oid);
      expect(stream).not.toBeNull();
      expect((await buffer(stream!)).equals(await git(['cat-file', 'blob', oid]))).toBe(true);
    }
  });

  it('answers null for objects that are not loose', async () => {
    expect(await readLooseObject(store.gitDir(repo), 'f'.repeat(40))).toBeNull();
    expect(await looseObjectHeader(store.gitDir(repo), 'f'.repeat(40))).toBeNull();
    expect(streamLooseBlob(store.gitDir(repo), 'f'.repeat(40))).toBeNull();
    expect(await readLooseObject(store.gitDir(repo), '../../etc/passwd')).toBeNull();
  });
});

describe('RepoStore reads: loose and packed give the same answers', () => {
  const snapshot = async (s: RepoStore) => ({
    info: await s.commitInfo(repo, sha),
    data: await s.entry(repo, sha, 'data.jsonl'),
    dir: await s.entry(repo, sha, 'dir/sub'),
    big: await s.entry(repo, sha, 'dir/sub/big.txt'),
    lfs: await s.entry(repo, sha, 'weights.bin'),
    missing: await s.entry(repo, sha, 'dir/nope.txt'),
    underFile: await s.entry(repo, sha, 'data.jsonl/x'),
    root: await s.listTree(repo, sha, '', false),
    all: await s.listTree(repo, sha, '', true),
    dirFlat: await s.listTree(repo, sha, 'dir', false),
    dirDeep: await s.listTree(repo, sha, 'dir', true),
    subDeep: await s.listTree(repo, sha, 'dir/sub', true),
    subFlat: await s.listTree(repo, sha, 'dir/sub', false),
    bytes: (await buffer(s.readBlob(repo, (await s.entry(repo, sha, 'dir/sub/big.txt'))!.oid))).length,
  });

  it('matches git before and after the objects are packed', async () => {
    const loose = await snapshot(new RepoStore(root));
    expect(loose.lfs).toMatchObject({ type: 'file', size: 123456, lfs: { oid: lfsOid, size: 123456 } });
    expect(loose.dir).toMatchObject({ type: 'directory', path: 'dir/sub' });
    expect(loose.big).toMatchObject({ type: 'file', size: big.length });
    expect(loose.missing).toBeNull();
    expect(loose.underFile).toBeNull();
    expect(loose.bytes).toBe(big.length);
    expect(loose.all.map((e) => e.path)).toEqual(['.gitattributes', 'data.jsonl', 'dir', 'dir/sub', 'dir/sub/big.txt', 'empty.txt', 'weights.bin']);
    await git(['gc', '--quiet', '--prune=now']);
    expect(await readLooseObject(store.gitDir(repo), sha)).toBeNull(); // now packed: git answers
    expect(await snapshot(new RepoStore(root))).toEqual(loose);
  });
});
