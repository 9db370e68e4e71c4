/** The fetch policy on real local servers: where the token goes, body idle timeout, commit retries. */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createPolicyFetch } from '../../../src/hub/client/policy-fetch.js';
import { HubUnavailableError } from '../../../src/hub/index.js';
import { silentLogger } from '../../../src/util/log.js';

const servers: Server[] = [];
async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  return `http://127.0.0.1:${(s.address() as { port: number }).port}`;
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((ok) => s.close(ok));
  }
});

const policy = (hubUrl: string, extra = {}) => ({ hubUrl, token: 'tok-policy-0123456789', timeoutMs: 2000, retries: 2, retryBaseMs: 5, log: silentLogger, ...extra });

describe('createPolicyFetch', () => {
  it('sends the token to the hub only, never to another host, and keeps other hosts\' own credentials', async () => {
    const seen: { where: string; headers: IncomingHttpHeaders }[] = [];
    const hubUrl = await serve((req, res) => { seen.push({ where: 'hub', headers: req.headers }); res.end('{}'); });
    const otherUrl = await serve((req, res) => { seen.push({ where: 'other', headers: req.headers }); res.end('{}'); });
    const f = createPolicyFetch(policy(hubUrl));
    await (await f(`${hubUrl}/api/x`, { headers: { Authorization: 'Bearer undefined' } })).text();
    await (await f(`${otherUrl}/upload`, { headers: { Authorization: 'Bearer tok-policy-0123456789' } })).text();
    await (await f(`${otherUrl}/cas`, { headers: { Authorization: 'Bearer xet-own-token' } })).text();
    expect(seen.map((s) => [s.where, s.headers.authorization])).toEqual([
      ['hub', 'Bearer tok-policy-0123456789'],
      ['other', undefined],
      ['other', 'Bearer xet-own-token'],
    ]);
  });

  it('aborts a body that stops arriving (idle timeout)', async () => {
    const hubUrl = await serve((req, res) => { res.writeHead(200); res.write('partial'); /* never ends */ });
    const f = createPolicyFetch(policy(hubUrl, { timeoutMs: 200 }));
    const res = await f(`${hubUrl}/slow`);
    await expect(res.text()).rejects.toThrow();
  });

  it('does not retry a commit the hub may have applied (5xx), but retries reads', async () => {
    let hits = 0;
    const hubUrl = await serve((req, res) => { hits++; res.writeHead(502); res.end(); });
    const f = createPolicyFetch(policy(hubUrl));
    await expect(f(`${hubUrl}/api/datasets/a/b/commit/main`, { method: 'POST', body: '{}' })).rejects.toThrow(HubUnavailableError);
    expect(hits).toBe(1);
    hits = 0;
    await expect(f(`${hubUrl}/api/datasets/a/b/revision/main`)).rejects.toThrow(HubUnavailableError);
    expect(hits).toBe(3);
  });
});
