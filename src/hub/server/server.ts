/**
 * The local hub: an HTTP server answering the subset of the Hugging Face Hub API that
 * `@huggingface/hub` (and so our HubClient) calls — repo creation and deletion, repo info at a
 * revision, pre-upload, NDJSON commits, commit history, Git LFS batch + basic PUT uploads, tree
 * and paths-info, and `resolve/{rev}/{path}` downloads with ranges. Repos are bare git
 * repositories (RepoStore), large files content-addressed LFS objects (LfsStore); bodies are
 * streamed.
 *
 * @example
 * const hub = await startHubServer({ dir: '/tmp/hub', tokens: [{ name: 'alice', token: 'secret-alice' }] });
 * // HubClient({ hubUrl: hub.url, token: 'secret-alice' }) …
 * await hub.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHmac, randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { resolve as resolvePath } from 'node:path';
import { InvalidHubInputError } from '../errors.js';
import { FlockError } from '../../util/errors.js';
import { runGit } from './git.js';
import { validateFilePath, validateRepoName, validateRevision, repoUrlPath, type RepoRef, type RepoType } from '../validate.js';
import { type Logger, silentLogger } from '../../util/log.js';
import { HttpError, ndjsonLines, parseRange, readJson, sendError, sendJson } from './http.js';
import { TokenRegistry, type HubToken } from './auth.js';
import { RepoStore, lfsPointer, BranchNotFoundError, CommitConflictError, TreeUpdateError, type CommitOperation, type TreeEntry } from './repo-store.js';
import { LfsStore, LfsUploadError, SHA256_HEX } from './lfs-store.js';

export interface HubServerOptions {
  /** Data folder (repos and LFS objects); created if missing. */
  dir: string;
  /** Port (0 = any free port). */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Write tokens: each owns the namespace `name`. */
  tokens?: HubToken[];
  /** Files at least this large (or binary) are uploaded through LFS (default 1 MiB). */
  lfsThreshold?: number;
  /** Largest LFS object accepted (default 64 GiB). */
  maxLfsObject?: number;
  log?: Logger;
}

export interface HubServer {
  /** Base URL, e.g. `http://127.0.0.1:8077` — pass as `hubUrl` / `--hub-url` / `HF_ENDPOINT`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const JSON_LIMIT = 4 * 1024 * 1024;
const COMMIT_LINE_LIMIT = 48 * 1024 * 1024;
const COMMIT_BODY_LIMIT = 512 * 1024 * 1024;
const UPLOAD_TICKET_SECONDS = 3600;
/** Commits per page of a history listing, as the Hub: 50 unless asked, at most 1000. */
const COMMITS_PAGE_DEFAULT = 50;
const COMMITS_PAGE_MAX = 1000;

/** Start the local hub; resolves once it listens. */
export async function startHubServer(options: HubServerOptions): Promise<HubServer> {
  const dir = resolvePath(options.dir);
  await runGit(null, dir, ['--version']).catch((err: NodeJS.ErrnoException) => {
    throw new FlockError(`The local hub needs the git command: ${err.code === 'ENOENT' ? 'git is not installed' : err.message}.`, { hint: 'Install git (apt-get install git).' });
  });
  const repos = new RepoStore(dir);
  const lfs = new LfsStore(dir);
  await repos.init();
  await lfs.init();
  const hub = new LocalHub(repos, lfs, new TokenRegistry(options.tokens ?? []), {
    lfsThreshold: options.lfsThreshold ?? 1024 * 1024,
    maxLfsObject: options.maxLfsObject ?? 64 * 1024 ** 3,
    log: options.log ?? silentLogger,
  });
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => void hub.handle(req, res));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.requestTimeout = 0; // multi-GB uploads take as long as they take
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => ok());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () => new Promise<void>((ok) => {
      server.close(() => ok());
      for (const s of sockets) s.destroy();
    }),
  };
}

interface Settings { lfsThreshold: number; maxLfsObject: number; log: Logger }

class LocalHub {
  private readonly ticketKey = randomBytes(32);

  constructor(private readonly repos: RepoStore, private readonly lfs: LfsStore, private readonly tokens: TokenRegistry, private readonly settings: Settings) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const started = Date.now();
    try {
      await this.route(req, res, method);
    } catch (err) {
      const httpErr = err instanceof HttpError ? err
        : err instanceof InvalidHubInputError ? new HttpError(400, err.message, 'BadRequest')
          : new HttpError(500, 'internal error');
      if (httpErr.status === 500) this.settings.log.error('hub request failed', { method, error: (err as Error).message });
      sendError(res, httpErr);
      if (!req.complete) req.resume();
    } finally {
      this.settings.log.debug('hub request', { method, path: (req.url ?? '').split('?')[0], status: res.statusCode, ms: Date.now() - started });
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
    if (rawPath.length > 4096) throw new HttpError(414, 'URL too long');
    let seg: string[];
    try {
      seg = rawPath.split('/').slice(1).map((s) => decodeURIComponent(s));
    } catch {
      throw new HttpError(400, 'malformed percent-encoding in URL', 'BadRequest');
    }
    if (seg.some((s) => s.includes('\0'))) throw new HttpError(400, 'NUL byte in URL', 'BadRequest');
    const base = `http://${req.headers.host ?? 'localhost'}`;

    if (seg[0] === 'api') {
      if (seg[1] === 'health' && method === 'GET') return sendJson(res, 200, { ok: true });
      if (seg[1] === 'whoami-v2' && method === 'GET') return this.whoami(req, res);
      if (seg[1] === 'repos' && seg[2] === 'create' && method === 'POST') return this.createRepo(req, res, base);
      if (seg[1] === 'repos' && seg[2] === 'delete' && method === 'DELETE') return this.deleteRepo(req, res);
      if (seg[1] === 'datasets' || seg[1] === 'models') {
        const repo = repoFrom(seg[1] === 'datasets' ? 'dataset' : 'model', seg[2], seg[3]);
        const rest = seg.slice(4);
        if (rest[0] === 'settings' && method === 'PUT') return this.updateSettings(req, res, repo);
        // a private repo does not exist for anyone but its namespace's tokens (writes check their own token)
        if (method === 'GET' || rest[0] === 'paths-info') await this.requireRead(req, repo);
        if (rest.length === 0 && method === 'GET') return this.repoInfo(res, repo, 'HEAD', true);
        if (rest[0] === 'revision' && method === 'GET') {
          // Like the Hub: the file list only when asked for (`expand=siblings`) or no expand at all.
          const expand = query.getAll('expand');
          return this.repoInfo(res, repo, rest.slice(1).join('/'), expand.length === 0 || expand.includes('siblings'));
        }
        if (rest[0] === 'preupload' && method === 'POST') return this.preupload(req, res, repo, rest.slice(1).join('/'));
        if (rest[0] === 'commit' && method === 'POST') return this.commit(req, res, repo, rest.slice(1).join('/'), base);
        if (rest[0] === 'commits' && method === 'GET') return this.commits(res, repo, rest.slice(1).join('/') || 'main', query, base);
        if (rest[0] === 'tree' && method === 'GET') return this.tree(res, repo, rest[1] ?? 'main', rest.slice(2).join('/'), query.get('recursive') === 'true');
        if (rest[0] === 'paths-info' && method === 'POST') return this.pathsInfo(req, res, repo, rest.slice(1).join('/'));
      }
      throw new HttpError(404, `no such endpoint: ${method} ${rawPath.slice(0, 200)}`);
    }
    if (seg[0] === 'lfs-upload' && method === 'PUT') return this.lfsUpload(req, res, seg[1] ?? '', query);

    const type: RepoType = seg[0] === 'datasets' ? 'dataset' : 'model';
    const s = type === 'dataset' ? seg.slice(1) : seg;
    if (s[1]?.endsWith('.git') && s[2] === 'info' && s[3] === 'lfs' && s[4] === 'objects' && s[5] === 'batch' && method === 'POST') {
      const repo = repoFrom(type, s[0], s[1].slice(0, -4));
      await this.requireRead(req, repo);
      return this.lfsBatch(req, res, repo, base);
    }
    if (s[2] === 'resolve' && (method === 'GET' || method === 'HEAD')) {
      const repo = repoFrom(type, s[0], s[1]);
      await this.requireRead(req, repo);
      return this.resolveFile(req, res, repo, s[3] ?? '', s.slice(4).join('/'), method === 'HEAD');
    }
    throw new HttpError(404, `no such endpoint: ${method} ${rawPath.slice(0, 200)}`);
  }

  /** A private repository reads as missing (404, as the Hub answers) to all but its namespace's tokens. */
  private async requireRead(req: IncomingMessage, repo: RepoRef): Promise<void> {
    if (!(await this.repos.isPrivate(repo))) return;
    if (!this.tokens.namesOf(req)?.has(repo.name.split('/')[0]!)) throw repoNotFound(repo);
  }

  /** `PUT /api/{datasets|models}/{repo}/settings` `{"private": bool}`: the repo's visibility (its namespace's token). */
  private async updateSettings(req: IncomingMessage, res: ServerResponse, repo: RepoRef): Promise<void> {
    this.tokens.requireWrite(req, repo.name.split('/')[0]!);
    if (!(await this.repos.exists(repo))) throw repoNotFound(repo);
    const body = asObject(await readJson(req, JSON_LIMIT));
    // `{"private": bool}`, or the newer `{"visibility": "private" | "public"}`
    if (body.private !== undefined && typeof body.private !== 'boolean') throw new HttpError(400, '"private" must be true or false', 'BadRequest');
    if (body.visibility !== undefined && body.visibility !== 'private' && body.visibility !== 'public') throw new HttpError(400, '"visibility" must be "private" or "public"', 'BadRequest');
    const value = body.visibility !== undefined ? body.visibility === 'private' : (body.private as boolean | undefined);
    if (value !== undefined) {
      if (!(await this.repos.setPrivate(repo, value))) throw repoNotFound(repo);
      this.settings.log.info('repo visibility', { repo: repo.name, private: value });
    }
    sendJson(res, 200, {});
  }

  private whoami(req: IncomingMessage, res: ServerResponse): void {
    const names = this.tokens.namesOf(req);
    if (!names) throw new HttpError(401, 'A token is required', 'MissingToken');
    const [name] = [...names];
    sendJson(res, 200, { type: 'user', name, orgs: [...names].slice(1).map((n) => ({ name: n })), auth: { type: 'access_token', accessToken: { displayName: name, role: 'write' } } });
  }

  private async createRepo(req: IncomingMessage, res: ServerResponse, base: string): Promise<void> {
    const body = asObject(await readJson(req, JSON_LIMIT));
    const type = body.type === undefined ? 'model' : body.type;
    if (type !== 'dataset' && type !== 'model') throw new HttpError(400, `unsupported repo type ${JSON.stringify(type)}`, 'BadRequest');
    const repo = repoFrom(type, String(body.organization ?? ''), String(body.name ?? ''));
    const author = this.tokens.requireWrite(req, repo.name.split('/')[0]!);
    const url = `${base}/${repoUrlPath(repo)}`;
    if (!(await this.repos.create(repo, author, { private: body.private === true || body.visibility === 'private' }))) return sendJson(res, 409, { error: 'You already created this repo', url }, { 'X-Error-Code': 'RepoExists' });
    this.settings.log.info('repo created', { repo: repo.name, type: repo.type });
    sendJson(res, 200, { url, name: repo.name, id: repo.name });
  }

  private async deleteRepo(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = asObject(await readJson(req, JSON_LIMIT));
    const type = body.type === undefined ? 'model' : body.type;
    if (type !== 'dataset' && type !== 'model') throw new HttpError(400, `unsupported repo type ${JSON.stringify(type)}`, 'BadRequest');
    const repo = repoFrom(type, String(body.organization ?? ''), String(body.name ?? ''));
    this.tokens.requireWrite(req, repo.name.split('/')[0]!);
    if (!(await this.repos.delete(repo))) throw repoNotFound(repo);
    this.settings.log.info('repo deleted', { repo: repo.name, type: repo.type });
    sendJson(res, 200, {});
  }

  /** Existing repo + revision → full SHA, or the Hub's 404s. */
  private async sha(repo: RepoRef, revision: string): Promise<string> {
    if (!(await this.repos.exists(repo))) throw repoNotFound(repo);
    validateRevision(revision);
    const sha = await this.repos.resolve(repo, revision);
    if (!sha) throw new HttpError(404, `Invalid rev id: ${revision}`, 'RevisionNotFound');
    return sha;
  }

  private async repoInfo(res: ServerResponse, repo: RepoRef, revision: string, wantsSiblings: boolean): Promise<void> {
    if (!(await this.repos.exists(repo))) throw repoNotFound(repo);
    const info = await this.repos.commitInfo(repo, validateRevision(revision || 'HEAD'));
    if (!info) throw new HttpError(404, `Invalid rev id: ${revision}`, 'RevisionNotFound');
    const files = wantsSiblings ? await this.repos.listTree(repo, info.sha, '', true) : [];
    sendJson(res, 200, {
      _id: createHash('sha1').update(`${repo.type}/${repo.name}`).digest('hex').slice(0, 24),
      id: repo.name, author: repo.name.split('/')[0], sha: info.sha, private: await this.repos.isPrivate(repo), gated: false, disabled: false,
      downloads: 0, likes: 0, tags: [], lastModified: info.date, cardData: {},
      ...(wantsSiblings ? { siblings: files.filter((f) => f.type === 'file').map((f) => ({ rfilename: f.path })) } : {}),
    });
  }

  private async preupload(req: IncomingMessage, res: ServerResponse, repo: RepoRef, branch: string): Promise<void> {
    this.tokens.requireWrite(req, repo.name.split('/')[0]!);
    const head = await this.sha(repo, `refs/heads/${validateRevision(branch)}`);
    const body = asObject(await readJson(req, JSON_LIMIT));
    if (!Array.isArray(body.files)) throw new HttpError(400, 'expected {"files": [...]}', 'BadRequest');
    const files = body.files.map((f: unknown) => {
      const file = asObject(f);
      const path = validateFilePath(String(file.path));
      const size = Number(file.size);
      if (!Number.isSafeInteger(size) || size < 0) throw new HttpError(400, `invalid size for ${path}`, 'BadRequest');
      const sample = Buffer.from(typeof file.sample === 'string' ? file.sample : '', 'base64');
      const lfs = size >= this.settings.lfsThreshold || sample.includes(0);
      return { path, uploadMode: lfs ? 'lfs' : 'regular', shouldIgnore: false };
    });
    sendJson(res, 200, { files, commitOid: head });
  }

  private async commit(req: IncomingMessage, res: ServerResponse, repo: RepoRef, branch: string, base: string): Promise<void> {
    const author = this.tokens.requireWrite(req, repo.name.split('/')[0]!);
    validateRevision(branch);
    if (!(await this.repos.exists(repo))) throw repoNotFound(repo);
    let summary = '';
    let description = '';
    let parentCommit: string | undefined;
    const ops: CommitOperation[] = [];
    for await (const raw of ndjsonLines(req, COMMIT_LINE_LIMIT, COMMIT_BODY_LIMIT)) {
      const line = asObject(raw);
      const value = asObject(line.value);
      if (line.key === 'header') {
        summary = typeof value.summary === 'string' ? value.summary : '';
        description = typeof value.description === 'string' ? value.description : '';
        if (typeof value.parentCommit === 'string') parentCommit = value.parentCommit;
      } else if (line.key === 'file') {
        const path = validateFilePath(String(value.path));
        if (typeof value.content !== 'string') throw new HttpError(400, `no content for ${path}`, 'BadRequest');
        const content = value.encoding === 'base64' ? Buffer.from(value.content, 'base64') : Buffer.from(value.content, 'utf8');
        ops.push({ kind: 'blob', path, blobOid: await this.repos.writeBlob(repo, content) });
      } else if (line.key === 'lfsFile') {
        const path = validateFilePath(String(value.path));
        const oid = String(value.oid);
        const size = Number(value.size);
        if (!SHA256_HEX.test(oid) || !Number.isSafeInteger(size) || size < 0) throw new HttpError(400, `invalid LFS object for ${path}`, 'BadRequest');
        if (!(await this.lfs.has(oid, size))) throw new HttpError(422, `LFS object ${oid} (${size} bytes) for ${path} was not uploaded`, 'LfsObjectMissing');
        ops.push({ kind: 'blob', path, blobOid: await this.repos.writeBlob(repo, lfsPointer(oid, size)) });
      } else if (line.key === 'deletedFile') {
        ops.push({ kind: 'delete', path: validateFilePath(String(value.path)) });
      } else {
        throw new HttpError(400, `unsupported commit operation ${JSON.stringify(line.key)}`, 'BadRequest');
      }
    }
    if (parentCommit !== undefined && !/^[0-9a-f]{40}$/.test(parentCommit)) throw new HttpError(400, 'parentCommit must be a full SHA', 'BadRequest');
    const message = [summary.trim() || 'Upload files', description.trim()].filter(Boolean).join('\n\n');
    try {
      const sha = await this.repos.commit(repo, branch, ops, message, author, parentCommit);
      this.settings.log.info('commit', { repo: repo.name, type: repo.type, sha, files: ops.length });
      sendJson(res, 200, { success: true, commitOid: sha, commitUrl: `${base}/${repoUrlPath(repo)}/commit/${sha}`, hookOutput: '' });
    } catch (err) {
      if (err instanceof BranchNotFoundError) throw new HttpError(404, `Invalid rev id: ${branch}`, 'RevisionNotFound');
      if (err instanceof CommitConflictError) throw new HttpError(412, err.message, 'ParentCommitMismatch');
      if (err instanceof TreeUpdateError) throw new HttpError(400, err.message, 'BadRequest');
      throw err;
    }
  }

  /**
   * `GET /api/{type}/{repo}/commits/{rev}?p=&limit=`: the history from a revision, newest first,
   * as the Hub pages it — `limit` commits per page (default 50, at most 1000), page `p` from 0,
   * `X-Total-Count`, and a `Link: <…>; rel="next"` while more remain. The next page names the
   * resolved commit, so a push between two pages does not shift them.
   */
  private async commits(res: ServerResponse, repo: RepoRef, revision: string, query: URLSearchParams, base: string): Promise<void> {
    const sha = await this.sha(repo, revision);
    const limit = queryInt(query, 'limit', COMMITS_PAGE_DEFAULT, 1, COMMITS_PAGE_MAX);
    const page = queryInt(query, 'p', 0, 0, 1_000_000);
    const { commits, total } = await this.repos.listCommits(repo, sha, page * limit, limit);
    const headers: Record<string, string> = { 'X-Total-Count': String(total) };
    if ((page + 1) * limit < total) headers.Link = `<${base}/api/${repo.type}s/${repo.name}/commits/${sha}?p=${page + 1}&limit=${limit}>; rel="next"`;
    sendJson(res, 200, commits.map((c) => ({ id: c.sha, title: c.title, message: c.message, authors: [{ user: c.author }], date: c.date })), headers);
  }

  private async tree(res: ServerResponse, repo: RepoRef, revision: string, dir: string, recursive: boolean): Promise<void> {
    const sha = await this.sha(repo, revision);
    if (dir) {
      validateFilePath(dir);
      const e = await this.repos.entry(repo, sha, dir);
      if (!e || e.type !== 'directory') throw new HttpError(404, `Entry not found: ${dir}`, 'EntryNotFound');
    }
    const entries = await this.repos.listTree(repo, sha, dir, recursive);
    sendJson(res, 200, entries.map(treeJson));
  }

  private async pathsInfo(req: IncomingMessage, res: ServerResponse, repo: RepoRef, revision: string): Promise<void> {
    const sha = await this.sha(repo, revision || 'main');
    const body = asObject(await readJson(req, JSON_LIMIT));
    if (!Array.isArray(body.paths) || body.paths.length > 1000) throw new HttpError(400, 'expected {"paths": [...]} (at most 1000)', 'BadRequest');
    const out: unknown[] = [];
    for (const p of body.paths) {
      const e = await this.repos.entry(repo, sha, validateFilePath(String(p)));
      if (e) out.push(treeJson(e));
    }
    sendJson(res, 200, out);
  }

  private async resolveFile(req: IncomingMessage, res: ServerResponse, repo: RepoRef, revision: string, path: string, headOnly: boolean): Promise<void> {
    validateFilePath(path);
    const sha = await this.sha(repo, revision);
    const e = await this.repos.entry(repo, sha, path);
    if (!e || e.type !== 'file') throw new HttpError(404, `Entry not found: ${path}`, 'EntryNotFound');
    const etag = e.lfs?.oid ?? e.oid;
    const size = e.size;
    const range = parseRange(req.headers.range, size);
    const headers: Record<string, string> = {
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      ETag: `"${etag}"`,
      'X-Repo-Commit': sha,
      'Content-Disposition': `attachment; filename="${path.split('/').pop()!.replace(/"/g, '')}"`,
    };
    if (e.lfs) {
      headers['X-Linked-ETag'] = `"${e.lfs.oid}"`;
      headers['X-Linked-Size'] = String(e.lfs.size);
    }
    if (range === 'invalid') {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}` });
      res.end();
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    headers['Content-Length'] = String(Math.max(0, end - start + 1));
    if (headOnly || size === 0) {
      res.writeHead(range ? 206 : 200, headers);
      res.end();
      return;
    }
    let body: Readable;
    if (e.lfs) {
      if (!(await this.lfs.has(e.lfs.oid, e.lfs.size))) throw new HttpError(500, `LFS object of ${path} is missing from the hub's storage`);
      body = createReadStream(this.lfs.objectPath(e.lfs.oid), { start, end });
    } else {
      body = this.repos.readBlob(repo, e.oid);
    }
    res.writeHead(range ? 206 : 200, headers);
    try {
      if (!e.lfs && range) await pipeline(body, sliceStream(start, end), res);
      else await pipeline(body, res);
    } catch {
      res.destroy(); // client went away or the read failed: drop the connection
    }
  }

  private async lfsBatch(req: IncomingMessage, res: ServerResponse, repo: RepoRef, base: string): Promise<void> {
    this.tokens.requireWrite(req, repo.name.split('/')[0]!);
    if (!(await this.repos.exists(repo))) throw repoNotFound(repo);
    const body = asObject(await readJson(req, JSON_LIMIT));
    if (body.operation !== 'upload') throw new HttpError(400, 'only the "upload" LFS operation is supported; download files through resolve/', 'BadRequest');
    if (!Array.isArray(body.objects) || body.objects.length > 1000) throw new HttpError(400, 'expected "objects" (at most 1000)', 'BadRequest');
    const exp = Math.floor(Date.now() / 1000) + UPLOAD_TICKET_SECONDS;
    const objects = await Promise.all(body.objects.map(async (o: unknown) => {
      const obj = asObject(o);
      const oid = String(obj.oid);
      const size = Number(obj.size);
      if (!SHA256_HEX.test(oid) || !Number.isSafeInteger(size) || size < 0) {
        return { oid, size, error: { code: 422, message: 'invalid oid or size' } };
      }
      if (size > this.settings.maxLfsObject) return { oid, size, error: { code: 422, message: `object is larger than ${this.settings.maxLfsObject} bytes` } };
      if (await this.lfs.has(oid, size)) return { oid, size };
      const sig = this.sign(oid, size, exp);
      return { oid, size, authenticated: true, actions: { upload: { href: `${base}/lfs-upload/${oid}?size=${size}&exp=${exp}&sig=${sig}`, expires_in: UPLOAD_TICKET_SECONDS } } };
    }));
    sendJson(res, 200, { transfer: 'basic', objects }, { 'Content-Type': 'application/vnd.git-lfs+json' });
  }

  private async lfsUpload(req: IncomingMessage, res: ServerResponse, oid: string, query: URLSearchParams): Promise<void> {
    const size = Number(query.get('size'));
    const exp = Number(query.get('exp'));
    const sig = query.get('sig') ?? '';
    if (!SHA256_HEX.test(oid) || !Number.isSafeInteger(size) || size < 0 || !Number.isSafeInteger(exp)) throw new HttpError(400, 'malformed upload URL', 'BadRequest');
    const expected = Buffer.from(this.sign(oid, size, exp));
    if (sig.length !== expected.length || !timingSafeEqual(Buffer.from(sig), expected)) throw new HttpError(403, 'invalid upload signature', 'Forbidden');
    if (exp < Date.now() / 1000) throw new HttpError(403, 'upload URL expired; ask the batch endpoint again', 'Forbidden');
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) !== size) throw new HttpError(400, `Content-Length ${declared} is not the announced size ${size}`, 'BadRequest');
    if (await this.lfs.has(oid, size)) {
      req.resume();
      await new Promise((ok) => req.on('end', ok));
      return sendJson(res, 200, {});
    }
    try {
      await this.lfs.put(oid, size, req);
    } catch (err) {
      if (err instanceof LfsUploadError) throw new HttpError(err.status, err.message, 'BadRequest');
      throw err;
    }
    sendJson(res, 200, {}, { ETag: `"${oid}"` });
  }

  private sign(oid: string, size: number, exp: number): string {
    return createHmac('sha256', this.ticketKey).update(`${oid}:${size}:${exp}`).digest('hex');
  }
}

function repoFrom(type: RepoType, namespace: string | undefined, name: string | undefined): RepoRef {
  const full = `${namespace ?? ''}/${name ?? ''}`;
  validateRepoName(full);
  return { type, name: full };
}

/** An integer query parameter within [min, max] (400 otherwise), or `fallback` when absent. */
function queryInt(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const text = query.get(name);
  if (text === null || text === '') return fallback;
  const n = Number(text);
  if (!/^\d{1,9}$/.test(text) || n < min || n > max) throw new HttpError(400, `"${name}" must be an integer from ${min} to ${max}`, 'BadRequest');
  return n;
}

function repoNotFound(repo: RepoRef): HttpError {
  return new HttpError(404, `Repository not found: ${repo.type} ${repo.name}`, 'RepoNotFound');
}

function asObject(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, 'expected a JSON object', 'BadRequest');
  return v as Record<string, unknown>;
}

function treeJson(e: TreeEntry): Record<string, unknown> {
  return { type: e.type, oid: e.oid, size: e.size, path: e.path, ...(e.lfs ? { lfs: e.lfs } : {}) };
}

/** Pass on only bytes [start, end] of a stream. */
function sliceStream(start: number, end: number): Transform {
  let at = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const from = Math.max(0, start - at);
      const to = Math.min(chunk.length, end + 1 - at);
      at += chunk.length;
      done(null, from < to ? chunk.subarray(from, to) : undefined);
    },
  });
}
