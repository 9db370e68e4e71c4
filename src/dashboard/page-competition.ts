/**
 * The competition the owner's pointer names: base model, recipe, limits and scoring constants
 * (every field of competition.json, defaults filled in), and the rounds validators published
 * for it, with whether each scored the current revision.
 */
import { html, type SafeHtml } from './html.js';
import { datasetUrl, key, modelUrl, outside } from './format.js';
import type { Page } from './layout.js';
import type { Snapshot } from './source.js';
import type { View } from './view.js';

/** `{a: {b: 1}, c: [x, y]}` → rows `a.b = 1`, `c = x, y`. */
export function flatten(value: unknown, prefix = ''): [string, string][] {
  if (value === null || typeof value !== 'object') return [[prefix, String(value)]];
  if (Array.isArray(value)) return [[prefix, value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ')]];
  return Object.entries(value).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
}

const table = (id: string, rows: [string, string][]): SafeHtml =>
  html`<div class="scroll"><table id="${id}"><tbody>${rows.map(([k, v]) => html`<tr><th>${k}</th><td>${outside(v)}</td></tr>`)}</tbody></table></div>`;

export function competitionPage(s: Snapshot, view: View): Page {
  const c = s.competition;
  const head = html`<h1>Competition</h1>`;
  if (!s.chain) return { title: 'Competition', nav: 'competition', status: 200, main: html`${head}<p class="muted">Waiting for the chain…</p>` };
  const p = c.pointer;
  const pointer = p
    ? html`<dl class="facts"><dt>id</dt><dd>${outside(p.competitionId)}</dd><dt>repo</dt><dd><a href="${datasetUrl(s.hubUrl, p.repoId, p.revision)}" rel="nofollow noopener">${outside(p.repoId)}</a></dd><dt>revision</dt><dd><code>${p.revision}</code></dd><dt>owner hotkey</dt><dd>${key(s.chain.subnet.ownerHotkey)}</dd></dl>`
    : '';
  const problem = c.problem ? html`<p class="reason">${outside(c.problem)}</p>` : '';
  const comp = c.competition;
  const body = comp
    ? html`${comp.title ? html`<p>${outside(comp.title)}</p>` : ''}
<h2>Base model</h2><p><a href="${modelUrl(s.hubUrl, comp.baseModel.repo, comp.baseModel.revision)}" rel="nofollow noopener">${outside(comp.baseModel.repo)}</a> at <code>${comp.baseModel.revision}</code> · protocol ${comp.protocol} · evaluation set <code>${outside(comp.evalFile)}</code></p>
<h2>Recipe</h2>${table('recipe', flatten(comp.recipe))}
<h2>Limits</h2>${table('limits', flatten(comp.limits))}
<h2>Scoring</h2>${table('scoring', flatten(comp.scoring))}`
    : '';
  const rounds = view.validators.filter((v) => v.results.latest).map((v) => {
    const d = v.results.latest!.document;
    const current = p && d.competition.id === p.competitionId && d.competition.revision === p.revision;
    return html`<tr><td>validator ${v.uid ?? '?'} ${key(v.hotkey)}</td><td class="num">${d.round}</td><td class="num">${d.block}</td><td>${outside(d.competition.id)} @ <code>${d.competition.revision.slice(0, 12)}</code></td><td>${current ? 'current revision' : html`<span class="reason">another revision</span>`}</td><td class="wide">${outside(d.compute)}</td></tr>`;
  });
  const main = html`${head}${pointer}${problem}${body}
<h2>Rounds</h2>${rounds.length ? html`<div class="scroll"><table id="rounds"><thead><tr><th>validator</th><th class="num">round</th><th class="num">weights at block</th><th>competition scored</th><th>state</th><th class="wide">compute</th></tr></thead><tbody>${rounds}</tbody></table></div>` : html`<p class="muted">No validator has published a round yet.</p>`}
<p class="muted">Next epoch at block ${s.chain.subnet.nextEpochBlock} (tempo ${s.chain.subnet.tempo}); the chain is at block ${s.chain.metagraph.block.number}.</p>`;
  return { title: `Competition · subnet ${s.netuid}`, nav: 'competition', status: 200, main };
}
