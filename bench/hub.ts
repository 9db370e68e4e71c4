/**
 * Hub throughput and memory: upload and download a large `data.jsonl` through the local hub,
 * client and server each in its own process so each one's peak RSS is its own.
 *
 *   npx tsx bench/hub.ts                 # 100 MB and 300 MB
 *   HUB_BENCH_MB=100 npx tsx bench/hub.ts
 *
 * Prints, per size: upload and download MB/s (wall clock of the client call) and the client's
 * CPU seconds for it, the client's peak RSS for each, and the server's peak RSS so far. Streaming means peak RSS stays flat as the
 * file grows.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HubClient, startHubServer } from '../src/hub/index.js';

const TOKEN = 'tok-bench-0123456789';
const MB = 1024 * 1024;
const self = fileURLToPath(import.meta.url);
const peakRssMb = () => process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB

function child(args: string[]): ChildProcess {
  return spawn(process.execPath, [...process.execArgv, self, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
}

async function firstLine(p: ChildProcess): Promise<string> {
  const rl = createInterface({ input: p.stdout! });
  const [line] = (await once(rl, 'line')) as [string];
  rl.close();
  return line;
}

/** Server role: start the hub, print its URL, answer "rss" lines on stdin with the peak RSS. */
async function serverRole(dir: string): Promise<void> {
  const hub = await startHubServer({ dir, tokens: [{ name: 'bench', token: TOKEN }] });
  process.stdout.write(`${hub.url}\n`);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'rss') process.stdout.write(`${peakRssMb().toFixed(1)}\n`);
    if (line === 'stop') break;
  }
  await hub.close();
  process.exit(0);
}

/** Client role: one upload or download; prints {seconds, peakRssMb}. */
async function clientRole(url: string, mode: string, file: string, cacheDir: string): Promise<void> {
  const client = new HubClient({ hubUrl: url, token: TOKEN, cacheDir, timeoutMs: 120_000 });
  const started = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  if (mode === 'upload') {
    await client.createRepo({ repo: 'bench/data', existOk: true });
    await client.uploadFiles({ repo: 'bench/data', files: [{ path: 'data.jsonl', file }] });
  } else {
    const local = await client.downloadFile({ repo: 'bench/data', revision: 'main', path: 'data.jsonl', maxBytes: 2 * 1024 * MB });
    if (statSync(local).size !== statSync(file).size) throw new Error('size mismatch');
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  process.stdout.write(`${JSON.stringify({ seconds, cpuSeconds, peakRssMb: peakRssMb() })}\n`);
}

/** A JSONL chat dataset of about `bytes` bytes, written in chunks. */
async function writeJsonl(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  let written = 0;
  let i = 0;
  while (written < bytes) {
    const rows: string[] = [];
    for (let k = 0; k < 1000; k++, i++) {
      rows.push(JSON.stringify({ system: null, conversations: [
        { role: 'user', content: `Question ${i}: what is ${i} times ${i % 97}?` },
        { role: 'assistant', content: `${i} times ${i % 97} is ${i * (i % 97)}. `.repeat(3) },
      ] }));
    }
    const chunk = `${rows.join('\n')}\n`;
    written += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

interface Timing { seconds: number; cpuSeconds: number; peakRssMb: number }

async function run(p: ChildProcess): Promise<Timing> {
  const line = await firstLine(p);
  const [code] = (await once(p, 'exit')) as [number];
  if (code !== 0) throw new Error(`client exited ${code}`);
  return JSON.parse(line) as Timing;
}

async function main(): Promise<void> {
  const sizes = (process.env.HUB_BENCH_MB ?? '100,300').split(',').map(Number);
  const root = mkdtempSync(join(tmpdir(), 'hub-bench-'));
  const server = child(['server', join(root, 'hub')]);
  const url = await firstLine(server);
  const serverRss = async () => {
    server.stdin!.write('rss\n');
    return Number(await firstLine(server));
  };
  console.log(`local hub ${url}; client and server in separate processes (Node ${process.version})`);
  console.log('MB/s is wall clock; "client CPU s" is the client process\'s own CPU time (user+sys) for the call.');
  console.log('size MB | upload MB/s | upload client CPU s | client peak RSS up MB | download MB/s | download client CPU s | client peak RSS down MB | server peak RSS MB');
  try {
    for (const size of sizes) {
      const file = join(root, `data-${size}.jsonl`);
      await writeJsonl(file, size * MB);
      const bytes = statSync(file).size;
      const up = await run(child(['client', url, 'upload', file, join(root, `cache-up-${size}`)]));
      const down = await run(child(['client', url, 'download', file, join(root, `cache-down-${size}`)]));
      const srv = await serverRss();
      console.log([
        (bytes / MB).toFixed(0), (bytes / MB / up.seconds).toFixed(1), up.cpuSeconds.toFixed(1), up.peakRssMb.toFixed(0),
        (bytes / MB / down.seconds).toFixed(1), down.cpuSeconds.toFixed(1), down.peakRssMb.toFixed(0), srv.toFixed(0),
      ].join(' | '));
      rmSync(file);
    }
  } finally {
    server.stdin!.write('stop\n');
    await once(server, 'exit');
    rmSync(root, { recursive: true, force: true });
  }
}

const [role, ...args] = process.argv.slice(2);
if (role === 'server') await serverRole(args[0]!);
else if (role === 'client') await clientRole(args[0]!, args[1]!, args[2]!, args[3]!);
else await main();
