/**
 * Validators: stake, validator trust and dividends from the chain; from their published results
 * the latest round, when it was published, and how far their weights sit from the consensus;
 * and why a validator's results could not be used.
 */
import { html } from './html.js';
import { datasetUrl, key, num, outside, utc } from './format.js';
import type { Page } from './layout.js';
import type { Snapshot } from './source.js';
import { barChart } from './svg.js';
import type { View } from './view.js';

export function validatorsPage(s: Snapshot, view: View): Page {
  if (!s.chain) return { title: 'Validators', nav: 'validators', status: 200, main: html`<h1>Validators</h1><p class="muted">Waiting for the chain…</p>` };
  const mg = s.chain.metagraph;
  const block = mg.block.number;
  const published = new Set(view.validators.map((v) => v.hotkey));
  // permit holders that publish nothing: validators as the chain sees them
  const silent = mg.hotkeys.map((h, uid) => ({ h, uid })).filter(({ h, uid }) => mg.validatorPermit[uid] && !published.has(h));
  const rows = view.validators.map((v) => {
    const latest = v.results.latest;
    const d = latest?.document;
    return html`<tr data-hotkey="${v.hotkey}"><td class="num">${v.uid ?? '—'}</td><td>${key(v.hotkey)}</td><td class="num">${num(v.stake, 2)}</td><td class="num">${num(v.validatorTrust, 4)}</td>
<td class="num wide">${num(v.dividends, 4)}</td><td class="num">${v.distance === null ? '—' : num(v.distance, 4)}</td>
<td>${d ? html`round ${d.round}, weights at block ${d.block}${block >= d.block ? ` (${block - d.block} blocks ago)` : ''}<br><span class="muted">${outside(d.createdAt)}</span>` : html`<span class="muted">nothing read</span>`}</td>
<td class="wide"><a href="${datasetUrl(s.hubUrl, v.results.repoId, latest?.revision)}" rel="nofollow noopener">${outside(v.results.repoId)}</a>${latest ? html`<br><code>${latest.revision.slice(0, 12)}</code>` : ''}</td>
<td>${v.results.problem ? html`<span class="reason">${outside(v.results.problem.reason)}</span><br><span class="muted">since ${utc(v.results.problem.since)}${latest ? '; the last verified results are shown' : ''}</span>` : html`signature verified`}</td></tr>`;
  });
  const withDistance = view.validators.filter((v) => v.distance !== null);
  const main = html`<h1>Validators</h1>
<p class="muted">Distance: the L1 norm between a validator's normalised published weights and the stake-weighted mean of all validators' (0 agrees exactly, 2 disagrees entirely).</p>
${withDistance.length ? barChart({ title: 'Distance from consensus', bars: withDistance.map((v) => ({ label: `validator ${v.uid ?? '?'}`, value: v.distance!, note: num(v.distance, 3) })), max: Math.max(0.05, ...withDistance.map((v) => v.distance!)), color: '#d97706' }) : ''}
<div class="scroll"><table id="validators"><thead><tr><th class="num">uid</th><th>hotkey</th><th class="num">stake</th><th class="num">vtrust</th><th class="num wide">dividends</th><th class="num">distance</th><th>last published</th><th class="wide">results repo</th><th>status</th></tr></thead>
<tbody>${rows}</tbody></table></div>
${silent.length ? html`<h2>Permit holders that publish no results</h2><ul>${silent.map(({ h, uid }) => html`<li>uid ${uid} ${key(h)}: stake ${num(mg.stake[uid] ?? 0, 2)}, vtrust ${num(mg.validatorTrust[uid] ?? 0, 4)}</li>`)}</ul>` : ''}`;
  return { title: `Validators · subnet ${s.netuid}`, nav: 'validators', status: 200, main };
}
