/**
 * The dashboard's HTTP server (node:http, GET only). Pages are rendered from the source's latest
 * snapshot (work per request is bounded by the snapshot's size, and each page is rendered at most
 * once per snapshot version); `/events` is a Server-Sent Events stream that says when the
 * version moves; `/api/status.json` sums up what is loaded.
 *
 * Routes: `/` leaderboard, `/miner/<uid>`, `/validators`, `/competition`; `?partial=1` gives a
 * page's status and main parts as JSON (what the page's script swaps in).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import { APP_JS, STYLE_CSS } from './assets.js';
import { html } from './html.js';
import { pageHtml, partialJson, type Page } from './layout.js';
import { competitionPage } from './page-competition.js';
import { leaderboardPage } from './page-leaderboard.js';
import { minerPage } from './page-miner.js';
import { validatorsPage } from './page-validators.js';
import type { DashboardSource, Snapshot } from './source.js';
import { buildView, type View } from './view.js';

export interface DashboardServerOptions {
  source: DashboardSource;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  log?: Logger;
  /** Concurrent event streams (default 512); more are answered 503. */
  maxEventClients?: number;
  /** Rendered pages kept per version (default 512). */
  maxCachedPages?: number;
  now?: () => number;
}

export interface DashboardServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  // no inline script or style: text that slipped through escaping could not run
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...SECURITY_HEADERS, ...extra });
  res.end(body);
}

export async function startDashboardServer(o: DashboardServerOptions): Promise<DashboardServer> {
  const log = o.log ?? silentLogger;
  const now = o.now ?? Date.now;
  const source = o.source;
  const streams = new Set<ServerResponse>();
  const maxStreams = o.maxEventClients ?? 512;
  const maxCached = o.maxCachedPages ?? 512;
  let view: View | null = null;
  const rendered = new Map<string, { version: number; page: Page }>();

  const currentView = (s: Snapshot): View => {
    if (!view || view.version !== s.version) {
      view = buildView(s);
      rendered.clear();
    }
    return view;
  };

  const pageFor = (path: string, s: Snapshot): Page | null => {
    const v = currentView(s);
    const hit = rendered.get(path);
    if (hit && hit.version === s.version) return hit.page;
    let page: Page | null = null;
    const miner = /^\/miner\/(\d{1,6})$/.exec(path);
    if (path === '/') page = leaderboardPage(s, v);
    else if (path === '/validators') page = validatorsPage(s, v);
    else if (path === '/competition') page = competitionPage(s, v);
    else if (miner) page = minerPage(s, v, Number(miner[1]));
    if (!page) return null;
    if (rendered.size >= maxCached) rendered.clear();
    rendered.set(path, { version: s.version, page });
    return page;
  };

  const event = (s: Snapshot) => `event: update\ndata: ${JSON.stringify({ version: s.version, block: s.chain?.metagraph.block.number ?? null })}\n\n`;
  const unsubscribe = source.onChange((s) => {
    const text = event(s);
    for (const res of streams) res.write(text);
  });
  const heartbeat = setInterval(() => { for (const res of streams) res.write(': ping\n\n'); }, 15_000);
  heartbeat.unref();

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    if (url.length > 2048) return send(res, 414, 'text/plain; charset=utf-8', 'URL too long\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'GET only\n', { allow: 'GET, HEAD' });
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const partial = q !== -1 && new URLSearchParams(url.slice(q + 1)).get('partial') === '1';
    const s = source.snapshot;
    if (path === '/style.css') return send(res, 200, 'text/css; charset=utf-8', STYLE_CSS, { 'cache-control': 'max-age=300' });
    if (path === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', APP_JS, { 'cache-control': 'max-age=300' });
    if (path === '/favicon.ico') return send(res, 204, 'text/plain', '');
    if (path === '/events') {
      if (streams.size >= maxStreams) return send(res, 503, 'text/plain; charset=utf-8', 'too many event streams\n', { 'retry-after': '10' });
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', ...SECURITY_HEADERS });
      res.write(`retry: 2000\n\n${event(s)}`);
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return;
    }
    if (path === '/api/status.json') {
      const v = currentView(s);
      return send(res, 200, 'application/json', JSON.stringify({
        version: s.version, netuid: s.netuid, block: s.chain?.metagraph.block.number ?? null, complete: s.complete, uids: v.rows.length,
        validators: v.validators.length, validatorsRead: v.readCount, stale: s.stale,
      }));
    }
    const page = pageFor(path, s) ?? { title: 'Not found', nav: 'none' as const, status: 404, main: html`<h1>Not found</h1><p>No page at ${path.slice(0, 200)}. <a href="/">The leaderboard</a>.</p>` };
    if (partial) return send(res, page.status, 'application/json', partialJson(page, s, now()));
    send(res, page.status, 'text/html; charset=utf-8', pageHtml(page, s, now()));
  };

  const server: Server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      log.error(`dashboard request failed: ${errorMessage(err)}`);
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.end();
    }
  });
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${addr.port}`,
    port: addr.port,
    async close() {
      unsubscribe();
      clearInterval(heartbeat);
      for (const res of streams) res.end();
      streams.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
