/** Numbers, keys, times and links as the pages write them. */
import { html, foreign, type SafeHtml } from './html.js';

/** A number with `digits` decimals; NaN and infinities by name; null as a dash. */
export function num(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined) return '—';
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  return x.toFixed(digits);
}

/** The first and last characters of an SS58 key. */
export function shortKey(key: string): string {
  return key.length > 14 ? `${key.slice(0, 6)}…${key.slice(-4)}` : key;
}

/** How long ago `ms` (since epoch) was, from `now`. */
export function ago(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** A time as UTC ISO text without milliseconds. */
export function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A browsable hub URL of a dataset repo (at a revision), every segment encoded. */
export function datasetUrl(hubUrl: string, repoId: string, revision?: string | null): string {
  const path = repoId.split('/').map(encodeURIComponent).join('/');
  return `${hubUrl}/datasets/${path}${revision ? `/tree/${encodeURIComponent(revision)}` : ''}`;
}

/** A browsable hub URL of one file of a dataset repo at a revision, every segment encoded. */
export function datasetFileUrl(hubUrl: string, repoId: string, revision: string, path: string): string {
  const repo = repoId.split('/').map(encodeURIComponent).join('/');
  return `${hubUrl}/datasets/${repo}/blob/${encodeURIComponent(revision)}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** A model repo URL at a revision. */
export function modelUrl(hubUrl: string, repoId: string, revision?: string | null): string {
  const path = repoId.split('/').map(encodeURIComponent).join('/');
  return `${hubUrl}/${path}${revision ? `/tree/${encodeURIComponent(revision)}` : ''}`;
}

/** Text someone else wrote, shown as text in a `<bdi>` (its direction cannot leak into ours). */
export function outside(text: string | null | undefined): SafeHtml {
  if (text === null || text === undefined || text === '') return html`<span class="muted">—</span>`;
  return html`<bdi class="foreign">${foreign(text)}</bdi>`;
}

/** A hotkey shortened, the whole key in the title. */
export function key(k: string): SafeHtml {
  return html`<code title="${k}">${shortKey(k)}</code>`;
}
