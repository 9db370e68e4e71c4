import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readlinkSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubCache, defaultCacheDir } from '../../../src/hub/index.js';

describe('defaultCacheDir', () => {
  it('follows huggingface_hub: HF_HUB_CACHE, then HF_HOME/hub, then ~/.cache/huggingface/hub', () => {
    expect(defaultCacheDir({ HF_HUB_CACHE: '/c', HF_HOME: '/h' })).toBe('/c');
    expect(defaultCacheDir({ HF_HOME: '/h' })).toBe('/h/hub');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/huggingface/hub');
    expect(defaultCacheDir({})).toBe(join(homedir(), '.cache', 'huggingface', 'hub'));
  });
});

describe('HubCache', () => {
  it('lays out blobs, snapshot links and refs like huggingface_hub', async () => {
    const root = mkdtempSync(join(tmpdir(), 'hub-cache-'));
    try {
      const cache = new HubCache(root);
      const repo = { type: 'model' as const, name: 'meta-llama/Llama-3.2-1B' };
      const sha = '1'.repeat(40);
      const etag = '2'.repeat(64);
      expect(cache.repoDir(repo)).toBe(join(root, 'models--meta-llama--Llama-3.2-1B'));
      expect(await cache.cachedSize(repo, sha, 'a/b.json')).toBeNull();
      mkdirSync(join(cache.repoDir(repo), 'blobs'), { recursive: true });
      writeFileSync(cache.blobPath(repo, etag), 'abc');
      const link = await cache.linkSnapshot(repo, sha, 'a/b.json', etag);
      expect(link).toBe(join(root, 'models--meta-llama--Llama-3.2-1B', 'snapshots', sha, 'a', 'b.json'));
      expect(readlinkSync(link)).toBe(`../../../blobs/${etag}`);
      expect(readFileSync(link, 'utf8')).toBe('abc');
      expect(await cache.cachedSize(repo, sha, 'a/b.json')).toBe(3);
      await cache.writeRef(repo, 'main', sha);
      expect(await cache.readRef(repo, 'main')).toBe(sha);
      expect(await cache.readRef(repo, 'other')).toBeNull();
      expect(await cache.tempBlobPath(repo, etag)).toMatch(/\.incomplete$/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
