/**
 * One uid: its keys, commitment and dataset link; incentive over the blocks seen; every
 * validator's latest verdict with the per-example losses against the base model's as a chart;
 * every reason for a zero; and its history over every round each validator published.
 */
import { fromWireNumber, parseCommitment } from '../protocol/index.js';
import { html, type SafeHtml } from './html.js';
import { datasetUrl, key, num, outside, utc } from './format.js';
import type { Page } from './layout.js';
import type { Snapshot } from './source.js';
import { historySection, roundsOf } from './miner-history.js';
import { lineChart, PALETTE, type Series } from './svg.js';
import type { View } from './view.js';

/** Validators drawn in the per-example chart. */
const CHART_VALIDATORS = 8;

const notFound = (text: string): Page => ({ title: 'Not found', nav: 'miner', status: 404, main: html`<h1>Not found</h1><p>${text}</p>` });

export function minerPage(s: Snapshot, view: View, uid: number): Page {
  if (!s.chain) return { title: `uid ${uid}`, nav: 'miner', status: 200, main: html`<h1>uid ${uid}</h1><p class="muted">Waiting for the chain…</p>` };
  const row = view.rows.find((r) => r.uid === uid);
  if (!row) return notFound(`uid ${uid} is not registered on subnet ${s.netuid} (${view.rows.length} uids).`);
  const parsed = row.commitment === null ? null : parseCommitment(row.commitment);
  const dataset = parsed?.ok ? html`<a href="${datasetUrl(s.hubUrl, parsed.value.repoId, parsed.value.revision)}" rel="nofollow noopener">${outside(parsed.value.repoId)}</a> at <code>${parsed.value.revision.slice(0, 12)}</code> (competition ${outside(parsed.value.competitionId)})` : html`<span class="muted">none${parsed && !parsed.ok ? html`: <span class="reason">${outside(parsed.reason)}</span>` : ''}</span>`;
  const mg = s.chain.metagraph;

  const facts = html`<dl class="facts">
<dt>hotkey</dt><dd><code>${row.hotkey}</code></dd><dt>coldkey</dt><dd><code>${row.coldkey}</code></dd>
<dt>incentive</dt><dd>${num(row.incentive, 5)}</dd><dt>emission</dt><dd>${num(row.emission, 5)} per epoch</dd>
<dt>consensus weight</dt><dd>${num(row.consensusWeight, 4)}</dd><dt>registered at block</dt><dd>${mg.blockAtRegistration[uid] ?? '—'}</dd>
<dt>commitment</dt><dd id="commitment">${outside(row.commitment)}${row.commitmentBlock !== null ? html` <span class="muted">(block ${row.commitmentBlock})</span>` : ''}</dd>
<dt>dataset</dt><dd>${dataset}</dd></dl>`;

  const incentive = s.incentive.get(row.hotkey) ?? [];
  const incentiveChart = incentive.length > 1
    ? lineChart({ title: 'Incentive over blocks', xLabel: 'block', yLabel: 'incentive', series: [{ name: 'incentive', color: PALETTE[0]!, points: incentive.map((p) => [p.block, p.incentive]) }] })
    : html``;

  const verdicts = row.verdicts;
  const verdictRows = verdicts.map((v) => {
    const d = v.validator.results.latest!.document;
    const base = fromWireNumber(d.base.evalLoss);
    return html`<tr><td>validator ${v.validator.uid ?? '?'} ${key(v.validator.hotkey)}</td><td class="num">${d.round}</td><td class="num">${d.block}</td>
<td class="num">${num(v.evalLoss)}</td><td class="num">${num(base)}</td><td class="num">${v.evalLoss === null ? '—' : num(v.evalLoss - base)}</td>
<td class="num">${v.entry ? num(v.entry.winRate, 3) : '—'}</td><td class="num">${num(v.entry ? v.weight : null, 4)}</td>
<td>${v.reason ? html`<span class="reason">${outside(v.reason)}</span>` : ''}</td></tr>`;
  });
  const unreadable = view.validators.filter((v) => !v.results.latest && v.results.problem);

  const series: Series[] = [];
  const drawn = verdicts.filter((v) => v.entry?.losses).slice(0, CHART_VALIDATORS);
  const baseLosses = drawn[0]?.validator.results.latest!.document.base.losses ?? verdicts[0]?.validator.results.latest!.document.base.losses;
  if (baseLosses) series.push({ name: 'base model', color: '#6b7280', style: 'dashed', points: baseLosses.map((l, i) => [i, fromWireNumber(l)]) });
  drawn.forEach((v, i) => series.push({ name: `validator ${v.validator.uid ?? '?'}`, color: PALETTE[i % PALETTE.length]!, style: 'dots', points: v.entry!.losses!.map((l, j) => [j, fromWireNumber(l)]) }));
  const lossChart = series.length > 1
    ? lineChart({ title: `Per-example eval loss of uid ${uid} against the base model`, xLabel: 'evaluation example', yLabel: 'loss', series })
    : html`<p class="muted">No per-example losses published for this uid yet.</p>`;

  const reasons = new Map<string, SafeHtml>();
  for (const v of verdicts) if (v.reason && v.entry) reasons.set(`${v.validator.hotkey}|${v.reason}`, html`<li>validator ${v.validator.uid ?? '?'} (latest round ${v.validator.results.latest!.document.round}): <span class="reason">${outside(v.reason)}</span></li>`);
  const history = roundsOf(view, uid, row.hotkey);
  for (const h of history) {
    const id = `${h.validator.hotkey}|${h.reason}`;
    if (h.reason && !reasons.has(id)) reasons.set(id, html`<li>validator ${h.validator.uid ?? '?'} (round ${h.round}): <span class="reason">${outside(h.reason)}</span></li>`);
  }

  const main = html`<h1>uid ${uid}${row.role !== 'miner' ? html` <span class="pill">${row.role}</span>` : ''}</h1>${facts}${incentiveChart}
<h2>Verdicts</h2>${verdictRows.length ? html`<div class="scroll"><table id="verdicts"><thead><tr><th>validator</th><th class="num">round</th><th class="num">block</th><th class="num">eval loss</th><th class="num">base loss</th><th class="num">Δ base</th><th class="num">win rate</th><th class="num">weight</th><th>reason for a zero</th></tr></thead><tbody>${verdictRows}</tbody></table></div>` : html`<p class="muted">No validator's published results yet.</p>`}
${unreadable.length ? html`<p>Unreadable results: ${unreadable.map((v) => html`validator ${v.uid ?? '?'} (<span class="reason">${outside(v.results.problem!.reason)}</span>) `)}</p>` : ''}
<h2>Per-example losses</h2>${lossChart}
<h2>Reasons for a zero</h2>${reasons.size ? html`<ul id="reasons">${[...reasons.values()]}</ul>` : html`<p class="muted">None.</p>`}
<h2>History</h2>${historySection(view, uid, history, s.historyRounds)}
<p class="muted">Read at ${utc(s.chain.at)}.</p>`;
  return { title: `uid ${uid} · subnet ${s.netuid}`, nav: 'miner', status: 200, main };
}
