/**
 * A miner's history over rounds on its page: every round each validator published for this uid
 * while this hotkey held it (the last rounds of each results repo, read in the background), as
 * charts of eval loss and weight per round and as a table, with the revisions whose results were
 * refused and why.
 */
import { html, type SafeHtml } from './html.js';
import { key, num, outside } from './format.js';
import { lineChart, PALETTE } from './svg.js';
import type { ValidatorView, View } from './view.js';

/** Validators drawn in the charts (those with the most stake). */
const CHART_VALIDATORS = 8;
/** Table rows shown (the newest). */
const HISTORY_ROWS = 200;
/** Refused revisions listed. */
const REFUSED_ROWS = 20;

/** One validator's verdict on the uid in one round. */
export interface RoundRow {
  validator: ValidatorView;
  revision: string;
  round: number;
  block: number;
  createdAt: string;
  /** NaN when not evaluated. */
  loss: number;
  baseLoss: number;
  weight: number;
  reason: string | null;
}

/** Every round in which `hotkey` held `uid`, across validators, newest block first. */
export function roundsOf(view: View, uid: number, hotkey: string): RoundRow[] {
  const rows: RoundRow[] = [];
  for (const v of view.validators) {
    for (const h of v.results.history) {
      const i = h.uids.indexOf(uid);
      if (i < 0 || h.hotkeys[i] !== hotkey) continue;
      rows.push({
        validator: v, revision: h.revision, round: h.round, block: h.block, createdAt: h.createdAt,
        loss: h.evalLoss[i]!, baseLoss: h.baseLoss, weight: h.weight[i]!, reason: h.reasons.get(uid) ?? null,
      });
    }
  }
  return rows.sort((a, b) => b.block - a.block || (a.validator.uid ?? Infinity) - (b.validator.uid ?? Infinity));
}

/** Charts of `value` per round, one series per validator (oldest round first). */
function perRoundChart(rows: readonly RoundRow[], view: View, title: string, yLabel: string, value: (r: RoundRow) => number): SafeHtml {
  const drawn = view.validators.filter((v) => rows.some((r) => r.validator === v)).slice(0, CHART_VALIDATORS);
  return lineChart({
    title, xLabel: 'block of the round', yLabel,
    series: drawn.map((v, i) => ({
      name: `validator ${v.uid ?? '?'}`, color: PALETTE[i % PALETTE.length]!, style: 'markers' as const,
      points: rows.filter((r) => r.validator === v).map((r) => [r.block, value(r)] as const).reverse(),
    })),
  });
}

export function historySection(view: View, uid: number, rows: readonly RoundRow[], rounds: number): SafeHtml {
  const loading = view.validators.filter((v) => !v.results.historyListed && !v.results.historyProblem).length;
  const problems = view.validators.filter((v) => v.results.historyProblem);
  const refused = view.validators.flatMap((v) => v.results.refusedRounds.map((r) => ({ v, ...r }))).slice(0, REFUSED_ROWS);
  const intro = html`<p class="muted">Every round each validator published (the last ${rounds} revisions of its results repo, each a commit, verified like the latest)${loading ? html`; reading the earlier rounds of ${loading} validator${loading === 1 ? '' : 's'}…` : ''}.</p>`;
  const charts = rows.length > 1
    ? html`${perRoundChart(rows, view, `Eval loss of uid ${uid} per round`, 'eval loss', (r) => r.loss)}${perRoundChart(rows, view, `Weight of uid ${uid} per round`, 'weight', (r) => r.weight)}`
    : html``;
  const table = rows.length
    ? html`<div class="scroll"><table id="history"><thead><tr><th>validator</th><th class="num">round</th><th class="num">block</th><th class="wide">published</th><th class="num">eval loss</th><th class="num">Δ base</th><th class="num">weight</th><th>reason</th></tr></thead><tbody>${rows.slice(0, HISTORY_ROWS).map((r) => html`<tr data-round="${r.round}" data-revision="${r.revision}"><td>validator ${r.validator.uid ?? '?'}</td><td class="num">${r.round}</td><td class="num">${r.block}</td><td class="wide">${outside(r.createdAt)}</td><td class="num">${num(Number.isNaN(r.loss) ? null : r.loss)}</td><td class="num">${Number.isNaN(r.loss) ? '—' : num(r.loss - r.baseLoss)}</td><td class="num">${num(r.weight, 4)}</td><td>${r.reason ? html`<span class="reason">${outside(r.reason)}</span>` : ''}</td></tr>`)}</tbody></table></div>${rows.length > HISTORY_ROWS ? html`<p class="muted">The newest ${HISTORY_ROWS} of ${rows.length} rounds.</p>` : ''}`
    : html`<p class="muted">No published round names this uid with this hotkey yet.</p>`;
  const notes = html`${refused.length ? html`<p>Refused revisions:</p><ul id="refused-rounds">${refused.map((r) => html`<li>validator ${r.v.uid ?? '?'} ${key(r.v.hotkey)} at <code>${r.revision.slice(0, 12)}</code>: <span class="reason">${outside(r.reason)}</span></li>`)}</ul>` : ''}
${problems.length ? html`<p>Incomplete history: ${problems.map((v) => html`validator ${v.uid ?? '?'} (<span class="reason">${outside(v.results.historyProblem)}</span>) `)}</p>` : ''}`;
  return html`${intro}${charts}${table}${notes}`;
}
