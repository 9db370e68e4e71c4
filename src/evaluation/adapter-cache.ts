/**
 * Trained LoRA adapters kept on disk, so a dataset evaluated again on another evaluation set (the
 * next sealed round) is evaluated without training it again. An entry is keyed by everything that
 * decides the trained adapter's bits (`adapterCacheKey`): the rows trained on, the recipe, the
 * seed, the base model and the compute identity. The evaluation set is not part of it: training
 * never looks at it (only through the rows it drops, which are in the key).
 *
 *   <dir>/<key>/adapter_config.json          PEFT's format (engine/adapter.ts)
 *   <dir>/<key>/adapter_model.safetensors
 *   <dir>/<key>/entry.json                   the key and the hash of the tensors, written last
 *
 * An entry is written in a temporary folder and renamed into place, and removed by renaming it
 * away first, so a path `<dir>/<key>` is always a whole entry. Nothing is fsynced: an entry a
 * power loss left truncated fails its hash check and is a miss. The folder's modification time
 * is the entry's last use; past the byte budget the least recently used entries go.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAdapter, saveAdapter, type Adapter } from '../engine/adapter.js';
import type { LlamaConfig } from '../engine/config.js';
import { adapterHash } from '../engine/run.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';

/** Bytes on disk the cache keeps at most by default. */
export const DEFAULT_ADAPTER_CACHE_BYTES = 2 * 1024 ** 3;
/** Domain tag of the key hash; bump when what an entry holds or means changes. */
const KEY_DOMAIN = 'flock/adapter-cache/v1';
const ENTRY_FILE = 'entry.json';
const KEY_RE = /^[0-9a-f]{64}$/;
const TEMP_PREFIX = '.tmp-';
const TRASH_PREFIX = '.trash-';
/** A temporary folder older than this was left by a writer that died; it is removed. */
const STALE_TEMP_MS = 3600_000;

/** What decides a trained adapter's bits. */
export interface AdapterKeyInputs {
  /** Row hashes of the rows actually trained on (after dropping contaminated rows), any order. */
  rowHashes: readonly string[];
  /** `stableHash(recipe)`, as the receipt's `recipeHash`. */
  recipeHash: string;
  seed: number;
  /** The base model's checkpoint hash, as the receipt's `modelHash`. */
  modelHash: string;
  /** The compute identity's key (engine version, backend, kernels, device). */
  compute: string;
}

/**
 * The cache key (64 hex) of an adapter trained from these inputs. Row order never changes it;
 * a row trained twice counts twice.
 *
 * @example
 * adapterCacheKey({ rowHashes, recipeHash: stableHash(recipe), seed, modelHash: ckpt.hash, compute: computeIdentity(backend).key });
 */
export function adapterCacheKey(k: AdapterKeyInputs): string {
  const h = createHash('sha256');
  // one field per line; none of them can hold a newline except the compute key, which is last
  h.update(`${KEY_DOMAIN}\nmodel ${k.modelHash}\nrecipe ${k.recipeHash}\nseed ${k.seed}\nrows ${k.rowHashes.length}\n`);
  for (const row of [...k.rowHashes].sort()) h.update(`${row}\n`);
  h.update(`compute ${k.compute}`);
  return h.digest('hex');
}

export interface AdapterCacheOptions {
  /** The cache folder (created when first written). */
  dir: string;
  /** Bytes on disk kept at most (default `DEFAULT_ADAPTER_CACHE_BYTES`). */
  maxBytes?: number;
  /** Where unreadable entries and failed writes are reported. */
  log?: Logger;
}

/** One entry on disk. */
export interface AdapterCacheEntry {
  key: string;
  bytes: number;
  /** Last use (ms since the epoch). */
  usedAt: number;
}

interface EntryMeta {
  key: string;
  adapterHash: string;
}

/**
 * An on-disk cache of trained adapters. Safe to share between processes: writes are atomic, and a
 * missing, partial or corrupt entry is a miss (removed), never an error.
 *
 * @example
 * const cache = new AdapterCache({ dir: '/var/cache/flock-adapters' });
 * const adapter = cache.get(key, checkpoint.config) ?? train();
 * cache.put(key, adapter, checkpoint.config);
 */
export class AdapterCache {
  readonly dir: string;
  readonly maxBytes: number;
  private readonly log?: Logger;
  private lastStamp = 0;

  constructor(options: AdapterCacheOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes ?? DEFAULT_ADAPTER_CACHE_BYTES;
    this.log = options.log;
  }

  /** The adapter stored under `key` (checked against the base model's `config` when given), or undefined. */
  get(key: string, config?: LlamaConfig): Adapter | undefined {
    const path = this.entryPath(key);
    try {
      statSync(path);
    } catch {
      return undefined;
    }
    let adapter: Adapter;
    try {
      const meta = readMeta(path);
      if (meta.key !== key) throw new Error(`it holds the entry of key ${meta.key}`);
      adapter = loadAdapter(path, config);
      if (adapterHash(adapter) !== meta.adapterHash) throw new Error('its tensors do not match their hash');
    } catch (err) {
      this.log?.warning(`adapter cache: the entry ${key.slice(0, 12)} is unreadable (${errorMessage(err)}); removing it`);
      this.remove(path);
      return undefined;
    }
    this.touch(path);
    return adapter;
  }

  /**
   * Store `adapter` under `key`, replacing any entry there, then evict past the budget. Returns
   * false (and logs why) when it could not be written: the cache is an optimisation and never fails
   * the evaluation that feeds it.
   */
  put(key: string, adapter: Adapter, config?: LlamaConfig): boolean {
    const path = this.entryPath(key);
    const temp = join(this.dir, `${TEMP_PREFIX}${randomUUID()}`);
    try {
      mkdirSync(this.dir, { recursive: true });
      saveAdapter(temp, adapter, config);
      const meta: EntryMeta = { key, adapterHash: adapterHash(adapter) };
      writeFileSync(join(temp, ENTRY_FILE), JSON.stringify(meta) + '\n');
      this.moveIntoPlace(temp, path, meta.adapterHash);
    } catch (err) {
      rmSync(temp, { recursive: true, force: true });
      this.log?.warning(`adapter cache: could not store the adapter ${key.slice(0, 12)} in ${this.dir} (${errorMessage(err)})`);
      return false;
    }
    this.touch(path);
    this.evict();
    return true;
  }

  /** The entries on disk, least recently used first. */
  entries(): AdapterCacheEntry[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: AdapterCacheEntry[] = [];
    for (const name of names) {
      if (!KEY_RE.test(name)) continue;
      try {
        const path = join(this.dir, name);
        const usedAt = statSync(path).mtimeMs;
        const bytes = readdirSync(path).reduce((sum, file) => sum + statSync(join(path, file)).size, 0);
        out.push({ key: name, bytes, usedAt });
      } catch {
        // removed by another process meanwhile
      }
    }
    return out.sort((a, b) => a.usedAt - b.usedAt || (a.key < b.key ? -1 : 1));
  }

  /** Remove least recently used entries until the cache fits its budget, and stale temporary folders. */
  evict(): void {
    const entries = this.entries();
    let total = entries.reduce((sum, e) => sum + e.bytes, 0);
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      this.remove(this.entryPath(e.key));
      total -= e.bytes;
    }
    this.removeLeftovers();
  }

  private entryPath(key: string): string {
    if (!KEY_RE.test(key)) throw new TypeError(`not an adapter cache key: ${JSON.stringify(key)}`);
    return join(this.dir, key);
  }

  /**
   * Rename `temp` to `path`. An entry already there with the same tensors (another writer of the
   * same key) is kept, so its readers are never disturbed; any other one is replaced.
   */
  private moveIntoPlace(temp: string, path: string, hash: string): void {
    for (let attempt = 1; ; attempt++) {
      try {
        renameSync(temp, path);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt >= 3) throw err;
        if (sameTensors(path, hash)) {
          rmSync(temp, { recursive: true, force: true });
          return;
        }
        this.remove(path);
      }
    }
  }

  /** Take an entry away at once (rename), then delete it. */
  private remove(path: string): void {
    const trash = join(this.dir, `${TRASH_PREFIX}${randomUUID()}`);
    try {
      renameSync(path, trash);
    } catch {
      return; // gone already
    }
    try {
      rmSync(trash, { recursive: true, force: true });
    } catch {
      // left for the next eviction to remove
    }
  }

  /** Mark an entry used now; stamps strictly increase within this process so the order of uses is kept. */
  private touch(path: string): void {
    const stamp = Math.max(Date.now(), this.lastStamp + 1);
    this.lastStamp = stamp;
    try {
      utimesSync(path, stamp / 1000, stamp / 1000);
    } catch {
      // evicted by another process meanwhile: the adapter in hand is still good
    }
  }

  /** Folders left by writers or removers that died. */
  private removeLeftovers(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(this.dir, name);
      try {
        if (name.startsWith(TRASH_PREFIX) || (name.startsWith(TEMP_PREFIX) && Date.now() - statSync(path).mtimeMs > STALE_TEMP_MS)) {
          rmSync(path, { recursive: true, force: true });
        }
      } catch {
        // another process is removing it
      }
    }
  }
}

/** Whether the entry at `path` records tensors of this hash (false when it cannot be read). */
function sameTensors(path: string, hash: string): boolean {
  try {
    return readMeta(path).adapterHash === hash;
  } catch {
    return false;
  }
}

function readMeta(path: string): EntryMeta {
  const meta = JSON.parse(readFileSync(join(path, ENTRY_FILE), 'utf8')) as Partial<EntryMeta> | null;
  if (!meta || typeof meta.key !== 'string' || typeof meta.adapterHash !== 'string') throw new Error(`${ENTRY_FILE} is not an entry record`);
  return { key: meta.key, adapterHash: meta.adapterHash };
}
