/**
 * A real `redis-server` for a test file (the Debian package, installed by scripts/test.sh): on a
 * free loopback port, persistence off, killed at the end. `kill()` and `start()` again on the same
 * port stand for a Redis restart that loses everything.
 */
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';

export type TestRedis = RedisServer;

export function startRedis(): Promise<TestRedis> {
  return startRedisServer();
}
