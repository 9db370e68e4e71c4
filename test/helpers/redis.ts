/**
 * A real `redis-server` for a test file (the Debian package, installed by scripts/test.sh): on a
 * free loopback port, persistence off, killed at the end. `kill()` and `start()` again on the same
 * port stand for a Redis restart that loses everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';

export interface TestRedis {
  port: number;
  url: string;
  /** Start it (again) on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** `kill -9` it; resolves once it is gone. */
  kill(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

/** True once something answers PING with +PONG on the port. */
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

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';
  const redis: TestRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      output = '';
      const proc = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      proc.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
      proc.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      child = proc;
      const started = Date.now();
      while (!(await pong(port))) {
        if (proc.exitCode !== null || proc.signalCode !== null || Date.now() - started > 10_000) {
          proc.kill('SIGKILL');
          throw new Error(`redis-server did not start on port ${port} (is the redis-server package installed?):\n${output}`);
        }
        await Promise.race([new Promise((r) => setTimeout(r, 50)), exited]);
      }
    },
    async kill() {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGKILL');
      await gone;
    },
  };
  await redis.start();
  return redis;
}
