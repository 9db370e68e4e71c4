/**
 * The local hub seen from raw HTTP (paths exactly as sent, never normalised by a client): hostile
 * names are refused with 400 and touch nothing outside the data folder; auth, LFS uploads, ranges,
 * and state across restarts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHubServer, type HubServer } from '../../../src/hub/index.js';

const TOKEN = 'tok-alice-0123456789';
/** Alice's second token, in the form @huggingface/hub insists on. */
const HF_TOKEN = 'hf_alice_0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}` };

let root: string;
let hub: HubServer;

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

function raw(method: string, path: string, options: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  const { port } = new URL(hub.url);
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end(options.body);
  });
}

const json = (r: Reply) => JSON.parse(r.body.toString()) as Record<string, unknown>;

async function createRepo(name: string, type = 'dataset'): Promise<Reply> {
  return raw('POST', '/api/repos/create', { headers: { ...AUTH, 'Content-Type': 'application/json' }, body: JSON.stringify({ name, organization: 'alice', type }) });
}

async function commit(repo: string, lines: unknown[], headers: Record<string, string> = AUTH): Promise<Reply> {
  return raw('POST', `/api/datasets/${repo}/commit/main`, {
    headers: { ...headers, 'Content-Type': 'application/x-ndjson' },
    body: [{ key: 'header', value: { summary: 'test' } }, ...lines].map((l) => JSON.stringify(l)).join('\n'),
  });
}

const file = (path: string, text: string) => ({ key: 'file', value: { path, content: Buffer.from(text).toString('base64'), encoding: 'base64' } });

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'hub-server-'));
  hub = await startHubServer({ dir: join(root, 'data'), tokens: [{ name: 'alice', token: TOKEN }, { name: 'alice', token: HF_TOKEN }] });
  expect((await createRepo('ds')).status).toBe(200);
});

afterEach(async () => {
  await hub.close();
  rmSync(root, { recursive: true, force: true });
});

describe('hostile names', () => {
  const badDownloads = [
    '/datasets/alice/ds/resolve/main/../../../../etc/passwd',
    '/datasets/alice/ds/resolve/main/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/datasets/alice/ds/resolve/main/%2Fetc%2Fpasswd',
    '/datasets/alice/ds/resolve/main/a%00b',
    '/datasets/alice/ds/resolve/main/a%5Cb',
    `/datasets/alice/ds/resolve/main/${'x'.repeat(1100)}`,
    '/datasets/alice/ds/resolve/main/.git/config',
    '/datasets/alice/ds/resolve/main/a%0Ab',
    '/datasets/alice/ds/resolve/--output=%2Ftmp%2Fx/data.jsonl',
    '/datasets/alice/ds/resolve/main..x/data.jsonl',
    '/datasets/alice/..%2F..%2Fx/resolve/main/data.jsonl',
    '/datasets/..%2Fx/ds/resolve/main/data.jsonl',
    '/datasets/alice/ds%00/resolve/main/data.jsonl',
    '/datasets/alice/d$s/resolve/main/data.jsonl',
    `/datasets/alice/${'n'.repeat(97)}/resolve/main/data.jsonl`,
    '/api/datasets/alice/..%2F..%2Fetc/revision/main',
    '/api/datasets/alice/ds/tree/main/..%2F..',
    '/datasets/alice/ds/resolve/main/%E0%A4%A',
  ];
  it('refuses hostile paths, repo ids and revisions with 400', async () => {
    for (const path of badDownloads) {
      const r = await raw('GET', path);
      expect(r.status, path).toBe(400);
    }
  });

  it('refuses hostile paths in commits and pre-uploads, writing nothing outside the data folder', async () => {
    for (const path of ['../evil.txt', '/abs.txt', 'a/../../evil.txt', 'nul\0.txt', '.git/hooks/post-update', 'x'.repeat(1100)]) {
      expect((await commit('alice/ds', [file(path, 'evil')])).status, path).toBe(400);
      const pre = await raw('POST', '/api/datasets/alice/ds/preupload/main', {
        headers: { ...AUTH, 'Content-Type': 'application/json' }, body: JSON.stringify({ files: [{ path, size: 4, sample: '' }] }),
      });
      expect(pre.status, path).toBe(400);
    }
    const bad = await raw('POST', '/api/repos/create', { headers: { ...AUTH, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: '../../x', organization: 'alice', type: 'dataset' }) });
    expect(bad.status).toBe(400);
    expect(readdirSync(root)).toEqual(['data']);
    expect(existsSync(join(root, 'evil.txt'))).toBe(false);
    // the repo still has only its first commit's file
    const tree = await raw('GET', '/api/datasets/alice/ds/tree/main?recursive=true');
    expect((JSON.parse(tree.body.toString()) as { path: string }[]).map((e) => e.path)).toEqual(['.gitattributes']);
  });

  it('refuses malformed bodies', async () => {
    expect((await raw('POST', '/api/repos/create', { headers: AUTH, body: '{nope' })).status).toBe(400);
    expect((await commit('alice/ds', [{ key: 'rename', value: {} }])).status).toBe(400);
  });
});

describe('auth', () => {
  it('needs a token owning the namespace for writes; reads are public', async () => {
    expect((await commit('alice/ds', [file('a.txt', 'a')], {})).status).toBe(401);
    expect((await commit('alice/ds', [file('a.txt', 'a')], { Authorization: 'Bearer tok-wrong-0123456789' })).status).toBe(401);
    const other = await raw('POST', '/api/repos/create', { headers: { ...AUTH, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'x', organization: 'bob', type: 'dataset' }) });
    expect(other.status).toBe(403);
    expect(other.body.toString()).not.toContain(TOKEN);
    expect((await raw('GET', '/api/datasets/alice/ds/revision/main')).status).toBe(200);
  });
});

describe('repos, commits and downloads', () => {
  it('answers repo info, tree, paths-info and ranged downloads with the Hub\'s headers', async () => {
    const c = await commit('alice/ds', [file('dir/data.jsonl', '0123456789')]);
    expect(c.status).toBe(200);
    const sha = json(c).commitOid as string;
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(json(await raw('GET', '/api/datasets/alice/ds/revision/main')).sha).toBe(sha);
    expect(json(await raw('GET', `/api/datasets/alice/ds/revision/${sha.slice(0, 7)}`)).sha).toBe(sha);
    const tree = JSON.parse((await raw('GET', `/api/datasets/alice/ds/tree/${sha}/dir`)).body.toString()) as { path: string; size: number }[];
    expect(tree).toEqual([expect.objectContaining({ path: 'dir/data.jsonl', size: 10, type: 'file' })]);
    const info = await raw('POST', `/api/datasets/alice/ds/paths-info/${sha}`, { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ paths: ['dir/data.jsonl', 'missing'] }) });
    expect(JSON.parse(info.body.toString())).toHaveLength(1);
    const part = await raw('GET', `/datasets/alice/ds/resolve/${sha}/dir/data.jsonl`, { headers: { Range: 'bytes=2-4' } });
    expect(part.status).toBe(206);
    expect(part.body.toString()).toBe('234');
    expect(part.headers['content-range']).toBe('bytes 2-4/10');
    expect(part.headers['x-repo-commit']).toBe(sha);
    const blobSha1 = createHash('sha1').update('blob 10\0').update('0123456789').digest('hex');
    expect(part.headers.etag).toBe(`"${blobSha1}"`);
    const head = await raw('HEAD', `/datasets/alice/ds/resolve/main/dir/data.jsonl`);
    expect(head.headers['content-length']).toBe('10');
    expect((await raw('GET', '/datasets/alice/ds/resolve/main/dir/data.jsonl', { headers: { Range: 'bytes=50-60' } })).status).toBe(416);
    const missing = await raw('GET', '/datasets/alice/ds/resolve/main/nope');
    expect([missing.status, missing.headers['x-error-code']]).toEqual([404, 'EntryNotFound']);
    const norev = await raw('GET', '/datasets/alice/ds/resolve/nope/dir/data.jsonl');
    expect([norev.status, norev.headers['x-error-code']]).toEqual([404, 'RevisionNotFound']);
    const norepo = await raw('GET', '/datasets/alice/zz/resolve/main/dir/data.jsonl');
    expect([norepo.status, norepo.headers['x-error-code']]).toEqual([404, 'RepoNotFound']);
  });

  it('refuses a commit whose parent is not the branch head', async () => {
    const first = json(await commit('alice/ds', [file('a.txt', 'a')])).commitOid as string;
    await commit('alice/ds', [file('b.txt', 'b')]);
    const stale = await raw('POST', '/api/datasets/alice/ds/commit/main', {
      headers: { ...AUTH, 'Content-Type': 'application/x-ndjson' },
      body: [{ key: 'header', value: { summary: 's', parentCommit: first } }, file('c.txt', 'c')].map((l) => JSON.stringify(l)).join('\n'),
    });
    expect(stale.status).toBe(412);
  });

  it('keeps repos, history and LFS objects across a restart', async () => {
    const content = Buffer.alloc(5000, 9);
    const oid = createHash('sha256').update(content).digest('hex');
    const batch = await raw('POST', '/datasets/alice/ds.git/info/lfs/objects/batch', {
      headers: { ...AUTH, 'Content-Type': 'application/vnd.git-lfs+json' },
      body: JSON.stringify({ operation: 'upload', transfers: ['basic'], objects: [{ oid, size: content.length }] }),
    });
    const href = new URL((json(batch).objects as { actions: { upload: { href: string } } }[])[0]!.actions.upload.href);
    expect((await raw('PUT', href.pathname + href.search, { body: content })).status).toBe(200);
    const sha = json(await commit('alice/ds', [{ key: 'lfsFile', value: { path: 'w.bin', algo: 'sha256', oid, size: content.length } }])).commitOid as string;
    const port = hub.port;
    await hub.close();
    hub = await startHubServer({ dir: join(root, 'data'), port, tokens: [{ name: 'alice', token: TOKEN }] });
    expect(json(await raw('GET', '/api/datasets/alice/ds/revision/main')).sha).toBe(sha);
    const got = await raw('GET', `/datasets/alice/ds/resolve/${sha}/w.bin`);
    expect(got.body.equals(content)).toBe(true);
    expect(got.headers['x-linked-size']).toBe('5000');
  });
});

describe('commit history', () => {
  /** Three commits after the repo's first: their SHAs, oldest first, after the initial commit's. */
  async function history(): Promise<string[]> {
    const initial = json(await raw('GET', '/api/datasets/alice/ds/revision/main')).sha as string;
    const shas = [initial];
    for (const [i, summary] of ['round 1', 'round 2', 'round 3'].entries()) {
      const r = await raw('POST', '/api/datasets/alice/ds/commit/main', {
        headers: { ...AUTH, 'Content-Type': 'application/x-ndjson' },
        body: [{ key: 'header', value: { summary, description: `details of ${summary}` } }, file('results.json', `{"round":${i + 1}}`)].map((l) => JSON.stringify(l)).join('\n'),
      });
      shas.push(json(r).commitOid as string);
    }
    return shas;
  }

  it('lists a revision\'s commits newest first to the unmodified @huggingface/hub client, page after page', async () => {
    const { listCommits, countCommits } = await import('@huggingface/hub');
    const shas = await history();
    const listed = [];
    // two per page: the client follows the Link header to the end
    for await (const c of listCommits({ repo: { type: 'dataset', name: 'alice/ds' }, hubUrl: hub.url, batchSize: 2 })) listed.push(c);
    expect(listed.map((c) => c.oid)).toEqual([...shas].reverse());
    expect(listed.map((c) => c.title)).toEqual(['round 3', 'round 2', 'round 1', 'initial commit']);
    expect(listed[0]!.message).toBe('round 3\n\ndetails of round 3');
    expect(listed[0]!.authors.map((a) => a.username)).toEqual(['alice']);
    for (const c of listed) expect(Math.abs(c.date.getTime() - Date.now())).toBeLessThan(120_000);
    expect(listed.map((c) => c.date.getTime())).toEqual([...listed.map((c) => c.date.getTime())].sort((a, b) => b - a));
    expect(await countCommits({ repo: { type: 'dataset', name: 'alice/ds' }, hubUrl: hub.url })).toBe(4);
    // from an older commit: only what was before it
    const older = [];
    for await (const c of listCommits({ repo: { type: 'dataset', name: 'alice/ds' }, revision: shas[1]!, hubUrl: hub.url })) older.push(c.oid);
    expect(older).toEqual([shas[1], shas[0]]);
  });

  it('pages with p and limit as the Hub does, the next page pinned to the resolved commit', async () => {
    const shas = await history();
    const first = await raw('GET', '/api/datasets/alice/ds/commits/main?limit=3');
    expect((JSON.parse(first.body.toString()) as { id: string }[]).map((c) => c.id)).toEqual([shas[3], shas[2], shas[1]]);
    expect(first.headers['x-total-count']).toBe('4');
    expect(first.headers.link).toBe(`<${hub.url}/api/datasets/alice/ds/commits/${shas[3]}?p=1&limit=3>; rel="next"`);
    const last = await raw('GET', '/api/datasets/alice/ds/commits/main?p=1&limit=3');
    expect((JSON.parse(last.body.toString()) as { id: string }[]).map((c) => c.id)).toEqual([shas[0]]);
    expect(last.headers.link).toBeUndefined();
    const beyond = await raw('GET', '/api/datasets/alice/ds/commits/main?p=7&limit=3');
    expect([beyond.status, beyond.body.toString()]).toEqual([200, '[]']);
    const all = JSON.parse((await raw('GET', '/api/datasets/alice/ds/commits/main')).body.toString()) as unknown[];
    expect(all).toHaveLength(4);
    expect(all[0]).toEqual({ id: shas[3], title: 'round 3', message: 'round 3\n\ndetails of round 3', authors: [{ user: 'alice' }], date: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/) });
  });

  it('refuses bad pages and hostile revisions, and answers the Hub\'s 404s', async () => {
    for (const q of ['limit=0', 'limit=1001', 'p=-1', 'p=abc', 'limit=1e2', 'p=99999999999']) {
      expect((await raw('GET', `/api/datasets/alice/ds/commits/main?${q}`)).status, q).toBe(400);
    }
    for (const rev of ['..%2F..%2Fetc', '--output=%2Ftmp%2Fx', 'main..x', 'a%00b', '%2Fetc']) {
      expect((await raw('GET', `/api/datasets/alice/ds/commits/${rev}`)).status, rev).toBe(400);
    }
    const norev = await raw('GET', '/api/datasets/alice/ds/commits/nope');
    expect([norev.status, norev.headers['x-error-code']]).toEqual([404, 'RevisionNotFound']);
    const norepo = await raw('GET', '/api/datasets/alice/zz/commits/main');
    expect([norepo.status, norepo.headers['x-error-code']]).toEqual([404, 'RepoNotFound']);
    expect((await raw('GET', '/api/models/alice/ds/commits/main')).status).toBe(404); // a dataset, not a model
  });
});

describe('LFS uploads', () => {
  it('rejects forged upload URLs, wrong content and commits of objects never uploaded', async () => {
    const content = Buffer.from('large file content');
    const oid = createHash('sha256').update(content).digest('hex');
    const forged = await raw('PUT', `/lfs-upload/${oid}?size=${content.length}&exp=9999999999&sig=${'0'.repeat(64)}`, { body: content });
    expect(forged.status).toBe(403);
    const batch = await raw('POST', '/datasets/alice/ds.git/info/lfs/objects/batch', {
      headers: { ...AUTH, 'Content-Type': 'application/vnd.git-lfs+json' },
      body: JSON.stringify({ operation: 'upload', objects: [{ oid, size: content.length }] }),
    });
    const href = new URL((json(batch).objects as { actions: { upload: { href: string } } }[])[0]!.actions.upload.href);
    const wrong = await raw('PUT', href.pathname + href.search, { body: Buffer.from('other content here') });
    expect(wrong.status).toBe(400);
    const missing = await commit('alice/ds', [{ key: 'lfsFile', value: { path: 'big.bin', algo: 'sha256', oid, size: content.length } }]);
    expect(missing.status).toBe(422);
    expect((await raw('POST', '/datasets/alice/ds.git/info/lfs/objects/batch', { body: '{"operation":"upload","objects":[]}' })).status).toBe(401);
  });
});

describe('private repositories', () => {
  it('a private repo reads as missing to anyone but its namespace, and visibility changes take effect at once', async () => {
    const { createRepo: hfCreateRepo, datasetInfo, downloadFile, HubApiError } = await import('@huggingface/hub');
    const { HubClient, RepoNotFoundError } = await import('../../../src/hub/index.js');
    const owner = { accessToken: HF_TOKEN as `hf_${string}` };
    // created private with the unmodified client, as huggingface.co is asked
    await hfCreateRepo({ repo: { type: 'dataset', name: 'alice/secret' }, private: true, hubUrl: hub.url, credentials: owner });
    expect((await commit('alice/secret', [file('data.jsonl', '{"a":1}\n')])).status).toBe(200);

    const info = (credentials?: { accessToken: `hf_${string}` }) => datasetInfo({ name: 'alice/secret', hubUrl: hub.url, credentials });
    const read = async (credentials?: { accessToken: `hf_${string}` }) => (await downloadFile({ repo: { type: 'dataset', name: 'alice/secret' }, path: 'data.jsonl', hubUrl: hub.url, credentials }))?.text();
    expect(await info(owner)).toMatchObject({ private: true });
    expect(await read(owner)).toBe('{"a":1}\n');
    expect((await raw('GET', '/api/datasets/alice/secret/commits/main', { headers: AUTH })).status).toBe(200);
    const status = async (p: Promise<unknown>) => p.then(() => 200, (e: unknown) => (e instanceof HubApiError ? e.statusCode : -1));
    expect(await status(info())).toBe(404);
    expect(await status(read())).toBe(404);
    for (const path of ['/datasets/alice/secret/resolve/main/data.jsonl', '/api/datasets/alice/secret/tree/main', '/api/datasets/alice/secret/revision/main', '/api/datasets/alice/secret/commits/main']) {
      expect((await raw('GET', path)).status, path).toBe(404);
    }

    // our client: the owner makes it public; everyone reads it; private again hides it again
    const client = new HubClient({ hubUrl: hub.url, token: TOKEN, cacheDir: join(root, 'c1'), retries: 0 });
    const anonymous = new HubClient({ hubUrl: hub.url, token: '', cacheDir: join(root, 'c2'), retries: 0 });
    expect(await client.isPrivate({ repo: 'alice/secret', type: 'dataset' })).toBe(true);
    await expect(anonymous.resolveRevision({ repo: 'alice/secret', type: 'dataset' })).rejects.toBeInstanceOf(RepoNotFoundError);
    await client.setVisibility({ repo: 'alice/secret', type: 'dataset', private: false });
    expect(await read()).toBe('{"a":1}\n');
    expect(await anonymous.isPrivate({ repo: 'alice/secret', type: 'dataset' })).toBe(false);
    await client.setVisibility({ repo: 'alice/secret', type: 'dataset', private: true });
    expect(await status(info())).toBe(404);
  });

  it('only the namespace may change visibility; a bad body or a missing repo is refused', async () => {
    const put = (path: string, body: string, headers: Record<string, string> = AUTH) => raw('PUT', path, { headers: { ...headers, 'Content-Type': 'application/json' }, body });
    expect((await put('/api/datasets/alice/ds/settings', '{"private":true}', {})).status).toBe(401);
    expect((await put('/api/datasets/alice/ds/settings', '{"private":"yes"}')).status).toBe(400);
    expect((await put('/api/datasets/alice/nope/settings', '{"private":true}')).status).toBe(404);
    expect((await put('/api/datasets/alice/ds/settings', '{"private":true}')).status).toBe(200);
    expect((await raw('GET', '/api/datasets/alice/ds')).status).toBe(404);
    expect(json(await raw('GET', '/api/datasets/alice/ds', { headers: AUTH }))).toMatchObject({ private: true });
  });
});
