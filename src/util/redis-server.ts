/**
 * A `redis-server` child process on a loopback port with persistence off: what `flock localnet
 * --workers` runs its evaluation queue on, and what the tests start. `kill()` then `start()` on the
 * same port stands for a Redis restart that loses everything.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { FlockError } from './errors.js';

export interface RedisServer {
  port: number;
  /** `redis://127.0.0.1:PORT`. */
  url: string;
  /** Start it (again) on the same port; resolves once it answers PING. */
  start(): Promise<void>;
  /** `kill -9` it; resolves once it is gone. */
  kill(): Promise<void>;
  /** Ask it to shut down (SIGTERM), `kill -9` after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface RedisServerOptions {
  /** Port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** The binary (default `redis-server` on PATH). */
  command?: string;
  /** Give up waiting for PING after this long (default 10 s). */
  startTimeoutMs?: number;
}

const INSTALL_HINT = 'install Redis: `sudo apt-get install redis-server` (Debian, Ubuntu), `brew install redis` (macOS); or point to one with --queue redis://HOST:PORT';

/** True when `command --version` runs. */
export function redisServerInstalled(command = 'redis-server'): boolean {
  const r = spawnSync(command, ['--version'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

/** A free TCP port on 127.0.0.1 (free when asked: another process may take it before it is used). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

/** True when nothing listens on 127.0.0.1:`port` (we could bind it just now). */
function portFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = createServer();
    s.once('error', () => ok(false));
    s.listen(port, '127.0.0.1', () => s.close(() => ok(true)));
  });
}

/** True once something on the port answers PING with +PONG. */
function pong(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const done = (v: boolean) => {
      socket.destroy();
      ok(v);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\r\n')) done(text.startsWith('+PONG'));
    });
  });
}

function running(proc: ChildProcess | undefined): proc is ChildProcess {
  return proc !== undefined && proc.exitCode === null && proc.signalCode === null;
}

/**
 * Start `redis-server` on 127.0.0.1 with persistence off (`--save '' --appendonly no`).
 * Throws a `FlockError` saying how to install it when the binary is missing.
 *
 * @example
 * const redis = await startRedisServer();
 * const queue = await EvaluationQueue.connect({ url: redis.url });
 * …
 * await redis.stop();
 */
export async function startRedisServer(o: RedisServerOptions = {}): Promise<RedisServer> {
  const command = o.command ?? 'redis-server';
  if (!redisServerInstalled(command)) throw new FlockError(`${command} is not installed (or not on PATH)`, { hint: INSTALL_HINT });
  const port = o.port ?? (await freeLoopbackPort());
  let child: ChildProcess | undefined;
  let output = '';
  const gone = (proc: ChildProcess) => new Promise<void>((r) => (running(proc) ? proc.once('exit', () => r()) : r()));
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (running(child)) return;
      // a PONG from another server on the port would pass for ours
      if (!(await portFree(port))) throw new FlockError(`cannot start redis-server: 127.0.0.1:${port} is taken by another process`, { hint: 'choose another port, or stop what listens there' });
      output = '';
      const proc = spawn(command, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
      proc.stdout!.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-8192); });
      proc.stderr!.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-8192); });
      proc.once('error', (err) => { output += `\n${err.message}`; });
      child = proc;
      const exited = gone(proc);
      const started = Date.now();
      while (!(await pong(port))) {
        if (!running(proc) || Date.now() - started > (o.startTimeoutMs ?? 10_000)) {
          proc.kill('SIGKILL');
          throw new FlockError(`redis-server did not start on 127.0.0.1:${port}`, { details: output.trim().split('\n').slice(-10), hint: 'is the port taken? see the lines above' });
        }
        await Promise.race([new Promise((r) => setTimeout(r, 50)), exited]);
      }
    },
    async kill() {
      const proc = child;
      child = undefined;
      if (!running(proc)) return;
      const exited = gone(proc);
      proc.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 5000) {
      const proc = child;
      child = undefined;
      if (!running(proc)) return;
      const exited = gone(proc);
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  await server.start();
  return server;
}
