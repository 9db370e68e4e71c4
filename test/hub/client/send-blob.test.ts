/** Streaming a Blob body through node:http: the whole body with its length, and the server's answer. */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { sendBlob } from '../../../src/hub/client/send-blob.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((ok) => server ? server.close(ok) : ok(undefined));
  server = undefined;
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<URL> {
  server = createServer(handler);
  await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
  return new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/upload`);
}

describe('sendBlob', () => {
  it('sends every byte with Content-Length and returns the answer as a Response', async () => {
    const url = await serve((req, res) => {
      const hash = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => { n += c.length; hash.update(c); });
      req.on('end', () => {
        res.writeHead(201, { 'Content-Type': 'application/json', ETag: '"x"' });
        res.end(JSON.stringify({ n, length: req.headers['content-length'], auth: req.headers.authorization, sha: hash.digest('hex') }));
      });
    });
    const bytes = Buffer.alloc(3 * 1024 * 1024, 3);
    const res = await sendBlob(url, 'PUT', new Headers({ Authorization: 'Bearer t' }), new Blob([bytes]), new AbortController().signal);
    expect(res.status).toBe(201);
    expect(res.headers.get('etag')).toBe('"x"');
    expect(await res.json()).toEqual({ n: bytes.length, length: String(bytes.length), auth: 'Bearer t', sha: createHash('sha256').update(bytes).digest('hex') });
  });

  it('returns a refusal the server sends before reading the body', async () => {
    const url = await serve((req, res) => {
      res.writeHead(403, { 'Content-Type': 'application/json' });
      res.end('{"error":"no"}');
      req.resume();
    });
    const res = await sendBlob(url, 'PUT', new Headers(), new Blob([Buffer.alloc(20 * 1024 * 1024)]), new AbortController().signal);
    expect(res.status).toBe(403);
  });

  it('rejects when the host is unreachable', async () => {
    const url = await serve((_req, res) => res.end());
    server!.close();
    server!.closeAllConnections();
    server = undefined;
    await expect(sendBlob(url, 'PUT', new Headers(), new Blob(['x']), new AbortController().signal)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
