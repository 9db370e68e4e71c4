/**
 * The Hugging Face cache layout (shared with Python's huggingface_hub):
 *
 *   $HF_HUB_CACHE (default $HF_HOME/hub, $HF_HOME default ~/.cache/huggingface)
 *     datasets--{org}--{name}/            (models--… for models)
 *       blobs/{etag}                      file contents, named by git blob sha1 or LFS sha256
 *       snapshots/{commit sha}/{path}     relative symlinks to ../../blobs/{etag}
 *       refs/{branch}                     the commit sha the branch pointed at when last seen
 *
 * A blob is only ever created by renaming a complete, verified temporary file into place, so a
 * path that exists is a whole file.
 */
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { mkdir, readFile, rename, stat, symlink, rm, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import type { RepoRef } from '../validate.js';

/** Default cache root: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  return join(env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface'), 'hub');
}

export class HubCache {
  constructor(readonly root: string) {}

  /** `datasets--org--name` / `models--org--name` */
  repoDir(repo: RepoRef): string {
    return join(this.root, `${repo.type}s--${repo.name.replace('/', '--')}`);
  }

  blobPath(repo: RepoRef, etag: string): string {
    return join(this.repoDir(repo), 'blobs', etag);
  }

  snapshotPath(repo: RepoRef, sha: string, path: string): string {
    return join(this.repoDir(repo), 'snapshots', sha, ...path.split('/'));
  }

  /** Size of a cached file at a commit (following its link), or null when absent. */
  async cachedSize(repo: RepoRef, sha: string, path: string): Promise<number | null> {
    try {
      const s = await stat(this.snapshotPath(repo, sha, path));
      return s.isFile() ? s.size : null;
    } catch {
      return null;
    }
  }

  async blobExists(repo: RepoRef, etag: string): Promise<boolean> {
    try {
      return (await stat(this.blobPath(repo, etag))).isFile();
    } catch {
      return false;
    }
  }

  /** A fresh temporary path beside the blobs (same filesystem, so the final rename is atomic). */
  async tempBlobPath(repo: RepoRef, etag: string): Promise<string> {
    const dir = join(this.repoDir(repo), 'blobs');
    await mkdir(dir, { recursive: true });
    return join(dir, `${etag}.${randomUUID()}.incomplete`);
  }

  /** Point `snapshots/{sha}/{path}` at `blobs/{etag}` (relative link, replaced atomically). */
  async linkSnapshot(repo: RepoRef, sha: string, path: string, etag: string): Promise<string> {
    const link = this.snapshotPath(repo, sha, path);
    await mkdir(dirname(link), { recursive: true });
    const tmp = `${link}.${randomUUID()}.tmp`;
    await symlink(relative(dirname(link), this.blobPath(repo, etag)), tmp);
    try {
      await rename(tmp, link);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return link;
  }

  /** Remember which commit a branch or tag resolved to (used when the hub is unreachable). */
  async writeRef(repo: RepoRef, revision: string, sha: string): Promise<void> {
    const file = join(this.repoDir(repo), 'refs', ...revision.split('/'));
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${randomUUID()}.tmp`;
    await writeFile(tmp, sha);
    await rename(tmp, file);
  }

  async readRef(repo: RepoRef, revision: string): Promise<string | null> {
    try {
      const sha = (await readFile(join(this.repoDir(repo), 'refs', ...revision.split('/')), 'utf8')).trim();
      return /^[0-9a-f]{40}$/.test(sha) ? sha : null;
    } catch {
      return null;
    }
  }
}
