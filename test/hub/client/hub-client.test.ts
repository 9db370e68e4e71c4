/**
 * HubClient ↔ local hub, end to end on loopback: real servers started in the test, real git
 * repositories, real cache folders. Failure modes (down, slow, failing, lying hubs) use small
 * real HTTP/TCP servers.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync, existsSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  DownloadCapExceededError, EntryNotFoundError, HubClient, HubTimeoutError, HubUnavailableError, IntegrityError,
  InvalidHubInputError, RepoNotFoundError, RevisionNotFoundError, UnauthorizedError, startHubServer, type HubServer,
} from '../../../src/hub/index.js';

const ALICE = 'tok-alice-0123456789';
const BOB = 'tok-bob-0123456789';

let root: string;
let hub: HubServer;
let alice: HubClient;

function client(extra: Partial<ConstructorParameters<typeof HubClient>[0]> = {}): HubClient {
  return new HubClient({ hubUrl: hub.url, token: ALICE, cacheDir: join(root, 'cache'), retryBaseMs: 20, timeoutMs: 120_000, ...extra });
}

async function listen(server: Server | TcpServer): Promise<string> {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address() as { port: number };
  return `http://127.0.0.1:${addr.port}`;
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'hub-client-'));
  hub = await startHubServer({ dir: join(root, 'hub'), tokens: [{ name: 'alice', token: ALICE }, { name: 'bob', token: BOB }], lfsThreshold: 4096 });
  alice = client();
  await alice.createRepo({ repo: 'alice/ds', type: 'dataset' });
});

afterEach(async () => {
  await hub.close();
  rmSync(root, { recursive: true, force: true });
});

describe('upload and download', () => {
  it('downloads the file as it was at an older commit after newer commits changed it', async () => {
    const v1 = await alice.uploadFiles({ repo: 'alice/ds', files: [{ path: 'data.jsonl', content: '{"v":1}\n' }] });
    const v2 = await alice.uploadFiles({ repo: 'alice/ds', files: [{ path: 'data.jsonl', content: '{"v":2}\n' }] });
    expect(v1).toMatch(/^[0-9a-f]{40}$/);
    expect(v2).toMatch(/^[0-9a-f]{40}$/);
    expect(v2).not.toBe(v1);
    const old = await alice.downloadFile({ repo: 'alice/ds', revision: v1, path: 'data.jsonl' });
    const now = await alice.downloadFile({ repo: 'alice/ds', revision: 'main', path: 'data.jsonl' });
    expect(readFileSync(old, 'utf8')).toBe('{"v":1}\n');
    expect(readFileSync(now, 'utf8')).toBe('{"v":2}\n');
  });

  it('stores downloads in the Hugging Face cache layout (snapshot links into blobs, refs)', async () => {
    const sha = await alice.uploadFiles({ repo: 'alice/ds', files: [{ path: 'sub/data.jsonl', content: 'x\n' }] });
    const local = await alice.downloadFile({ repo: 'alice/ds', revision: 'main', path: 'sub/data.jsonl' });
    const repoDir = join(root, 'cache', 'datasets--alice--ds');
    expect(local).toBe(join(repoDir, 'snapshots', sha, 'sub', 'data.jsonl'));
    expect(lstatSync(local).isSymbolicLink()).toBe(true);
    expect(readlinkSync(local)).toMatch(/^\.\.\/\.\.\/\.\.\/blobs\/[0-9a-f]{40}$/);
    expect(readFileSync(join(repoDir, 'refs', 'main'), 'utf8')).toBe(sha);
    expect(readdirSync(join(repoDir, 'blobs')).every((n) => !n.includes('incomplete'))).toBe(true);
  });

  it('uploads large files through LFS from disk (streamed) and verifies their sha256 on download', async () => {
    const big = join(root, 'big.bin');
    const bytes = Buffer.alloc(9 * 1024 * 1024); // above the client's streaming-upload threshold (8 MiB)
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
    writeFileSync(big, bytes);
    const sha = await alice.uploadFiles({ repo: 'alice/ds', files: [{ path: 'data.jsonl', file: big }] });
    const files = await alice.listFiles({ repo: 'alice/ds', revision: sha });
    const entry = files.find((f) => f.path === 'data.jsonl')!;
    expect(entry.size).toBe(bytes.length);
    expect(entry.lfs?.oid).toMatch(/^[0-9a-f]{64}$/);
    const local = await alice.downloadFile({ repo: 'alice/ds', revision: sha, path: 'data.jsonl' });
    expect(readFileSync(local).equals(bytes)).toBe(true);
    expect(readlinkSync(local).endsWith(entry.lfs!.oid)).toBe(true);
  });

  it('works with model repos', async () => {
    await alice.createRepo({ repo: 'alice/tiny-llama', type: 'model' });
    const sha = await alice.uploadFiles({ repo: 'alice/tiny-llama', type: 'model', files: [{ path: 'config.json', content: '{"hidden_size":8}' }] });
    expect(await alice.resolveRevision({ repo: 'alice/tiny-llama', type: 'model', revision: 'main' })).toBe(sha);
    const local = await alice.downloadFile({ repo: 'alice/tiny-llama', type: 'model', revision: sha, path: 'config.json' });
    expect(local).toContain(join('models--alice--tiny-llama', 'snapshots', sha));
    expect(JSON.parse(readFileSync(local, 'utf8'))).toEqual({ hidden_size: 8 });
  });

  it('downloads a whole snapshot (a model folder), within a total cap', async () => {
    await alice.createRepo({ repo: 'alice/model', type: 'model' });
    const sha = await alice.uploadFiles({ repo: 'alice/model', type: 'model', files: [
      { path: 'config.json', content: '{}' }, { path: 'tokenizer.json', content: '{"model":{}}' }, { path: 'README.md', content: 'hi' },
    ] });
    await expect(alice.downloadSnapshot({ repo: 'alice/model', type: 'model', revision: sha, maxTotalBytes: 10 })).rejects.toThrow(DownloadCapExceededError);
    const snap = await alice.downloadSnapshot({ repo: 'alice/model', type: 'model', revision: 'main', include: (p) => p.endsWith('.json') });
    expect(snap.sha).toBe(sha);
    expect(snap.files.sort()).toEqual(['config.json', 'tokenizer.json']);
    expect(readdirSync(snap.dir).sort()).toEqual(['config.json', 'tokenizer.json']);
    expect(readFileSync(join(snap.dir, 'tokenizer.json'), 'utf8')).toBe('{"model":{}}');
  });

  it('deletes files in a commit and lists files at each revision', async () => {
    const a = await alice.uploadFiles({ repo: 'alice/ds', files: [{ path: 'a.txt', content: 'a' }, { path: 'b.txt', content: 'b' }] });
    const b = await alice.uploadFiles({ repo: 'alice/ds', files: [{ path: 'c.txt', content: 'c' }], deletePaths: ['a.txt'] });
    const at = async (rev: string) => (await alice.listFiles({ repo: 'alice/ds', revision: rev })).map((f) => f.path).sort();
    expect(await at(a)).toEqual(['.gitattributes', 'a.txt', 'b.txt']);
    expect(await at(b)).toEqual(['.gitattributes', 'b.txt', 'c.txt']);
  });

  it('lands every one of many concurrent uploads to one repo', async () => {
    const shas = await Promise.all(Array.from({ length: 8 }, (_, i) =>
      client().uploadFiles({ repo: 'alice/ds', files: [{ path: `part-${i}.jsonl`, content: `{"i":${i}}\n` }] })));
    expect(new Set(shas).size).toBe(8);
    const files = (await alice.listFiles({ repo: 'alice/ds' })).map((f) => f.path);
    for (let i = 0; i < 8; i++) expect(files).toContain(`part-${i}.jsonl`);
    for (const sha of shas) expect(await alice.resolveRevision({ repo: 'alice/ds', revision: sha })).toBe(sha);
  });
});

describe('revisions', () => {
  it('resolves a branch, a short SHA and a full SHA to the full SHA', async () => {
    const sha = await alice.uploadFiles({ repo: 'alice/ds', files: [{ path: 'data.jsonl', content: 'x' }] });
    expect(await alice.resolveRevision({ repo: 'alice/ds', revision: 'main' })).toBe(sha);
    expect(await alice.resolveRevision({ repo: 'alice/ds', revision: sha.slice(0, 8) })).toBe(sha);
    expect(await alice.resolveRevision({ repo: 'alice/ds', revision: sha })).toBe(sha);
  });

  it('reports a revision that does not exist', async () => {
    await expect(alice.resolveRevision({ repo: 'alice/ds', revision: 'no-such-branch' })).rejects.toThrow(RevisionNotFoundError);
    await expect(alice.downloadFile({ repo: 'alice/ds', revision: 'f'.repeat(40), path: 'data.jsonl' })).rejects.toThrow(RevisionNotFoundError);
  });

  it('reports a missing file at a revision', async () => {
    await expect(alice.downloadFile({ repo: 'alice/ds', revision: 'main', path: 'nope.jsonl' })).rejects.toThrow(EntryNotFoundError);
  });

  it('reports a repo that never existed and one that was deleted', async () => {
    await expect(alice.resolveRevision({ repo: 'alice/never' })).rejects.toThrow(RepoNotFoundError);
    const sha = await alice.uploadFiles({ repo: 'alice/ds', files: [{ path: 'data.jsonl', content: 'x' }] });
    await alice.deleteRepo({ repo: 'alice/ds' });
    const fresh = client({ cacheDir: join(root, 'other-cache') });
    const err = await fresh.downloadFile({ repo: 'alice/ds', revision: sha, path: 'data.jsonl' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RepoNotFoundError);
    expect((err as Error).message).toContain('alice/ds');
  });
});

describe('commit history', () => {
  it('lists the commits of a revision newest first, as many as asked for', async () => {
    const first = (await alice.listCommits({ repo: 'alice/ds' }))[0]!;
    const shas: string[] = [];
    for (let i = 1; i <= 4; i++) shas.push(await alice.uploadFiles({ repo: 'alice/ds', files: [{ path: 'results.json', content: `{"round":${i}}` }], message: `round ${i}` }));
    const all = await alice.listCommits({ repo: 'alice/ds', type: 'dataset' });
    expect(all.map((c) => c.sha)).toEqual([...shas].reverse().concat(first.sha));
    expect(all.map((c) => c.title)).toEqual(['round 4', 'round 3', 'round 2', 'round 1', 'initial commit']);
    expect(all[0]).toMatchObject({ message: 'round 4', authors: ['alice'], date: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect((await alice.listCommits({ repo: 'alice/ds', limit: 2 })).map((c) => c.sha)).toEqual([shas[3], shas[2]]);
    expect((await alice.listCommits({ repo: 'alice/ds', revision: shas[1], limit: 10 })).map((c) => c.sha)).toEqual([shas[1], shas[0], first.sha]);
    // reads need no token
    const anonymous = client({ token: '' });
    expect(await anonymous.listCommits({ repo: 'alice/ds', limit: 1 })).toEqual([all[0]]);
  });

  it('reports a missing repo or revision, and refuses a bad limit or a hostile revision before any request', async () => {
    await expect(alice.listCommits({ repo: 'alice/never' })).rejects.toThrow(RepoNotFoundError);
    await expect(alice.listCommits({ repo: 'alice/ds', revision: 'no-such-branch' })).rejects.toThrow(RevisionNotFoundError);
    for (const limit of [0, -1, 1.5, 10_001]) await expect(alice.listCommits({ repo: 'alice/ds', limit }), String(limit)).rejects.toThrow(InvalidHubInputError);
    for (const revision of ['--upload-pack=x', 'a..b', 'main/']) await expect(alice.listCommits({ repo: 'alice/ds', revision }), revision).rejects.toThrow(InvalidHubInputError);
  });

  it('follows the hub\'s pages up to the limit and no further, and drops entries without a full SHA', async () => {
    const asked: string[] = [];
    const commit = (i: number) => ({ id: i === 2 ? '../x' : i.toString(16).padStart(40, '0'), title: `c${i}`, message: `c${i}`, authors: [{ user: 'v' }], date: new Date(Date.UTC(2025, 0, 1, 0, 0, 100 - i)).toISOString() });
    const paging = createHttpServer((req, res) => {
      asked.push(req.url!);
      const url = new URL(req.url!, 'http://x');
      const page = Number(url.searchParams.get('p') ?? 0);
      // pages of 3, whatever the client asks: the Link header says where the next one is
      const items = Array.from({ length: 3 }, (_, k) => commit(page * 3 + k + 1));
      res.writeHead(200, { 'Content-Type': 'application/json', Link: `<http://127.0.0.1:${(paging.address() as { port: number }).port}${url.pathname}?p=${page + 1}>; rel="next"` });
      res.end(JSON.stringify(items));
    });
    const url = await listen(paging);
    const c = new HubClient({ hubUrl: url, cacheDir: join(root, 'c'), retries: 0 });
    const listed = await c.listCommits({ repo: 'alice/ds', revision: 'refs/pr/1', limit: 7 });
    expect(listed.map((x) => x.title)).toEqual(['c1', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8']);
    expect(listed[0]).toEqual({ sha: '1'.padStart(40, '0'), title: 'c1', message: 'c1', authors: ['v'], date: '2025-01-01T00:01:39.000Z' });
    expect(asked).toEqual(['/api/datasets/alice/ds/commits/refs%2Fpr%2F1?limit=7', '/api/datasets/alice/ds/commits/refs%2Fpr%2F1?p=1', '/api/datasets/alice/ds/commits/refs%2Fpr%2F1?p=2']);
    await new Promise((ok) => paging.close(ok));
  });
});

describe('cache', () => {
  it('serves a file already in the cache without the network', async () => {
    const sha = await alice.uploadFiles({ repo: 'alice/ds', files: [{ path: 'data.jsonl', content: 'cached' }] });
    const first = await alice.downloadFile({ repo: 'alice/ds', revision: 'main', path: 'data.jsonl' });
    expect(first).toContain(sha);
    await hub.close();
    const offline = client({ retries: 0 });
    expect(await offline.downloadFile({ repo: 'alice/ds', revision: sha, path: 'data.jsonl' })).toBe(first);
    // a branch seen before resolves from the cache's refs/ when the hub is unreachable
    expect(await offline.downloadFile({ repo: 'alice/ds', revision: 'main', path: 'data.jsonl' })).toBe(first);
    await expect(offline.downloadFile({ repo: 'alice/ds', revision: 'main', path: 'other.jsonl' })).rejects.toThrow(HubUnavailableError);
    hub = await startHubServer({ dir: join(root, 'hub') }); // for afterEach
  });

  it('enforces the byte cap and keeps nothing', async () => {
    const sha = await alice.uploadFiles({ repo: 'alice/ds', files: [{ path: 'data.jsonl', content: 'x'.repeat(10_000) }] });
    const err = await alice.downloadFile({ repo: 'alice/ds', revision: sha, path: 'data.jsonl', maxBytes: 9_999 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadCapExceededError);
    expect((err as Error).message).toContain('9999-byte limit');
    expect(existsSync(join(root, 'cache', 'datasets--alice--ds', 'snapshots', sha, 'data.jsonl'))).toBe(false);
    const local = await alice.downloadFile({ repo: 'alice/ds', revision: sha, path: 'data.jsonl', maxBytes: 10_000 });
    expect(readFileSync(local).length).toBe(10_000);
    await expect(alice.downloadFile({ repo: 'alice/ds', revision: sha, path: 'data.jsonl', maxBytes: 10 })).rejects.toThrow(DownloadCapExceededError);
  });
});

describe('a hub that is down, slow, failing or lying', () => {
  it('survives a hub restart mid-run (retries until it is back)', async () => {
    const sha = await alice.uploadFiles({ repo: 'alice/ds', files: [{ path: 'data.jsonl', content: 'before' }] });
    const port = hub.port;
    await hub.close();
    const patient = client({ retries: 6, retryBaseMs: 100, cacheDir: join(root, 'cache2') });
    const pending = patient.downloadFile({ repo: 'alice/ds', revision: 'main', path: 'data.jsonl' });
    await new Promise((ok) => setTimeout(ok, 150));
    hub = await startHubServer({ dir: join(root, 'hub'), port, tokens: [{ name: 'alice', token: ALICE }] });
    expect(readFileSync(await pending, 'utf8')).toBe('before');
    // state survived the restart: same commit, and new commits build on it
    expect(await patient.resolveRevision({ repo: 'alice/ds' })).toBe(sha);
    const next = await patient.uploadFiles({ repo: 'alice/ds', files: [{ path: 'more.txt', content: 'after' }] });
    expect((await patient.listFiles({ repo: 'alice/ds', revision: next })).map((f) => f.path)).toContain('data.jsonl');
  });

  it('gives up on a stopped hub after bounded retries with a clear error', async () => {
    const url = hub.url;
    await hub.close();
    const c = new HubClient({ hubUrl: url, cacheDir: join(root, 'c'), retries: 2, retryBaseMs: 10 });
    const err = await c.resolveRevision({ repo: 'alice/ds' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubUnavailableError);
    expect((err as Error).message).toMatch(/ECONNREFUSED.*after 3 attempts/);
    hub = await startHubServer({ dir: join(root, 'hub') });
  });

  it('times out on a hub that accepts connections but never answers', async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((s) => { sockets.push(s); });
    const url = await listen(silent);
    const c = new HubClient({ hubUrl: url, cacheDir: join(root, 'c'), timeoutMs: 200, retries: 1, retryBaseMs: 10 });
    const err = await c.resolveRevision({ repo: 'alice/ds' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubTimeoutError);
    // two attempts (undici may open one spare connection); bounded either way
    expect(sockets.length).toBeGreaterThanOrEqual(2);
    expect(sockets.length).toBeLessThanOrEqual(4);
    sockets.forEach((s) => s.destroy());
    await new Promise((ok) => silent.close(ok));
  });

  it('retries 5xx a bounded number of times, and never retries 404 or 401', async () => {
    let hits = 0;
    let status = 503;
    const failing = createHttpServer((req, res) => {
      hits++;
      res.writeHead(status, { 'Content-Type': 'application/json', ...(status === 404 ? { 'X-Error-Code': 'RepoNotFound' } : {}) });
      res.end('{"error":"nope"}');
    });
    const url = await listen(failing);
    const c = new HubClient({ hubUrl: url, cacheDir: join(root, 'c'), retries: 3, retryBaseMs: 5 });
    await expect(c.resolveRevision({ repo: 'alice/ds' })).rejects.toThrow(HubUnavailableError);
    expect(hits).toBe(4);
    hits = 0;
    status = 404;
    await expect(c.resolveRevision({ repo: 'alice/ds' })).rejects.toThrow(RepoNotFoundError);
    expect(hits).toBe(1);
    hits = 0;
    status = 401;
    await expect(c.resolveRevision({ repo: 'alice/ds' })).rejects.toThrow(UnauthorizedError);
    expect(hits).toBe(1);
    await new Promise((ok) => failing.close(ok));
  });

  it('retries a download whose connection drops mid-file, keeping no partial file', async () => {
    const content = Buffer.alloc(300_000, 5);
    const etag = createHash('sha256').update(content).digest('hex');
    let fullGets = 0;
    const flaky = createHttpServer((req, res) => {
      if (req.headers.range) {
        res.writeHead(206, { 'Content-Range': `bytes 0-0/${content.length}`, ETag: `"${etag}"`, 'Content-Length': '1' });
        res.end(content.subarray(0, 1));
        return;
      }
      fullGets++;
      res.writeHead(200, { 'Content-Length': String(content.length) });
      if (fullGets === 1) {
        res.write(content.subarray(0, 100_000));
        setTimeout(() => res.destroy(), 20); // connection drops mid-file
      } else {
        res.end(content);
      }
    });
    const url = await listen(flaky);
    const c = new HubClient({ hubUrl: url, cacheDir: join(root, 'flaky-cache'), retries: 2, retryBaseMs: 10 });
    const local = await c.downloadFile({ repo: 'alice/ds', revision: 'a'.repeat(40), path: 'data.jsonl' });
    expect(readFileSync(local).equals(content)).toBe(true);
    expect(fullGets).toBe(2);
    expect(readdirSync(join(root, 'flaky-cache', 'datasets--alice--ds', 'blobs'))).toEqual([etag]);
    await new Promise((ok) => flaky.close(ok));
  });

  it('refuses bytes beyond the announced size or the cap from a lying hub, keeping nothing', async () => {
    const sha = 'a'.repeat(40);
    const liar = createHttpServer((req, res) => {
      if (req.headers.range) {
        res.writeHead(206, { 'Content-Range': 'bytes 0-0/10', ETag: `"${'b'.repeat(64)}"`, 'Content-Length': '1' });
        res.end('x');
      } else {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        res.end(Buffer.alloc(100_000, 1));
      }
    });
    const url = await listen(liar);
    const c = new HubClient({ hubUrl: url, cacheDir: join(root, 'liar-cache'), retries: 0 });
    const over = await c.downloadFile({ repo: 'alice/ds', revision: sha, path: 'data.jsonl', maxBytes: 1000 }).catch((e: unknown) => e);
    expect(over).toBeInstanceOf(IntegrityError);
    expect(over).toMatchObject({ path: 'data.jsonl', expected: '10 bytes', served: 'more than 10 bytes' });
    await expect(c.downloadFile({ repo: 'alice/ds', revision: sha, path: 'data.jsonl', maxBytes: 5 })).rejects.toThrow(DownloadCapExceededError);
    const blobs = join(root, 'liar-cache', 'datasets--alice--ds', 'blobs');
    expect(existsSync(blobs) ? readdirSync(blobs) : []).toEqual([]);
    expect(existsSync(join(root, 'liar-cache', 'datasets--alice--ds', 'snapshots'))).toBe(false);
    await new Promise((ok) => liar.close(ok));
  });
});

describe('content that does not match the commit', () => {
  it('is discarded with the file, the hash the hub announced and the hash of what it sent', async () => {
    const sha = 'c'.repeat(40);
    const announced = createHash('sha256').update('{"a":1}\n').digest('hex');
    const sent = '{"a":2}\n';
    const changed = createHttpServer((req, res) => {
      if (req.headers.range) {
        res.writeHead(206, { 'Content-Range': `bytes 0-0/${sent.length}`, ETag: `"${announced}"`, 'Content-Length': '1' });
        res.end('{');
      } else {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        res.end(sent);
      }
    });
    const url = await listen(changed);
    const c = new HubClient({ hubUrl: url, cacheDir: join(root, 'changed-cache'), retries: 0 });
    const err = await c.downloadFile({ repo: 'alice/ds', revision: sha, path: 'data.jsonl' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err).toMatchObject({ path: 'data.jsonl', expected: `sha256:${announced}`, served: `sha256:${createHash('sha256').update(sent).digest('hex')}` });
    expect(existsSync(join(root, 'changed-cache', 'datasets--alice--ds', 'snapshots'))).toBe(false);
    await new Promise((ok) => changed.close(ok));
  });
});

describe('auth', () => {
  it('refuses writes without a token, with an unknown token, or to another namespace — without leaking tokens', async () => {
    await expect(client({ token: undefined }).uploadFiles({ repo: 'alice/ds', files: [{ path: 'a', content: 'a' }] })).rejects.toThrow(UnauthorizedError);
    const wrong = await client({ token: 'tok-not-registered-999' }).uploadFiles({ repo: 'alice/ds', files: [{ path: 'a', content: 'a' }] }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(UnauthorizedError);
    expect(String((wrong as Error).message)).not.toContain('tok-not-registered-999');
    const bob = client({ token: BOB });
    const err = await bob.uploadFiles({ repo: 'alice/ds', files: [{ path: 'a', content: 'a' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as Error).message).toContain('403');
    expect((err as Error).message).not.toContain(BOB);
    await expect(bob.createRepo({ repo: 'alice/other' })).rejects.toThrow(UnauthorizedError);
    await bob.createRepo({ repo: 'bob/ds' });
    // reads are public
    expect(await client({ token: undefined }).resolveRevision({ repo: 'bob/ds' })).toMatch(/^[0-9a-f]{40}$/);
  });

  it('treats an existing repo as an error unless existOk', async () => {
    await expect(alice.createRepo({ repo: 'alice/ds' })).rejects.toThrow(/already/);
    await expect(alice.createRepo({ repo: 'alice/ds', existOk: true })).resolves.toHaveProperty('url');
  });
});

describe('hostile input on the client side', () => {
  const badPaths = ['../x', 'a/../../x', '/etc/passwd', 'a\0b', 'x'.repeat(2000), 'a//b', './a', '.git/config', 'a\\b', 'a|b', 'C:/x', ''];
  it('refuses hostile file paths before any request', async () => {
    for (const path of badPaths) {
      await expect(alice.downloadFile({ repo: 'alice/ds', revision: 'main', path }), JSON.stringify(path)).rejects.toThrow(InvalidHubInputError);
      await expect(alice.uploadFiles({ repo: 'alice/ds', files: [{ path, content: 'x' }] }), JSON.stringify(path)).rejects.toThrow(InvalidHubInputError);
    }
  });

  const badRepos = ['../x', 'a/b/c', 'a', 'a--b/c', 'a/..', '-a/b', 'a/b.git', `a/${'n'.repeat(97)}`, 'a/b c', 'a/b\0'];
  it('refuses hostile repo ids', async () => {
    for (const repo of badRepos) await expect(alice.resolveRevision({ repo }), JSON.stringify(repo)).rejects.toThrow(InvalidHubInputError);
  });

  it('refuses hostile revisions', async () => {
    for (const revision of ['--upload-pack=x', 'a..b', 'main/', 'x'.repeat(300), 'a b']) {
      await expect(alice.resolveRevision({ repo: 'alice/ds', revision }), revision).rejects.toThrow(InvalidHubInputError);
    }
  });

  it('drops hostile paths a hub lists', async () => {
    const evil = createHttpServer((req, res) => {
      if (req.url!.includes('/revision/')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ sha: 'c'.repeat(40) }));
      } else {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify([{ type: 'file', path: '../../etc/passwd', size: 1, oid: 'd'.repeat(40) }, { type: 'file', path: 'ok.jsonl', size: 1, oid: 'e'.repeat(40) }]));
      }
    });
    const url = await listen(evil);
    const c = new HubClient({ hubUrl: url, cacheDir: join(root, 'c'), retries: 0 });
    expect((await c.listFiles({ repo: 'alice/ds' })).map((f) => f.path)).toEqual(['ok.jsonl']);
    await new Promise((ok) => evil.close(ok));
  });
});
