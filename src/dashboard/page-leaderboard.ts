/**
 * The leaderboard: every uid by incentive, with incentive and emission from the chain and each
 * validator's published verdict beside it (weight and eval loss, or the reason for a zero). The
 * validators with the most stake get a column each; the rest are summed up in the consensus
 * weight and the count of zeros, and shown in full on the miner's page.
 */
import { competitionSchedule } from '../published/schedule.js';
import { html, type SafeHtml } from './html.js';
import { key, num, outside } from './format.js';
import type { Page } from './layout.js';
import type { Snapshot } from './source.js';
import { barChart } from './svg.js';
import type { LeaderRow, Verdict, View } from './view.js';

/** Validators given a column of their own. */
export const VALIDATOR_COLUMNS = 6;

function verdictCell(v: Verdict): SafeHtml {
  if (!v.entry) return html`<td class="muted">—</td>`;
  if (v.reason) return html`<td><span class="num">0</span> <span class="reason" title="${v.reason}">${outside(v.reason.length > 72 ? `${v.reason.slice(0, 69)}…` : v.reason)}</span></td>`;
  return html`<td class="num">${num(v.weight, 3)}<br><span class="muted">loss ${num(v.evalLoss, 4)}</span></td>`;
}

function row(r: LeaderRow, columns: number): SafeHtml {
  const zeros = r.verdicts.filter((v) => v.entry && v.weight <= 0).length;
  const firstReason = r.verdicts.find((v) => v.reason && v.entry)?.reason ?? null;
  const what = r.role === 'miner' ? outside(r.commitment) : html`<span class="pill">${r.role}</span>`;
  return html`<tr data-uid="${r.uid}"><td class="num"><a href="/miner/${r.uid}">${r.uid}</a></td><td>${key(r.hotkey)}</td>
<td class="num">${num(r.incentive, 4)}</td><td class="num wide">${num(r.emission, 4)}</td><td class="num">${num(r.consensusWeight, 3)}</td>
<td class="num">${r.verdicts.length ? `${zeros}/${r.verdicts.length}` : '—'}${firstReason && zeros > 0 && r.verdicts.length > columns ? html`<br><span class="reason">${outside(firstReason.length > 60 ? `${firstReason.slice(0, 57)}…` : firstReason)}</span>` : ''}</td>
${r.verdicts.slice(0, columns).map(verdictCell)}<td class="wide">${what}</td></tr>`;
}

export function leaderboardPage(s: Snapshot, view: View): Page {
  if (!s.chain) return { title: 'Leaderboard', nav: 'leaderboard', status: 200, main: html`<h1>Leaderboard</h1><p class="muted">Waiting for the chain…</p>` };
  const shown = view.validators.filter((v) => v.results.latest).slice(0, VALIDATOR_COLUMNS);
  const columns = shown.length;
  const refused = view.validators.filter((v) => !v.results.latest && v.results.problem);
  const top = view.rows.filter((r) => r.incentive > 0).slice(0, 16);
  const comp = s.competition.competition;
  const open = comp ? competitionSchedule(comp, s.chain.metagraph.block.number)?.open : null;
  const main = html`<h1>Leaderboard</h1>
${open ? html`<p id="round-open">Round ${open.round} open, closes at block ${open.closes} (in ${open.blocksLeft} blocks; see <a href="/competition">competition</a>).</p>` : ''}
<p class="muted">${view.rows.length} uids by incentive. Published verdicts of ${view.readCount} validator(s)${view.validators.length > view.readCount ? html`, ${view.validators.length - view.readCount} unreadable (see <a href="/validators">validators</a>)` : ''}.
Consensus: the stake-weighted mean of the validators' normalised published weights.</p>
${top.length ? barChart({ title: 'Incentive', bars: top.map((r) => ({ label: `uid ${r.uid}`, value: r.incentive, href: `/miner/${r.uid}` })) }) : ''}
<div class="scroll"><table id="leaderboard" data-complete="${s.complete ? 'true' : 'false'}" data-uids="${view.rows.length}" data-validators-read="${view.readCount}">
<thead><tr><th class="num">uid</th><th>hotkey</th><th class="num">incentive</th><th class="num wide">emission</th><th class="num">consensus</th><th class="num">zeros</th>
${shown.map((v) => html`<th title="${v.hotkey}">validator ${v.uid ?? '?'}<br><span class="muted">round ${v.results.latest!.document.round}</span></th>`)}<th class="wide">commitment</th></tr></thead>
<tbody>${view.rows.map((r) => row(r, columns))}</tbody></table></div>
${refused.length ? html`<h2>Results that could not be used</h2><ul>${refused.map((v) => html`<li>validator ${v.uid ?? '?'} ${key(v.hotkey)}: <span class="reason">${outside(v.results.problem!.reason)}</span></li>`)}</ul>` : ''}`;
  return { title: `Leaderboard · subnet ${s.netuid}`, nav: 'leaderboard', status: 200, main };
}
