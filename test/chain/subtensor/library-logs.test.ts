/** @polkadot's console lines go to the open client's logger while one is open, and nowhere else. */
import { afterEach, describe, expect, it } from 'vitest';
import { logger } from '@polkadot/util';
import { routeLibraryLogs } from '../../../src/chain/subtensor/library-logs.js';
import { createLogger } from '../../../src/util/log.js';

const restore: Array<() => void> = [];
afterEach(() => { for (const f of restore.splice(0)) f(); });

function capture() {
  const lines: string[] = [];
  return { lines, log: createLogger({ level: 'debug', stream: { write: (l: string) => lines.push(l) } }) };
}

describe('routeLibraryLogs', () => {
  it("sends @polkadot's logger lines to our logger at debug, passes everything else through, and undoes itself", () => {
    const seen: unknown[][] = [];
    const real = console.error;
    console.error = (...args: unknown[]) => { seen.push(args); };
    restore.push(() => { console.error = real; });
    const { lines, log } = capture();
    const unroute = routeLibraryLogs(log);
    logger('api-ws').error('disconnected from ws://127.0.0.1:9944: 1006:: Abnormal Closure');
    console.error('an ordinary line', 42);
    expect(seen).toEqual([['an ordinary line', 42]]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\| DEBUG \| API-WS: disconnected from ws:\/\/127\.0\.0\.1:9944: 1006:: Abnormal Closure/);
    unroute();
    unroute(); // twice is harmless
    logger('api-ws').error('after');
    expect(seen.at(-1)?.some((a) => typeof a === 'string' && a.includes('API-WS:'))).toBe(true);
    expect(lines).toHaveLength(1);
  });

  it('the most recently routed logger gets the lines; closing it hands them back to the one before', () => {
    const real = console.error;
    console.error = () => undefined;
    restore.push(() => { console.error = real; });
    const a = capture(), b = capture();
    const offA = routeLibraryLogs(a.log);
    const offB = routeLibraryLogs(b.log);
    logger('api-ws').error('one');
    offB();
    logger('api-ws').error('two');
    offA();
    expect(a.lines.map((l) => l.includes('two'))).toEqual([true]);
    expect(b.lines.map((l) => l.includes('one'))).toEqual([true]);
  });
});
