/**
 * The adapter cache: a dataset carried over to another evaluation set is evaluated with the adapter
 * trained for it earlier (no training step, losses bit-identical to training afresh, a receipt that
 * still names the dataset); anything that decides the trained bits changes the key; corrupt
 * entries are misses that get replaced; the byte budget evicts the least recently used; writers of
 * the same key in several processes never leave a partial entry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { rowHash, validateDataset } from '../../src/dataset/index.js';
import { ADAPTER_WEIGHTS_FILE, loraTensorName, type Adapter } from '../../src/engine/adapter.js';
import type { BackendIdentity } from '../../src/engine/backend/backend.js';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { loadCheckpoint, type Checkpoint } from '../../src/engine/checkpoint.js';
import { writePresetCheckpoint } from '../../src/engine/presets.js';
import { adapterHash, computeIdentity, stableHash } from '../../src/engine/run.js';
import { AdapterCache, adapterCacheKey, type AdapterKeyInputs } from '../../src/evaluation/adapter-cache.js';
import { competitionKey, type LoadedCompetition } from '../../src/evaluation/competition.js';
import { evaluateDataset } from '../../src/evaluation/evaluate.js';
import { taskRows, toJsonl } from '../../src/localnet/tasks.js';
import { deriveSeed, parseCompetition } from '../../src/protocol/index.js';
import { createLogger } from '../../src/util/log.js';

const REV = 'c'.repeat(40);
const RECIPE = { epochs: 1, gradientAccumulation: 2, warmupSteps: 1, maxSeqLen: 96, optimizer: { lr: 1e-2 } };
const backend = new CpuBackend({ threads: 1 });

/** The CPU backend under another device name: the same arithmetic, another compute identity. */
class OtherDeviceBackend extends CpuBackend {
  override identity(): BackendIdentity {
    return { ...super.identity(), device: 'another device' };
  }
}

let dir: string;
let checkpoint: Checkpoint;
/** The same competition with evaluation set A or B (two rounds). */
let onA: LoadedCompetition;
let onB: LoadedCompetition;
let cacheCount = 0;

/** A competition on `evalFile`, with the default recipe and seed unless told otherwise. */
async function competitionOn(evalFile: string, o: { recipe?: object; seed?: number } = {}): Promise<LoadedCompetition> {
  const evalSet = await validateDataset(evalFile);
  const parsed = parseCompetition({ protocol: 1, id: '1', baseModel: { repo: 'flock/tiny', revision: 'b'.repeat(40) }, recipe: o.recipe ?? RECIPE });
  if (!parsed.ok) throw new Error(parsed.reason);
  return {
    pointer: { competitionId: '1', repoId: 'flock/competition-1', revision: REV }, key: competitionKey('1', REV), competition: parsed.value,
    seed: o.seed ?? deriveSeed('1', REV).u32, evalRows: evalSet.rows, evalFingerprints: evalSet.fingerprints, evalSetHash: evalSet.identity,
    checkpoint, modelDir: join(dir, 'model'),
  };
}

/** A dataset file of these rows, and its identity. */
async function dataset(name: string, rows: ReturnType<typeof taskRows>): Promise<{ path: string; identity: string }> {
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, toJsonl(rows));
  return { path, identity: (await validateDataset(path)).identity };
}

/** A fresh, empty cache folder. */
function newCache(o: { maxBytes?: number; warnings?: string[] } = {}): AdapterCache {
  const log = o.warnings ? createLogger({ level: 'warning', stream: { write: (line: string) => o.warnings!.push(line) } }) : undefined;
  return new AdapterCache({ dir: join(dir, `cache-${++cacheCount}`), maxBytes: o.maxBytes, log });
}

/** Evaluate, counting optimizer steps. */
async function evaluateCounting(p: Parameters<typeof evaluateDataset>[0]) {
  let steps = 0;
  const r = await evaluateDataset({ ...p, onTrainStep: () => steps++ });
  return { ...r, steps };
}

/** The key `evaluateDataset` uses for a dataset file trained whole under `c`. */
async function keyOf(c: LoadedCompetition, rows: ReturnType<typeof taskRows>, b = backend): Promise<string> {
  return adapterCacheKey({
    rowHashes: rows.map((r) => rowHash({ system: r.system ?? null, conversations: r.conversations })), recipeHash: stableHash(c.competition.recipe),
    seed: c.seed, modelHash: c.checkpoint.hash, compute: computeIdentity(b).key,
  });
}

/** A small valid adapter (no base model needed) whose values depend on `seed`. */
function syntheticAdapter(seed: number): Adapter {
  const fill = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 31 + i));
  return {
    r: 2, alpha: 4, dropout: 0, targetModules: ['q_proj'], baseModel: 'test',
    weights: new Map([
      [loraTensorName(0, 'q_proj', 'A'), { shape: [2, 8], data: fill(16) }],
      [loraTensorName(0, 'q_proj', 'B'), { shape: [8, 2], data: fill(16) }],
    ]),
  };
}

const key = (n: number) => n.toString(16).padStart(64, '0');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flock-adapter-cache-'));
  writePresetCheckpoint(join(dir, 'model'), 'tiny', { seed: 3 });
  checkpoint = await loadCheckpoint(join(dir, 'model'));
  writeFileSync(join(dir, 'eval-a.jsonl'), toJsonl(taskRows(6, 900)));
  writeFileSync(join(dir, 'eval-b.jsonl'), toJsonl(taskRows(6, 901)));
  onA = await competitionOn(join(dir, 'eval-a.jsonl'));
  onB = await competitionOn(join(dir, 'eval-b.jsonl'));
});
afterAll(() => {
  backend.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('evaluateDataset with an adapter cache', () => {
  it('evaluates a dataset carried over to a new evaluation set with its cached adapter: no training, losses bit-identical to training afresh', async () => {
    const d = await dataset('carried', taskRows(8, 5));
    const cache = newCache();
    const first = await evaluateCounting({ competition: onA, backend, datasetPath: d.path, identity: d.identity, adapters: cache });
    expect(first.reusedAdapter).toBe(false);
    expect(first.steps).toBe(4);
    expect(first.trainSeconds).toBeGreaterThan(0);
    expect(cache.entries().map((e) => e.key)).toEqual([await keyOf(onA, taskRows(8, 5))]);

    const hit = await evaluateCounting({ competition: onB, backend, datasetPath: d.path, identity: d.identity, adapters: cache });
    const fresh = await evaluateCounting({ competition: onB, backend, datasetPath: d.path, identity: d.identity });
    expect(hit.reusedAdapter).toBe(true);
    expect(hit.steps).toBe(0);
    expect(hit.trainSeconds).toBe(0);
    expect(fresh.reusedAdapter).toBe(false);
    expect(fresh.steps).toBe(4);
    expect(hit.losses).toHaveLength(6);
    expect(hit.losses.length).toBe(fresh.losses.length);
    const differing = hit.losses.filter((l, i) => !Object.is(l, fresh.losses[i]));
    expect(differing).toEqual([]);
    expect(Object.is(hit.evalLoss, fresh.evalLoss)).toBe(true);
    expect(hit.losses).not.toEqual(first.losses); // another evaluation set: other losses

    // the receipt of a hit names the dataset and the adapter it evaluated: the same receipt as training afresh
    const cached = cache.get(cache.entries()[0]!.key, checkpoint.config)!;
    expect(hit.receipt.datasetHash).toBe(d.identity);
    expect(hit.receipt.evalSetHash).toBe(onB.evalSetHash);
    expect(hit.receipt.adapterHash).toBe(adapterHash(cached));
    expect(hit.receipt).toEqual(fresh.receipt);
  });

  it('never uses the cache for the base model', async () => {
    const cache = newCache();
    const base = await evaluateCounting({ competition: onA, backend, datasetPath: null, identity: null, adapters: cache });
    expect(base.reusedAdapter).toBe(false);
    expect(base.steps).toBe(0);
    expect(base.receipt).toMatchObject({ datasetHash: null, adapterHash: null });
    expect(existsSync(cache.dir)).toBe(false);
  });

  it('misses when the seed, the recipe, the rows trained on or the compute identity differ', async () => {
    const rows = taskRows(8, 6);
    const d = await dataset('variants', rows);
    const cache = newCache();
    expect((await evaluateCounting({ competition: onA, backend, datasetPath: d.path, identity: d.identity, adapters: cache })).reusedAdapter).toBe(false);

    const otherSeed = await competitionOn(join(dir, 'eval-b.jsonl'), { seed: onB.seed + 1 });
    const otherRecipe = await competitionOn(join(dir, 'eval-b.jsonl'), { recipe: { ...RECIPE, optimizer: { lr: 2e-2 } } });
    const moreRows = await dataset('variants-plus-one', [...rows, ...taskRows(1, 60)]);
    const otherDevice = new OtherDeviceBackend({ threads: 1 });
    try {
      expect(computeIdentity(otherDevice).key).not.toBe(computeIdentity(backend).key);
      const misses = [
        await evaluateCounting({ competition: otherSeed, backend, datasetPath: d.path, identity: d.identity, adapters: cache }),
        await evaluateCounting({ competition: otherRecipe, backend, datasetPath: d.path, identity: d.identity, adapters: cache }),
        await evaluateCounting({ competition: onB, backend, datasetPath: moreRows.path, identity: moreRows.identity, adapters: cache }),
        await evaluateCounting({ competition: onB, backend: otherDevice, datasetPath: d.path, identity: d.identity, adapters: cache }),
      ];
      for (const m of misses) {
        expect(m.reusedAdapter).toBe(false);
        expect(m.steps).toBeGreaterThan(0);
      }
    } finally {
      otherDevice.dispose();
    }
    expect(cache.entries()).toHaveLength(5); // one adapter per distinct training
    // the original training still hits on set B
    expect((await evaluateCounting({ competition: onB, backend, datasetPath: d.path, identity: d.identity, adapters: cache })).reusedAdapter).toBe(true);
  });

  it('misses when another evaluation set drops other contaminated rows of the same dataset', async () => {
    // clean against set A; two of its rows are examples of set B
    const d = await dataset('contaminated-on-b', [...taskRows(8, 7), ...taskRows(6, 901).slice(0, 2)]);
    const cache = newCache();
    const onSetA = await evaluateCounting({ competition: onA, backend, datasetPath: d.path, identity: d.identity, adapters: cache });
    expect(onSetA.receipt.droppedContaminatedRows).toBe(0);
    const onSetB = await evaluateCounting({ competition: onB, backend, datasetPath: d.path, identity: d.identity, adapters: cache });
    expect(onSetB.receipt.droppedContaminatedRows).toBe(2);
    expect(onSetB.reusedAdapter).toBe(false);
    expect(onSetB.steps).toBe(4);
    expect(cache.entries()).toHaveLength(2);
  });

  it('treats a truncated entry as a miss: retrains, and replaces it', async () => {
    const rows = taskRows(8, 8);
    const d = await dataset('corrupted', rows);
    const warnings: string[] = [];
    const cache = newCache({ warnings });
    await evaluateDataset({ competition: onA, backend, datasetPath: d.path, identity: d.identity, adapters: cache });
    const k = await keyOf(onA, rows);
    const weights = join(cache.dir, k, ADAPTER_WEIGHTS_FILE);
    const whole = readFileSync(weights);
    truncateSync(weights, whole.length - 100);

    const again = await evaluateCounting({ competition: onB, backend, datasetPath: d.path, identity: d.identity, adapters: cache });
    expect(again.reusedAdapter).toBe(false);
    expect(again.steps).toBe(4);
    expect(warnings.join('')).toContain(`the entry ${k.slice(0, 12)} is unreadable`);
    expect(readFileSync(weights).equals(whole)).toBe(true); // replaced by the same training's adapter
    expect(cache.get(k, checkpoint.config)).toBeDefined();
    expect((await evaluateCounting({ competition: onB, backend, datasetPath: d.path, identity: d.identity, adapters: cache })).reusedAdapter).toBe(true);
  });
});

describe('AdapterCache', () => {
  it('keys on every input that decides the trained bits, and not on the order of the rows', () => {
    const base: AdapterKeyInputs = { rowHashes: ['a1', 'b2', 'c3'], recipeHash: 'r', seed: 7, modelHash: 'm', compute: 'flock-engine · cpu' };
    const k = adapterCacheKey(base);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(adapterCacheKey({ ...base, rowHashes: ['c3', 'a1', 'b2'] })).toBe(k);
    const variants: AdapterKeyInputs[] = [
      { ...base, rowHashes: ['a1', 'b2'] }, { ...base, rowHashes: ['a1', 'b2', 'c3', 'c3'] }, { ...base, recipeHash: 'r2' },
      { ...base, seed: 8 }, { ...base, modelHash: 'm2' }, { ...base, compute: 'flock-engine · webgpu' },
    ];
    const keys = new Set([k, ...variants.map(adapterCacheKey)]);
    expect(keys.size).toBe(variants.length + 1);
  });

  it('returns what was stored, bit for bit, and misses an unknown key', () => {
    const cache = newCache();
    expect(cache.get(key(1))).toBeUndefined();
    const a = syntheticAdapter(1);
    expect(cache.put(key(1), a)).toBe(true);
    const got = cache.get(key(1))!;
    expect(adapterHash(got)).toBe(adapterHash(a));
    expect(cache.get(key(2))).toBeUndefined();
    expect(() => cache.get('../escape')).toThrow(TypeError);
  });

  it('treats a damaged entry as a miss and removes it: flipped tensor bits, a missing or garbled record, a missing file', () => {
    const warnings: string[] = [];
    const cache = newCache({ warnings });
    const damages: ((path: string) => void)[] = [
      (p) => {
        const bytes = readFileSync(join(p, ADAPTER_WEIGHTS_FILE));
        bytes[bytes.length - 1]! ^= 0x01; // same size, one bit of a tensor
        writeFileSync(join(p, ADAPTER_WEIGHTS_FILE), bytes);
      },
      (p) => rmSync(join(p, 'entry.json')),
      (p) => writeFileSync(join(p, 'entry.json'), '{"key":'),
      (p) => rmSync(join(p, 'adapter_config.json')),
    ];
    damages.forEach((damage, i) => {
      cache.put(key(10 + i), syntheticAdapter(i));
      damage(join(cache.dir, key(10 + i)));
      expect(cache.get(key(10 + i))).toBeUndefined();
      expect(existsSync(join(cache.dir, key(10 + i)))).toBe(false);
    });
    expect(warnings).toHaveLength(damages.length);
    expect(readdirSync(cache.dir)).toEqual([]); // removed whole
  });

  it('an entry moved under another key is a miss', () => {
    const cache = newCache();
    cache.put(key(20), syntheticAdapter(20));
    mkdirSync(join(cache.dir, key(21)));
    for (const f of readdirSync(join(cache.dir, key(20)))) writeFileSync(join(cache.dir, key(21), f), readFileSync(join(cache.dir, key(20), f)));
    expect(cache.get(key(21))).toBeUndefined();
    expect(cache.get(key(20))).toBeDefined();
  });

  it('keeps the most recently used entries within its byte budget', () => {
    const probe = newCache();
    probe.put(key(1), syntheticAdapter(1));
    const one = probe.entries()[0]!.bytes;
    const cache = newCache({ maxBytes: 2 * one + one / 2 }); // room for two
    cache.put(key(1), syntheticAdapter(1));
    cache.put(key(2), syntheticAdapter(2));
    expect(cache.get(key(1))).toBeDefined(); // 1 is now used after 2
    cache.put(key(3), syntheticAdapter(3)); // over budget: 2 goes
    expect(cache.entries().map((e) => e.key).sort()).toEqual([key(1), key(3)]);
    expect(cache.get(key(2))).toBeUndefined();
    cache.put(key(4), syntheticAdapter(4)); // 1 was used before 3 was stored
    expect(cache.entries().map((e) => e.key).sort()).toEqual([key(3), key(4)]);
    expect(cache.entries().reduce((s, e) => s + e.bytes, 0)).toBeLessThanOrEqual(cache.maxBytes);
  });

  it('removes temporary folders left by a writer that died', () => {
    const cache = newCache();
    const stale = join(cache.dir, '.tmp-dead-writer');
    const recent = join(cache.dir, '.tmp-live-writer');
    mkdirSync(stale, { recursive: true });
    mkdirSync(recent, { recursive: true });
    const old = (Date.now() - 2 * 3600_000) / 1000;
    utimesSync(stale, old, old);
    cache.put(key(1), syntheticAdapter(1));
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(recent)).toBe(true); // may be another process writing now
    expect(statSync(join(cache.dir, key(1))).isDirectory()).toBe(true);
  });

  it('several processes writing the same key while another reads never leave or show a partial entry', async () => {
    const cache = newCache();
    const a = syntheticAdapter(5);
    const expected = adapterHash(a);
    const moduleUrl = pathToFileURL(resolve('src/evaluation/adapter-cache.ts')).href;
    const script = join(dir, 'writer.ts');
    writeFileSync(script, [
      `import { AdapterCache } from ${JSON.stringify(moduleUrl)};`,
      `const fill = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(5 * 31 + i));`,
      `const adapter = { r: 2, alpha: 4, dropout: 0, targetModules: ['q_proj'], baseModel: 'test', weights: new Map([`,
      `  ['model.layers.0.self_attn.q_proj.lora_A.weight', { shape: [2, 8], data: fill(16) }],`,
      `  ['model.layers.0.self_attn.q_proj.lora_B.weight', { shape: [8, 2], data: fill(16) }]]) };`,
      `const cache = new AdapterCache({ dir: process.argv[2]! });`,
      `for (let i = 0; i < 40; i++) if (!cache.put(process.argv[3]!, adapter)) process.exit(3);`,
    ].join('\n'));
    const writers = Array.from({ length: 3 }, () => new Promise<number | null>((done) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, cache.dir, key(7)], { stdio: 'inherit' });
      child.on('close', done);
    }));
    let running = true;
    const exits = Promise.all(writers).finally(() => { running = false; });
    const warnings: string[] = [];
    const log = createLogger({ level: 'warning', stream: { write: (line: string) => warnings.push(line) } });
    const reads = { hits: 0, misses: 0 };
    while (running) {
      const got = new AdapterCache({ dir: cache.dir, log }).get(key(7));
      if (got) {
        expect(adapterHash(got)).toBe(expected);
        reads.hits++;
      } else {
        reads.misses++;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(await exits).toEqual([0, 0, 0]);
    expect(warnings).toEqual([]); // no reader ever saw a partial entry
    expect(reads.hits).toBeGreaterThan(0);
    expect(adapterHash(cache.get(key(7))!)).toBe(expected);
    expect(readdirSync(cache.dir)).toEqual([key(7)]); // no temporary folder left
  }, 60_000);
});
