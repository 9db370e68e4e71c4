/**
 * Charts as inline SVG, drawn here (no chart library, nothing fetched): a line/dot chart for
 * series of (x, y) points and a horizontal bar chart. Each scales to its container (viewBox and
 * width 100%). Labels and series names go through the escaping `html` template.
 */
import { html, raw, type SafeHtml } from './html.js';

/** Series colours, distinguishable on a light background. */
export const PALETTE = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#65a30d', '#9333ea', '#ea580c'];

export interface Series {
  name: string;
  color: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** `line` joins the points, `dots` marks each one, `markers` does both; `dashed` is a dashed line (a reference). */
  style?: 'line' | 'dots' | 'markers' | 'dashed';
}

export interface LineChartOptions {
  title: string;
  series: readonly Series[];
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Points kept per series (evenly strided beyond it). */
  maxPoints?: number;
}

/** Round steps (1, 2, 5 × 10ⁿ) covering [lo, hi] in about `count` ticks. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return niceTicks(lo - d, hi + d, count);
  }
  const rough = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= rough) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.floor(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  if (ticks[ticks.length - 1]! < hi) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

const fmtTick = (t: number) => (Math.abs(t) >= 1000 || (t !== 0 && Math.abs(t) < 0.01) ? t.toExponential(1) : String(Number(t.toPrecision(4))));

function strided<T>(points: readonly T[], max: number): readonly T[] {
  if (points.length <= max) return points;
  const step = points.length / max;
  return Array.from({ length: max }, (_, i) => points[Math.floor(i * step)]!);
}

export function lineChart(o: LineChartOptions): SafeHtml {
  const W = o.width ?? 640, H = o.height ?? 280;
  const left = 52, right = 12, top = 28, bottom = 40;
  const series = o.series.map((s) => ({ ...s, points: strided(s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)), o.maxPoints ?? 1500) }));
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return html`<p class="muted">${o.title}: nothing to draw yet.</p>`;
  const xs = niceTicks(Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0])));
  const ys = niceTicks(Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1])));
  const [x0, x1, y0, y1] = [xs[0]!, xs[xs.length - 1]!, ys[0]!, ys[ys.length - 1]!];
  const px = (x: number) => left + ((x - x0) / (x1 - x0)) * (W - left - right);
  const py = (y: number) => H - bottom - ((y - y0) / (y1 - y0)) * (H - top - bottom);
  const f = (n: number) => n.toFixed(1);
  const grid = ys.map((t) => html`<line x1="${f(left)}" x2="${f(W - right)}" y1="${f(py(t))}" y2="${f(py(t))}" class="grid"/><text x="${f(left - 6)}" y="${f(py(t) + 4)}" text-anchor="end">${fmtTick(t)}</text>`);
  const xt = xs.map((t) => html`<text x="${f(px(t))}" y="${f(H - bottom + 16)}" text-anchor="middle">${fmtTick(t)}</text>`);
  const marks = series.map((s) => {
    const dots = html`<g fill="${s.color}">${s.points.map(([x, y]) => html`<circle cx="${f(px(x))}" cy="${f(py(y))}" r="2.5"/>`)}</g>`;
    if (s.style === 'dots') return dots;
    const d = s.points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${f(px(x))} ${f(py(y))}`).join('');
    const line = html`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"${raw(s.style === 'dashed' ? ' stroke-dasharray="5 4"' : '')}/>`;
    return s.style === 'markers' ? html`${line}${dots}` : line;
  });
  return html`<figure class="chart"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${o.title}" xmlns="http://www.w3.org/2000/svg">
<title>${o.title}</title>${grid}${xt}
<line x1="${f(left)}" x2="${f(left)}" y1="${f(top)}" y2="${f(H - bottom)}" class="axis"/><line x1="${f(left)}" x2="${f(W - right)}" y1="${f(H - bottom)}" y2="${f(H - bottom)}" class="axis"/>
${marks}
<text x="${f((left + W - right) / 2)}" y="${f(H - 6)}" text-anchor="middle" class="label">${o.xLabel}</text>
<text x="12" y="${f((top + H - bottom) / 2)}" text-anchor="middle" class="label" transform="rotate(-90 12 ${f((top + H - bottom) / 2)})">${o.yLabel}</text>
</svg><figcaption>${series.map((s) => html`<span class="key"><svg viewBox="0 0 10 10" width="10" height="10"><rect width="10" height="10" fill="${s.color}"/></svg> ${s.name}</span>`)}</figcaption></figure>`;
}

export interface Bar {
  label: string;
  value: number;
  /** Text after the bar (default: the value). */
  note?: string;
  href?: string;
}

/** Horizontal bars scaled to the largest value (or `max`). */
export function barChart(o: { title: string; bars: readonly Bar[]; max?: number; width?: number; color?: string }): SafeHtml {
  if (o.bars.length === 0) return html`<p class="muted">${o.title}: nothing to draw yet.</p>`;
  const W = o.width ?? 640, rowH = 18, labelW = 150, noteW = 90;
  const H = o.bars.length * rowH + 8;
  const max = o.max ?? Math.max(...o.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)), 1e-12);
  const scale = (W - labelW - noteW) / (max > 0 ? max : 1);
  const rows = o.bars.map((b, i) => {
    const y = 4 + i * rowH;
    const w = Math.max(0, Number.isFinite(b.value) ? b.value * scale : 0);
    const label = html`<text x="${labelW - 6}" y="${y + 13}" text-anchor="end">${b.label.slice(0, 24)}</text>`;
    return html`${b.href ? html`<a href="${b.href}">${label}</a>` : label}<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${o.color ?? PALETTE[0]!}"/><text x="${(labelW + w + 4).toFixed(1)}" y="${y + 13}">${b.note ?? String(Number(b.value.toPrecision(4)))}</text>`;
  });
  return html`<figure class="chart"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${o.title}" xmlns="http://www.w3.org/2000/svg"><title>${o.title}</title>${rows}</svg></figure>`;
}
