/**
 * The competition the owner's pointer names: base model, recipe, limits and scoring constants
 * (every field of competition.json, defaults filled in), the sealed rounds' schedule at the
 * chain's block (window, state, the revealed set's file and hash), and the rounds validators
 * published for it, with whether each scored the current revision.
 */
import { competitionRounds, roundStateAt, type Competition, type CompetitionPointer, type RoundSchedule } from '../protocol/index.js';
import { approxDuration, competitionSchedule } from '../published/schedule.js';
import { html, type SafeHtml } from './html.js';
import { datasetFileUrl, datasetUrl, key, modelUrl, outside } from './format.js';
import type { Page } from './layout.js';
import type { Snapshot } from './source.js';
import type { View } from './view.js';

/** Rounds the schedule table shows, the latest ones (competition.json may list up to `MAX_ROUNDS`). */
export const SCHEDULE_ROWS = 100;

/** `{a: {b: 1}, c: [x, y]}` → rows `a.b = 1`, `c = x, y`. */
export function flatten(value: unknown, prefix = ''): [string, string][] {
  if (value === null || typeof value !== 'object') return [[prefix, String(value)]];
  if (Array.isArray(value)) return [[prefix, value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ')]];
  return Object.entries(value).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
}

const table = (id: string, rows: [string, string][]): SafeHtml =>
  html`<div class="scroll"><table id="${id}"><tbody>${rows.map(([k, v]) => html`<tr><th>${k}</th><td>${outside(v)}</td></tr>`)}</tbody></table></div>`;

const inBlocks = (n: number) => `in ${n} block${n === 1 ? '' : 's'} (${approxDuration(n)})`;

/** The sealed rounds: one row per round with its window, its evaluation set (sealed: the hash; revealed: the file at the competition's revision) and its state at `block`. */
function scheduleTable(hubUrl: string, pointer: CompetitionPointer, comp: Competition, block: number, schedule: RoundSchedule): SafeHtml {
  const rounds = competitionRounds(comp);
  const first = Math.max(0, rounds.length - SCHEDULE_ROWS);
  const rows = rounds.slice(first).map((r, i) => {
    const n = first + i + 1;
    const hash = html`<code title="${r.evalSha256}">${r.evalSha256.slice(0, 12)}…</code>`;
    const set = r.evalFile
      ? html`<a href="${datasetFileUrl(hubUrl, pointer.repoId, pointer.revision, r.evalFile)}" rel="nofollow noopener">${outside(r.evalFile)}</a> ${hash}`
      : html`<span class="muted">sealed</span> ${hash}`;
    const state = roundStateAt(r, block);
    const text = {
      announced: html`announced, opens ${inBlocks(r.opens - block)}`,
      open: html`<b>open</b>, closes ${inBlocks(r.closes - block)}`,
      revealed: n === schedule.scoring ? html`revealed · <b>scored now</b>` : html`revealed`,
      sealed: html`sealed, awaiting reveal`,
    }[state];
    return html`<tr data-round="${n}" data-state="${state}"><td class="num">${n}</td><td class="num">${r.opens}–${r.closes - 1}</td><td>${set}</td><td>${text}</td></tr>`;
  });
  const scoring = schedule.scoring === null ? 'no round is revealed yet: validators score none' : `validators score round ${schedule.scoring} now (the latest revealed, when its file matches the hash committed for it)`;
  return html`<p class="muted">A dataset takes part in the round whose submission window holds its commitment block, and in every later one; one committed outside every window takes part in none. Each round's evaluation set stays sealed (only its SHA-256 is published) until its window closes; ${scoring}.${first > 0 ? ` ${first} earlier round(s) not shown.` : ''}</p>
<div class="scroll"><table id="round-schedule"><thead><tr><th class="num">round</th><th class="num">window (blocks)</th><th>evaluation set</th><th>state at block ${block}</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

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
  const block = s.chain.metagraph.block.number;
  const schedule = comp ? competitionSchedule(comp, block) : null;
  const body = comp
    ? html`${comp.title ? html`<p>${outside(comp.title)}</p>` : ''}
<h2>Base model</h2><p><a href="${modelUrl(s.hubUrl, comp.baseModel.repo, comp.baseModel.revision)}" rel="nofollow noopener">${outside(comp.baseModel.repo)}</a> at <code>${comp.baseModel.revision}</code> · protocol ${comp.protocol} · evaluation set ${schedule ? 'in sealed rounds (below)' : html`<code>${outside(comp.evalFile)}</code>, open`}</p>
${schedule && p ? html`<h2>Rounds</h2>${scheduleTable(s.hubUrl, p, comp, block, schedule)}` : ''}
<h2>Recipe</h2>${table('recipe', flatten(comp.recipe))}
<h2>Limits</h2>${table('limits', flatten(comp.limits))}
<h2>Scoring</h2>${table('scoring', flatten(comp.scoring))}`
    : '';
  const rounds = view.validators.filter((v) => v.results.latest).map((v) => {
    const d = v.results.latest!.document;
    const current = p && d.competition.id === p.competitionId && d.competition.revision === p.revision;
    return html`<tr><td>validator ${v.uid ?? '?'} ${key(v.hotkey)}</td><td class="num">${d.round}</td><td class="num">${d.block}</td><td>${outside(d.competition.id)} @ <code>${d.competition.revision.slice(0, 12)}</code>${d.competition.sealedRound === undefined ? '' : ` · sealed round ${d.competition.sealedRound}`}</td><td>${current ? 'current revision' : html`<span class="reason">another revision</span>`}</td><td class="wide">${outside(d.compute)}</td></tr>`;
  });
  const main = html`${head}${pointer}${problem}${body}
<h2>Validators' rounds</h2>${rounds.length ? html`<div class="scroll"><table id="rounds"><thead><tr><th>validator</th><th class="num">round</th><th class="num">weights at block</th><th>competition scored</th><th>state</th><th class="wide">compute</th></tr></thead><tbody>${rounds}</tbody></table></div>` : html`<p class="muted">No validator has published a round yet.</p>`}
<p class="muted">Next epoch at block ${s.chain.subnet.nextEpochBlock} (tempo ${s.chain.subnet.tempo}); the chain is at block ${block}.</p>`;
  return { title: `Competition · subnet ${s.netuid}`, nav: 'competition', status: 200, main };
}
