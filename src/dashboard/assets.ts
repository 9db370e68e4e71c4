/**
 * The dashboard's stylesheet and its one script, served from this process (no CDN: it works
 * offline). The script follows the server's events (`/events`) and, when the version moves,
 * fetches the current page's status and main parts as JSON and swaps them in: no reload.
 * Pages carry no inline script or style, so the Content-Security-Policy can forbid both.
 */

export const STYLE_CSS = `
:root { --fg: #111827; --muted: #6b7280; --line: #e5e7eb; --bg: #fff; --accent: #2563eb; --bad: #b91c1c; --warn-bg: #fef3c7; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; align-items: baseline; padding: .6rem 1rem; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; color: var(--fg); text-decoration: none; }
nav { display: flex; flex-wrap: wrap; gap: .9rem; }
nav a { color: var(--accent); text-decoration: none; }
nav a[aria-current="page"] { font-weight: 700; text-decoration: underline; }
#status { padding: .4rem 1rem; color: var(--muted); font-size: .9em; }
.stale { margin: .4rem 0; padding: .5rem .75rem; background: var(--warn-bg); color: #78350f; border-radius: 4px; }
main { padding: 0 1rem 1rem; max-width: 1280px; }
footer { padding: .75rem 1rem; color: var(--muted); font-size: .85em; border-top: 1px solid var(--line); }
h1 { font-size: 1.35rem; margin: .8rem 0 .4rem; }
h2 { font-size: 1.1rem; margin: 1.2rem 0 .4rem; }
.muted { color: var(--muted); }
.bad { color: var(--bad); }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; font-size: .92em; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; white-space: nowrap; background: #f9fafb; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, monospace; }
bdi.foreign { font: .9em ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
.reason { color: var(--bad); overflow-wrap: anywhere; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .4rem 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
figure.chart { margin: .5rem 0 1rem; max-width: 760px; }
figure.chart svg { width: 100%; height: auto; font: 11px system-ui, sans-serif; }
figure.chart .grid { stroke: var(--line); }
figure.chart .axis { stroke: var(--muted); }
figure.chart .label { fill: var(--muted); }
figcaption { display: flex; flex-wrap: wrap; gap: .2rem .9rem; font-size: .85em; }
figure.chart figcaption svg { width: 10px; height: 10px; vertical-align: middle; }
#leaderboard td { max-width: 22rem; }
.pill { display: inline-block; padding: 0 .4rem; border-radius: 9px; background: #eef2ff; font-size: .85em; }
@media (max-width: 640px) {
  body { font-size: 14px; }
  main, header, #status, footer { padding-left: .6rem; padding-right: .6rem; }
  .wide { display: none; }
  dl.facts { grid-template-columns: 1fr; }
  dl.facts dt { margin-top: .3rem; }
}
`;

export const APP_JS = `'use strict';
(function () {
  var live = document.getElementById('live');
  var version = Number(document.body.dataset.version);
  var busy = false, again = false;
  function say(text) { if (live) live.textContent = text; }
  function update() {
    if (busy) { again = true; return; }
    busy = true;
    var url = location.pathname + (location.search ? location.search + '&' : '?') + 'partial=1';
    fetch(url, { headers: { accept: 'application/json' }, cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (p) {
        if (p.version < version) return;
        version = p.version;
        document.body.dataset.version = String(p.version);
        document.title = p.title;
        document.getElementById('status').innerHTML = p.status;
        document.getElementById('main').innerHTML = p.main;
        say('live: updated ' + new Date().toLocaleTimeString());
      })
      .catch(function (e) { say('live: update failed (' + e.message + '), will retry'); })
      .then(function () { busy = false; if (again) { again = false; update(); } });
  }
  if (!window.EventSource) { say('live updates need EventSource'); return; }
  var events = new EventSource('/events');
  events.addEventListener('open', function () { say('live: connected'); });
  events.addEventListener('error', function () { say('live: reconnecting…'); });
  events.addEventListener('update', function (e) {
    var v = Number(JSON.parse(e.data).version);
    if (v !== version) update();
  });
})();
`;
