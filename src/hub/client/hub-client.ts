/**
 * HubClient: everything FLockDataset does with a Hugging Face hub — the real one or the local
 * hub — through `@huggingface/hub` with one fetch policy (token, timeout, bounded retries, typed
 * errors) and the Hugging Face cache layout for downloads.
 *
 * @example
 * const hub = new HubClient({ hubUrl: 'http://127.0.0.1:8077', token: process.env.HF_TOKEN });
 * await hub.createRepo({ repo: 'alice/my-dataset', type: 'dataset', existOk: true });
 * const sha = await hub.uploadFiles({ repo: 'alice/my-dataset', type: 'dataset', files: [{ path: 'data.jsonl', file: './data.jsonl' }] });
 * const local = await hub.downloadFile({ repo: 'alice/my-dataset', type: 'dataset', revision: sha, path: 'data.jsonl', maxBytes: 50e6 });
 */
import { commit, createRepo, datasetInfo, deleteRepo, fileDownloadInfo, listCommits, listFiles, modelInfo, type CommitOperation } from '@huggingface/hub';
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, openAsBlob } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import {
  DownloadCapExceededError, EntryNotFoundError, HubError, HubRequestError, HubTimeoutError, HubUnavailableError,
  IntegrityError, InvalidHubInputError, RepoNotFoundError, RevisionNotFoundError, UnauthorizedError,
} from '../errors.js';
import { FULL_SHA, validateFilePath, validateRepoName, validateRepoType, validateRevision, type RepoRef, type RepoType } from '../validate.js';
import { registerSecret, redactSecrets } from '../../util/redact.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { createPolicyFetch, isAbortError } from './policy-fetch.js';
import { HubCache, defaultCacheDir } from './cache.js';

export const DEFAULT_HUB_URL = 'https://huggingface.co';

export interface HubClientOptions {
  /** Hub endpoint; default `$HF_ENDPOINT`, else https://huggingface.co. */
  hubUrl?: string;
  /** Token; default `$HF_TOKEN`. Needed for writes and for gated or private repos. */
  token?: string;
  /** Cache root in Hugging Face's layout; default `$HF_HUB_CACHE`, `$HF_HOME/hub`, `~/.cache/huggingface/hub`. */
  cacheDir?: string;
  /** Per-request timeout to headers and between body chunks (default 30 s). */
  timeoutMs?: number;
  /** Retries after the first attempt on network errors, timeouts and 5xx (default 3). */
  retries?: number;
  /** First retry delay, doubled each time (default 500 ms). */
  retryBaseMs?: number;
  /** Upload through Xet storage (default: only against huggingface.co; the local hub speaks LFS). */
  xet?: boolean;
  log?: Logger;
}

/** A repository: its `namespace/name` and type (default dataset). */
export interface RepoParams { repo: string; type?: RepoType }

export interface UploadFile {
  /** Path in the repository, e.g. `data.jsonl`. */
  path: string;
  /** The content … */
  content?: string | Uint8Array | Blob;
  /** … or a local file, streamed from disk (never read whole into memory). */
  file?: string;
}

export interface UploadParams extends RepoParams {
  files: UploadFile[];
  /** Paths to delete in the same commit. */
  deletePaths?: string[];
  message?: string;
  branch?: string;
  /** When set, the commit fails unless the branch head is still this commit. */
  parentCommit?: string;
}

export interface RepoFile {
  path: string;
  size: number;
  /** git blob id */
  oid: string;
  lfs?: { oid: string; size: number };
}

/** One commit of a repository's history. */
export interface RepoCommit {
  /** Full 40-hex SHA. */
  sha: string;
  /** The message's first line. */
  title: string;
  message: string;
  /** ISO 8601 (empty when the hub gave no valid date). */
  date: string;
  /** Usernames of the authors. */
  authors: string[];
}

/** Commits listed by default, and at most. */
const COMMITS_DEFAULT = 100;
const COMMITS_MAX = 10_000;
/** Commits the hub is asked for per page (the Hub allows up to 1000). */
const COMMITS_PAGE = 1000;

export interface DownloadParams extends RepoParams {
  /** Branch, tag, short or full SHA (default `main`). A full SHA is served from the cache without network. */
  revision?: string;
  path: string;
  /** Refuse files larger than this many bytes (nothing is kept). */
  maxBytes?: number;
}

export class HubClient {
  readonly hubUrl: string;
  readonly cache: HubCache;
  private readonly token?: string;
  private readonly fetch: typeof fetch;
  private readonly fetchOnce: typeof fetch;
  private readonly retries: number;
  private readonly retryBaseMs: number;
  private readonly xet: boolean;
  private readonly log: Logger;
  private readonly timeoutMs: number;

  constructor(options: HubClientOptions = {}) {
    this.hubUrl = (options.hubUrl ?? process.env.HF_ENDPOINT ?? DEFAULT_HUB_URL).replace(/\/+$/, '');
    let origin: string;
    try {
      origin = new URL(this.hubUrl).origin;
    } catch {
      throw new InvalidHubInputError(`Invalid hub URL ${JSON.stringify(this.hubUrl)}.`, { hint: 'Pass --hub-url / HF_ENDPOINT as http(s)://host[:port].' });
    }
    this.token = options.token ?? (process.env.HF_TOKEN || undefined);
    registerSecret(this.token);
    this.cache = new HubCache(options.cacheDir ?? defaultCacheDir());
    this.retries = options.retries ?? 3;
    this.retryBaseMs = options.retryBaseMs ?? 500;
    this.xet = options.xet ?? origin === DEFAULT_HUB_URL;
    this.log = options.log ?? silentLogger;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    const policy = { hubUrl: this.hubUrl, token: this.token, timeoutMs: this.timeoutMs, retryBaseMs: this.retryBaseMs, log: this.log };
    this.fetch = createPolicyFetch({ ...policy, retries: this.retries });
    this.fetchOnce = createPolicyFetch({ ...policy, retries: 0 });
  }

  /** True when the client holds a token (uploads and private reads need one). */
  get hasToken(): boolean {
    return this.token !== undefined;
  }

  /**
   * Options that build an equal client elsewhere, e.g. in a worker thread (everything but the
   * logger, which cannot cross threads). They hold the token: never log them.
   */
  portableOptions(): Omit<HubClientOptions, 'log'> {
    return { hubUrl: this.hubUrl, token: this.token, cacheDir: this.cache.root, timeoutMs: this.timeoutMs, retries: this.retries, retryBaseMs: this.retryBaseMs, xet: this.xet };
  }

  /**
   * Create a repository (`POST /api/repos/create`). With `existOk`, an existing repo is fine.
   * @example await hub.createRepo({ repo: 'alice/my-dataset', type: 'dataset', existOk: true })
   */
  async createRepo(params: RepoParams & { existOk?: boolean; private?: boolean }): Promise<{ url: string }> {
    const repo = this.repoRef(params);
    this.requireToken('create a repository');
    try {
      const out = await this.call(() => createRepo({ repo, hubUrl: this.hubUrl, fetch: this.fetch, private: params.private, credentials: { accessToken: '' as `hf_${string}` } }), repo);
      return { url: out.repoUrl };
    } catch (err) {
      if (params.existOk && err instanceof HubError && err.name === 'RepoExistsError') return { url: `${this.hubUrl}/${repo.type === 'dataset' ? 'datasets/' : ''}${repo.name}` };
      throw err;
    }
  }

  /** Delete a repository (`DELETE /api/repos/delete`). */
  async deleteRepo(params: RepoParams): Promise<void> {
    const repo = this.repoRef(params);
    this.requireToken('delete a repository');
    await this.call(() => deleteRepo({ repo, hubUrl: this.hubUrl, fetch: this.fetch, credentials: { accessToken: '' as `hf_${string}` } }), repo);
  }

  /**
   * Upload files (and deletions) as one commit; returns its full 40-hex SHA. Local files are
   * streamed from disk; large ones go through LFS (or Xet on huggingface.co).
   * @example const sha = await hub.uploadFiles({ repo: 'alice/d', files: [{ path: 'data.jsonl', file: 'data.jsonl' }] })
   */
  async uploadFiles(params: UploadParams): Promise<string> {
    const repo = this.repoRef(params);
    this.requireToken('upload files');
    const branch = validateRevision(params.branch ?? 'main');
    if (params.parentCommit !== undefined && !FULL_SHA.test(params.parentCommit)) throw new InvalidHubInputError(`parentCommit must be a full 40-hex SHA, got ${JSON.stringify(params.parentCommit)}.`);
    const operations: CommitOperation[] = [];
    for (const f of params.files) {
      validateFilePath(f.path);
      let content: Blob;
      if (f.file !== undefined) content = await openAsBlob(f.file);
      else if (f.content instanceof Blob) content = f.content;
      else if (typeof f.content === 'string') content = new Blob([f.content]);
      else if (f.content instanceof Uint8Array) content = new Blob([f.content]);
      else throw new InvalidHubInputError(`Upload of ${f.path} has neither content nor file.`);
      operations.push({ operation: 'addOrUpdate', path: f.path, content });
    }
    for (const p of params.deletePaths ?? []) operations.push({ operation: 'delete', path: validateFilePath(p) });
    if (operations.length === 0) throw new InvalidHubInputError('Nothing to upload: no files and no deletions.');
    const out = await this.call(() => commit({
      repo, operations, title: params.message ?? `Upload ${params.files.map((f) => f.path).join(', ')}`.slice(0, 200),
      branch, parentCommit: params.parentCommit, hubUrl: this.hubUrl, fetch: this.fetch, useXet: this.xet,
    }), repo);
    const sha = out?.commit.oid ?? '';
    if (!FULL_SHA.test(sha)) throw new HubRequestError(`Hub answered the commit to ${repo.type} ${repo.name} without a commit SHA.`, 200);
    this.log.debug('uploaded', { repo: repo.name, sha, files: params.files.length });
    return sha;
  }

  /**
   * Resolve a branch, tag, short or full SHA to the full commit SHA
   * (`GET /api/{datasets|models}/{repo}/revision/{rev}`).
   * @example const sha = await hub.resolveRevision({ repo: 'alice/d', revision: 'main' })
   */
  async resolveRevision(params: RepoParams & { revision?: string }): Promise<string> {
    const repo = this.repoRef(params);
    const revision = validateRevision(params.revision ?? 'main');
    const args = { name: repo.name, revision, hubUrl: this.hubUrl, fetch: this.fetch, additionalFields: ['sha' as const] };
    const info = await this.call(async () => (repo.type === 'dataset' ? await datasetInfo(args) : await modelInfo(args)) as { sha?: string }, repo, revision);
    if (!info.sha || !FULL_SHA.test(info.sha)) throw new HubRequestError(`Hub gave no commit SHA for revision ${revision} of ${repo.type} ${repo.name}.`, 200);
    if (FULL_SHA.test(revision) && info.sha !== revision) throw new RevisionNotFoundError(`Revision ${revision} of ${repo.type} ${repo.name} resolved to another commit (${info.sha}).`);
    return info.sha;
  }

  /** Files (recursively) at a revision (`GET /api/…/tree/{sha}?recursive=true`). Hostile paths from the hub are dropped. */
  async listFiles(params: RepoParams & { revision?: string }): Promise<RepoFile[]> {
    const repo = this.repoRef(params);
    const sha = await this.resolveRevision(params);
    const files: RepoFile[] = [];
    await this.call(async () => {
      for await (const e of listFiles({ repo, revision: sha, recursive: true, hubUrl: this.hubUrl, fetch: this.fetch })) {
        if (e.type !== 'file') continue;
        try {
          validateFilePath(e.path);
        } catch {
          this.log.warning('hub listed a file with an invalid path; ignored', { repo: repo.name, path: JSON.stringify(e.path).slice(0, 200) });
          continue;
        }
        files.push({ path: e.path, size: e.size, oid: e.oid ?? '', ...(e.lfs ? { lfs: { oid: e.lfs.oid, size: e.lfs.size } } : {}) });
      }
    }, repo, sha);
    return files;
  }

  /**
   * The history from a revision, newest first: at most `limit` commits (default 100, at most
   * 10 000), fetched a page at a time (`GET /api/{datasets|models}/{repo}/commits/{rev}?limit=`,
   * following the hub's `Link: rel="next"`, as huggingface_hub's `list_repo_commits`). Entries a
   * hub sends without a full SHA are dropped; long messages are cut.
   * @example const [latest, previous] = await hub.listCommits({ repo: 'alice/d', limit: 2 })
   */
  async listCommits(params: RepoParams & { revision?: string; limit?: number }): Promise<RepoCommit[]> {
    const repo = this.repoRef(params);
    const revision = validateRevision(params.revision ?? 'main');
    const limit = params.limit ?? COMMITS_DEFAULT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > COMMITS_MAX) throw new InvalidHubInputError(`limit must be an integer from 1 to ${COMMITS_MAX}, got ${String(limit)}.`);
    const out: RepoCommit[] = [];
    await this.call(async () => {
      // the library puts the revision into the path as is: a branch with '/' must be encoded
      const pages = listCommits({ repo, revision: encodeURIComponent(revision), batchSize: Math.min(limit, COMMITS_PAGE), hubUrl: this.hubUrl, fetch: this.fetch });
      for await (const c of pages) {
        if (typeof c.oid !== 'string' || !FULL_SHA.test(c.oid)) {
          this.log.warning('hub listed a commit without a full SHA; ignored', { repo: repo.name, id: JSON.stringify(c.oid).slice(0, 60) });
          continue;
        }
        const time = c.date instanceof Date ? c.date.getTime() : Number.NaN;
        out.push({
          sha: c.oid, title: String(c.title ?? '').slice(0, 1000), message: String(c.message ?? '').slice(0, 10_000),
          date: Number.isFinite(time) ? new Date(time).toISOString() : '', authors: c.authors.map((a) => String(a.username ?? '')).slice(0, 100),
        });
        if (out.length >= limit) break; // stops the pages: no request beyond what was asked
      }
    }, repo, revision);
    return out;
  }

  /**
   * Download one file at a revision into the cache and return its local path
   * (`…/snapshots/{sha}/{path}`). A file already cached at that commit is reused without
   * network; a branch seen before is used from the cache when the hub is unreachable. Files
   * over `maxBytes` are refused; bytes are written to a temporary file and kept only when size
   * and hash match what the hub announced.
   * @example const p = await hub.downloadFile({ repo: 'alice/d', revision: sha, path: 'data.jsonl', maxBytes: 100e6 })
   */
  async downloadFile(params: DownloadParams): Promise<string> {
    const repo = this.repoRef(params);
    const path = validateFilePath(params.path);
    const revision = validateRevision(params.revision ?? 'main');
    const maxBytes = params.maxBytes ?? Number.POSITIVE_INFINITY;
    const sha = await this.commitFor(repo, revision, path);
    const cached = await this.cache.cachedSize(repo, sha, path);
    if (cached !== null) {
      if (cached > maxBytes) throw capError(repo, path, sha, cached, maxBytes);
      this.log.debug('cache hit', { repo: repo.name, sha, path });
      return this.cache.snapshotPath(repo, sha, path);
    }
    const info = await this.call(() => fileDownloadInfo({ repo, path, revision: sha, hubUrl: this.hubUrl, fetch: this.fetch }), repo, sha, path);
    if (!info) throw new EntryNotFoundError(`File ${path} not found in ${repo.type} ${repo.name} at ${sha}.`);
    if (info.size > maxBytes) throw capError(repo, path, sha, info.size, maxBytes);
    const etag = blobName(info.etag);
    if (!(await this.cache.blobExists(repo, etag))) await this.fetchBlob(repo, info.url, path, sha, etag, info.size, maxBytes);
    return this.cache.linkSnapshot(repo, sha, path, etag);
  }

  /**
   * Download every file of a repo at a revision (or those `include` accepts) into the cache and
   * return the snapshot folder — e.g. a model folder with config.json, *.safetensors and
   * tokenizer.json. Each file is capped by `maxBytes`, all together by `maxTotalBytes` (checked
   * against the hub's listing before anything is fetched).
   * @example const { dir } = await hub.downloadSnapshot({ repo: 'meta-llama/Llama-3.2-1B', type: 'model', revision: sha })
   */
  async downloadSnapshot(params: RepoParams & { revision?: string; include?: (path: string) => boolean; maxBytes?: number; maxTotalBytes?: number }): Promise<{ sha: string; dir: string; files: string[] }> {
    const repo = this.repoRef(params);
    const sha = await this.commitFor(repo, validateRevision(params.revision ?? 'main'), '');
    const listing = (await this.listFiles({ repo: repo.name, type: repo.type, revision: sha })).filter((f) => params.include?.(f.path) ?? true);
    const total = listing.reduce((sum, f) => sum + f.size, 0);
    if (params.maxTotalBytes !== undefined && total > params.maxTotalBytes) {
      throw new DownloadCapExceededError(`${repo.type} ${repo.name}@${sha} holds ${total} bytes in ${listing.length} files, over the ${params.maxTotalBytes}-byte limit; nothing was downloaded.`);
    }
    for (const f of listing) await this.downloadFile({ repo: repo.name, type: repo.type, revision: sha, path: f.path, maxBytes: params.maxBytes });
    return { sha, dir: join(this.cache.repoDir(repo), 'snapshots', sha), files: listing.map((f) => f.path) };
  }

  /**
   * Make a repository private or public (`PUT /api/{datasets|models}/{repo}/settings`, as
   * huggingface_hub's `update_repo_settings` does); needs a token that may write it.
   * @example await hub.setVisibility({ repo: 'alice/d', type: 'dataset', private: false })
   */
  async setVisibility(params: RepoParams & { private: boolean }): Promise<void> {
    const repo = this.repoRef(params);
    this.requireToken('change the visibility of a repository');
    await this.call(() => this.fetch(`${this.hubUrl}/api/${repo.type}s/${repo.name}/settings`, {
      method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ private: params.private }),
    }), repo);
  }

  /** Whether a repository is private (`GET /api/{datasets|models}/{repo}`); only its owners can see a private one. */
  async isPrivate(params: RepoParams): Promise<boolean> {
    const repo = this.repoRef(params);
    const res = await this.call(() => this.fetch(`${this.hubUrl}/api/${repo.type}s/${repo.name}`), repo);
    return ((await res.json()) as { private?: unknown }).private === true;
  }

  /** The account the token belongs to (`GET /api/whoami-v2`). */
  async whoAmI(): Promise<{ name: string }> {
    this.requireToken('ask who you are');
    const res = await this.call(() => this.fetch(`${this.hubUrl}/api/whoami-v2`));
    const json = (await res.json()) as { name?: string };
    return { name: String(json.name ?? '') };
  }

  private async commitFor(repo: RepoRef, revision: string, path: string): Promise<string> {
    if (FULL_SHA.test(revision)) return revision;
    try {
      const sha = await this.resolveRevision({ repo: repo.name, type: repo.type, revision });
      await this.cache.writeRef(repo, revision, sha).catch(() => undefined);
      return sha;
    } catch (err) {
      if (!(err instanceof HubUnavailableError || err instanceof HubTimeoutError)) throw err;
      const sha = await this.cache.readRef(repo, revision);
      if (!sha || (await this.cache.cachedSize(repo, sha, path)) === null) throw err;
      this.log.warning('hub unreachable; using the cached commit of this revision', { repo: repo.name, revision, sha });
      return sha;
    }
  }

  /** Stream the file into a temporary blob, verify size and hash, rename into place; bounded retries. */
  private async fetchBlob(repo: RepoRef, url: string, path: string, sha: string, etag: string, size: number, maxBytes: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const tmp = await this.cache.tempBlobPath(repo, etag);
      try {
        const res = await this.fetchOnce(url);
        if (!res.body) throw new HubRequestError(`Hub sent no body for ${path}.`, res.status);
        let received = 0;
        const hasher = hasherFor(etag, size);
        const meter = new Transform({
          transform(chunk: Buffer, _enc, done) {
            received += chunk.length;
            if (received > size) {
              return done(new IntegrityError(`Hub sent more than the announced ${size} bytes for ${path} of ${repo.type} ${repo.name}@${sha}; discarded.`, { path, expected: `${size} bytes`, served: `more than ${size} bytes` }));
            }
            if (received > maxBytes) return done(capError(repo, path, sha, received, maxBytes));
            hasher?.hash.update(chunk);
            done(null, chunk);
          },
        });
        await pipeline(Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>), meter, createWriteStream(tmp, { flags: 'wx' }));
        if (received !== size) throw new HubUnavailableError(`Download of ${path} ended after ${received} of ${size} bytes.`);
        if (hasher) {
          const digest = hasher.hash.digest('hex');
          if (digest !== etag) {
            throw new IntegrityError(`Downloaded ${path} of ${repo.type} ${repo.name}@${sha} hashes to ${digest}, the hub announced ${etag}; discarded.`, {
              path, expected: `${hasher.algorithm}:${etag}`, served: `${hasher.algorithm}:${digest}`,
            });
          }
        }
        await rename(tmp, this.cache.blobPath(repo, etag));
        return;
      } catch (raw) {
        await rm(tmp, { force: true });
        const err = isAbortError(raw) ? new HubTimeoutError(`Hub stopped sending ${path} of ${repo.type} ${repo.name} (timeout).`, { cause: raw })
          : raw instanceof HubError ? raw
            : new HubUnavailableError(`Download of ${path} from ${repo.type} ${repo.name} failed: ${redactSecrets((raw as Error).message)}.`, { cause: raw });
        const transient = err instanceof HubUnavailableError || err instanceof HubTimeoutError;
        if (!transient || attempt >= this.retries) throw err;
        this.log.debug('download retry', { path, attempt: attempt + 1, reason: err.message });
        await new Promise((ok) => setTimeout(ok, this.retryBaseMs * 2 ** attempt));
      }
    }
  }

  private repoRef(params: RepoParams): RepoRef {
    const type = validateRepoType(params.type ?? 'dataset');
    validateRepoName(params.repo);
    return { type, name: params.repo };
  }

  private requireToken(action: string): void {
    if (!this.token) throw new UnauthorizedError(`A token is needed to ${action} on ${this.hubUrl}.`, { hint: 'Set HF_TOKEN or pass --hf-token.' });
  }

  /** Run a library call: our errors get context, anything else becomes a HubRequestError (redacted). */
  private async call<T>(fn: () => Promise<T>, repo?: RepoRef, revision?: string, path?: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const where = repo ? `${repo.type} ${repo.name}` : this.hubUrl;
      if (err instanceof RepoNotFoundError) {
        throw new RepoNotFoundError(`Repository ${where} not found on ${this.hubUrl} (never created, deleted, or private).`, { cause: err, details: [err.message], hint: 'Check the repo id and --hub-url; for a private repo pass a token that can read it.' });
      }
      if (err instanceof RevisionNotFoundError) {
        throw new RevisionNotFoundError(`Revision ${revision ?? '?'} not found in ${where}.`, { cause: err, details: [err.message], hint: 'Use a branch, tag, or a commit SHA that exists in this repository.' });
      }
      if (err instanceof EntryNotFoundError) {
        throw new EntryNotFoundError(`File ${path ?? '?'} not found in ${where} at ${revision ?? '?'}.`, { cause: err, details: [err.message] });
      }
      if (err instanceof HubError) throw err;
      throw new HubRequestError(`Hub request for ${where} failed: ${redactSecrets(err instanceof Error ? err.message : String(err))}`, 0, { cause: err });
    }
  }
}

function capError(repo: RepoRef, path: string, sha: string, size: number, maxBytes: number): DownloadCapExceededError {
  return new DownloadCapExceededError(`${path} of ${repo.type} ${repo.name}@${sha} is larger than the ${maxBytes}-byte limit (${size} bytes or more); nothing was kept.`);
}

/** The blob's cache name: the hub's ETag without quotes or weak prefix (a path-safe name). */
function blobName(etag: string): string {
  const name = etag.replace(/^W\//, '').replace(/"/g, '');
  return /^[A-Za-z0-9_.-]{1,128}$/.test(name) && !name.startsWith('.') ? name : createHash('sha256').update(etag).digest('hex');
}

/** The hash that reproduces an ETag: LFS sha256 (64 hex) or git blob sha1 (40 hex); none otherwise. */
function hasherFor(etag: string, size: number): { hash: Hash; algorithm: 'sha256' | 'git-sha1' } | null {
  if (/^[0-9a-f]{64}$/.test(etag)) return { hash: createHash('sha256'), algorithm: 'sha256' };
  if (/^[0-9a-f]{40}$/.test(etag)) return { hash: createHash('sha1').update(`blob ${size}\0`), algorithm: 'git-sha1' };
  return null;
}
