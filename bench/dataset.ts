/**
 * Dataset toolkit benchmark: prints its figures. Run: `npx tsx bench/dataset.ts`
 * (build first — `npm run build` — for the RSS figure, which runs the real `flock` CLI).
 *
 * 1. Fingerprinting throughput, one core: read + validate + canonicalise + SHA-256 + MinHash/LSH
 *    of a ~20 MB JSONL file of ~1 KB rows (`scanDataset`), in MB of JSONL per second.
 * 2. Index query: a 20 000-row dataset (~1 KB rows) against a fingerprint index holding 255 other
 *    datasets of 20 000 rows. Five of them are real and related to the query (an exact copy, a
 *    shuffled re-cased copy, a copy with every row 10% edited, a half copy, an unrelated dataset);
 *    the other 250 are unrelated datasets whose keys are drawn at random (fingerprinting 5 million
 *    real rows would take minutes and unrelated fingerprints are indistinguishable from random
 *    keys).
 * 3. Peak RSS of `flock dataset check` on a 1 GB file (generated in /tmp, deleted afterwards),
 *    measured as the child process's maxRSS.
 *
 * Flags: --skip-rss, --skip-index, --rss-gb N (default 1).
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanDataset } from '../src/dataset/scan.js';
import { FingerprintIndex } from '../src/dataset/fingerprint-index.js';
import { fingerprintRows } from '../src/dataset/fingerprint-rows.js';
import { BAND_COUNT } from '../src/dataset/fingerprint.js';
import { canonicalJson, type CanonicalRow } from '../src/dataset/canonical.js';
import { makeRows, recased, shuffled, wordEdited, Rng } from '../test/dataset/synthetic.js';

const args = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'flock-bench-dataset-'));
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const mb = (bytes: number) => bytes / 1e6;

function jsonl(rows: CanonicalRow[]): string {
  return rows.map((r) => canonicalJson(r)).join('\n') + '\n';
}

async function fingerprinting(): Promise<void> {
  const rows = makeRows(1, 20_000, 1000);
  const path = join(dir, 'fp.jsonl');
  writeFileSync(path, jsonl(rows));
  const bytes = statSync(path).size;
  await scanDataset(path); // warm-up
  const runs: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const scan = await scanDataset(path);
    const c = process.cpuUsage(c0);
    runs.push(seconds(t0));
    cpu.push((c.user + c.system) / 1e6);
    if (!scan.valid) throw new Error('bench data invalid');
  }
  const best = Math.min(...runs);
  const bestCpu = Math.min(...cpu);
  console.log(`fingerprinting (read + validate + canonicalise + SHA-256 + MinHash/LSH, one thread): ${mb(bytes).toFixed(1)} MB, 20 000 rows`);
  console.log(`  best of 3: ${best.toFixed(3)} s wall → ${(mb(bytes) / best).toFixed(1)} MB/s; ${bestCpu.toFixed(3)} s CPU → ${(mb(bytes) / bestCpu).toFixed(1)} MB per CPU-second (load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)`);
}

function randomFingerprints(seed: number, rows: number) {
  const r = new Rng(seed);
  const exact = new Uint32Array(rows);
  const bands = new Uint32Array(rows * BAND_COUNT);
  for (let i = 0; i < exact.length; i++) exact[i] = (r.next() * 2 ** 32) >>> 0;
  for (let i = 0; i < bands.length; i++) bands[i] = (r.next() * 2 ** 32) >>> 0;
  return { identity: `random-${seed}`, rows, exact, bands };
}

async function indexQuery(): Promise<void> {
  const N = 20_000;
  const path = join(dir, 'index.sqlite');
  let t0 = performance.now();
  const query = makeRows(2, N, 1000);
  const related: [string, CanonicalRow[]][] = [
    ['exact-copy', query],
    ['shuffled-recased-copy', shuffled(recased(query))],
    ['edited-copy', wordEdited(query, 0.1)],
    ['half-copy', [...query.slice(0, N / 2), ...makeRows(3, N / 2, 1000)]],
    ['unrelated', makeRows(4, N, 1000)],
  ];
  const index = FingerprintIndex.open(path);
  for (const [id, rows] of related) index.add(id, fingerprintRows(rows));
  for (let d = 0; d < 250; d++) index.add(`random-${d}`, randomFingerprints(1000 + d, N));
  index.close();
  console.log(`index: built with 255 datasets × ${N} rows in ${seconds(t0).toFixed(1)} s (${mb(statSync(path).size).toFixed(0)} MB)`);

  const queryFile = join(dir, 'query.jsonl');
  writeFileSync(queryFile, jsonl(query));
  const runs: number[] = [];
  const cpu: number[] = [];
  const endToEnd: number[] = [];
  const endToEndCpu: number[] = [];
  let result: ReturnType<FingerprintIndex['query']> = [];
  for (let i = 0; i < 3; i++) {
    t0 = performance.now();
    const c0 = process.cpuUsage();
    const scan = await scanDataset(queryFile);
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    const idx = FingerprintIndex.open(path);
    result = idx.query(scan.fingerprints);
    idx.close();
    const cq = process.cpuUsage(c1);
    const ce = process.cpuUsage(c0);
    runs.push((performance.now() - t1) / 1000);
    cpu.push((cq.user + cq.system) / 1e6);
    endToEnd.push(seconds(t0));
    endToEndCpu.push((ce.user + ce.system) / 1e6);
  }
  console.log(`index query: 20 000-row dataset vs 255 × 20 000 rows (best of 3, load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores):`);
  console.log(`  query alone ${Math.min(...runs).toFixed(3)} s wall, ${Math.min(...cpu).toFixed(3)} s CPU; read + validate + fingerprint + query ${Math.min(...endToEnd).toFixed(3)} s wall, ${Math.min(...endToEndCpu).toFixed(3)} s CPU`);
  console.log(`  overlaps: ${result.map((m) => `${m.datasetId} ${m.overlap.toFixed(3)}`).join(', ')}`);
}

async function peakRss(): Promise<void> {
  const gb = Number(args[args.indexOf('--rss-gb') + 1] ?? 1) || 1;
  const target = gb * 1e9;
  const path = join(dir, 'big.jsonl');
  const block = makeRows(5, 5000, 1000);
  const out = createWriteStream(path);
  let written = 0;
  let n = 0;
  while (written < target) {
    for (const row of block) {
      // a unique first line per row, so every row hash differs
      const r: CanonicalRow = { system: row.system, conversations: row.conversations.map((t, i) => (i === 0 ? { role: t.role, content: `Row ${n}. ${t.content}` } : t)) };
      const line = canonicalJson(r) + '\n';
      written += Buffer.byteLength(line);
      n++;
      if (!out.write(line)) await once(out, 'drain');
      if (written >= target) break;
    }
  }
  out.end();
  await once(out, 'finish');
  const bin = fileURLToPath(new URL('../bin/flock.js', import.meta.url));
  const t0 = performance.now();
  // run the real CLI in a child and read its own peak RSS when it exits
  const probe = `process.on('exit', () => process.stderr.write('MAXRSS_KB=' + process.resourceUsage().maxRSS + '\\n')); process.argv = [process.argv[0], ${JSON.stringify(bin)}, 'dataset', 'check', ${JSON.stringify(path)}, '--json']; await import(${JSON.stringify(bin)});`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const kb = Number(/MAXRSS_KB=(\d+)/.exec(r.stderr)?.[1]);
  const summary = r.stdout ? JSON.parse(r.stdout) as { rows: number; valid: boolean } : null;
  console.log(`peak RSS of flock dataset check on ${mb(statSync(path).size).toFixed(0)} MB (${n} rows): ${(kb / 1024).toFixed(0)} MiB, ${seconds(t0).toFixed(1)} s, exit ${r.status}, valid ${summary?.valid}, rows ${summary?.rows}`);
  if (r.status !== 0) console.log(r.stderr.slice(0, 2000));
  rmSync(path, { force: true });
}

try {
  await fingerprinting();
  if (!args.includes('--skip-index')) await indexQuery();
  if (!args.includes('--skip-rss')) await peakRss();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
