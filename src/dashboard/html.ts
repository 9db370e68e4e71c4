/**
 * HTML built by string templates, escaped by default: every value interpolated into `html`…``
 * is escaped unless it is already `SafeHtml` (the output of another `html` template or of `raw`).
 * Text that someone else controls (commitments, repo names, reasons) is also passed through
 * `printable`, so control characters and bidirectional overrides show as visible escapes instead
 * of reordering what is around them.
 */
import { printable } from '../util/terminal-text.js';

/** Markup that is already safe to send. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text as HTML text or attribute value: `& < > " '` escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A value in a template: markup as is, arrays joined, null/undefined/false as nothing, the rest escaped text. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(v: HtmlValue): string {
  if (v instanceof SafeHtml) return v.value;
  if (v === null || v === undefined || v === false) return '';
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

/** Tagged template: `html`<td>${name}</td>`` escapes `name`. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Markup written by this program (never text from outside). */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** Text from outside (a miner, a validator, a hub): control and bidi characters made visible, then escaped by the template. */
export function foreign(text: string): string {
  return printable(text);
}
