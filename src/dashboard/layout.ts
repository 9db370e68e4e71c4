/**
 * The page around every view: head, navigation, the status line (block, last update, and what is
 * stale since when) and the main part. A live page swaps in the status and main parts it fetches
 * as JSON (`?partial=1`) when the server says something changed.
 */
import { html, type SafeHtml } from './html.js';
import { ago, outside, utc } from './format.js';
import type { Snapshot } from './source.js';

export interface Page {
  title: string;
  /** Which navigation entry is current. */
  nav: 'leaderboard' | 'validators' | 'competition' | 'miner' | 'none';
  main: SafeHtml;
  status: number;
}

const NAV: ReadonlyArray<[Page['nav'], string, string]> = [
  ['leaderboard', '/', 'Leaderboard'],
  ['validators', '/validators', 'Validators'],
  ['competition', '/competition', 'Competition'],
];

export function statusLine(s: Snapshot, now: number): SafeHtml {
  const chain = s.chain;
  const parts: SafeHtml[] = [];
  if (!chain) parts.push(html`<span>waiting for the chain…</span>`);
  else parts.push(html`<span>netuid ${s.netuid} · block <b id="block">${chain.metagraph.block.number}</b> · ${chain.metagraph.n} uids · read ${ago(chain.at, now)}</span>`);
  if (chain && !s.complete) parts.push(html`<span>reading published results…</span>`);
  const stale: SafeHtml[] = [];
  if (s.stale.chain) stale.push(html`<div class="stale" role="alert">Stale: the chain has not answered since ${utc(s.stale.chain.since)} (${ago(s.stale.chain.since, now)}): ${outside(s.stale.chain.reason)}. Showing what was known${chain ? html` at block ${chain.metagraph.block.number}` : ''}.</div>`);
  if (s.stale.hub) stale.push(html`<div class="stale" role="alert">Stale: the hub has not answered since ${utc(s.stale.hub.since)} (${ago(s.stale.hub.since, now)}): ${outside(s.stale.hub.reason)}. Showing the results read before.</div>`);
  return html`<div class="status-line">${parts}</div>${stale}`;
}

export function pageHtml(page: Page, s: Snapshot, now: number): string {
  const nav = NAV.map(([id, href, label]) => html`<a href="${href}"${id === page.nav ? html` aria-current="page"` : ''}>${label}</a>`);
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title}</title><link rel="stylesheet" href="/style.css"><script src="/app.js" defer></script></head>
<body data-version="${s.version}"><header><a class="brand" href="/">FLock subnet ${s.netuid}</a><nav>${nav}</nav></header>
<div id="status">${statusLine(s, now)}</div>
<main id="main">${page.main}</main>
<footer><span id="live" class="muted">live updates: connecting…</span> · reads only public sources: the chain and the hub at ${outside(s.hubUrl)}</footer>
</body></html>`}`;
}

/** The parts a live page replaces. */
export function partialJson(page: Page, s: Snapshot, now: number): string {
  return JSON.stringify({ version: s.version, title: page.title, status: statusLine(s, now).value, main: page.main.value });
}
