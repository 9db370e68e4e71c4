import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { FlockError } from '../../src/util/errors.js';
import { redisServerInstalled, startRedisServer, type RedisServer } from '../../src/util/redis-server.js';

const started: RedisServer[] = [];
afterAll(async () => {
  for (const s of started) await s.kill();
});

async function roundTrip(url: string, value: string): Promise<string | null> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true });
  client.on('error', () => undefined); // a refused connection rejects connect() below; no unhandled event
  try {
    await client.connect();
    await client.set('k', value);
    return await client.get('k');
  } finally {
    client.disconnect();
  }
}

describe('startRedisServer', () => {
  it('runs a redis-server on a loopback port that clients can use, and stops it', async () => {
    const redis = await startRedisServer();
    started.push(redis);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await roundTrip(redis.url, 'one')).toBe('one');
    await redis.stop();
    await expect(roundTrip(redis.url, 'two')).rejects.toThrow();
  });

  it('starts again on the same port after a kill, with nothing kept (persistence off)', async () => {
    const redis = await startRedisServer();
    started.push(redis);
    await roundTrip(redis.url, 'before');
    await redis.kill();
    await redis.start();
    const client = new Redis(redis.url, { lazyConnect: true });
    await client.connect();
    expect(await client.get('k')).toBeNull();
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    expect(await client.config('GET', 'save')).toEqual(['save', '']);
    client.disconnect();
  });

  it('says how to install Redis when the binary is missing', async () => {
    expect(redisServerInstalled('redis-server-that-is-not-there')).toBe(false);
    const err = await startRedisServer({ command: 'redis-server-that-is-not-there' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlockError);
    expect((err as FlockError).hint).toMatch(/apt-get install redis-server/);
  });

  it('names the port when another process holds it', async () => {
    const first = await startRedisServer();
    started.push(first);
    const err = await startRedisServer({ port: first.port, startTimeoutMs: 3000 }).catch((e: unknown) => e);
    // the second server cannot bind: it exits, and the first still answers
    expect(err).toBeInstanceOf(FlockError);
    expect((err as FlockError).message).toContain(String(first.port));
    expect(await roundTrip(first.url, 'still')).toBe('still');
  });
});
