/** The escaping template: text is escaped everywhere, markup from templates is not escaped twice. */
import { describe, expect, it } from 'vitest';
import { escapeHtml, foreign, html, raw, SafeHtml } from '../../src/dashboard/html.js';

describe('html', () => {
  it('escapes every interpolated string, in text and in attributes', () => {
    const evil = `<img src=x onerror=alert(1)>"'&</script>`;
    const out = html`<td title="${evil}">${evil}</td>`.value;
    expect(out).not.toContain('<img');
    expect(out).not.toContain('</script>');
    expect(out).toBe(`<td title="${escapeHtml(evil)}">${escapeHtml(evil)}</td>`);
    expect(escapeHtml(evil)).toBe('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;&lt;/script&gt;');
  });

  it('keeps nested templates and raw markup, joins arrays and drops null, undefined and false', () => {
    const inner = html`<b>${'a<b'}</b>`;
    expect(html`<p>${inner}${[html`<i>1</i>`, '<2>']}${null}${undefined}${false}${0}</p>`.value).toBe('<p><b>a&lt;b</b><i>1</i>&lt;2&gt;0</p>');
    expect(raw('<hr>')).toBeInstanceOf(SafeHtml);
    expect(html`${raw('<hr>')}`.value).toBe('<hr>');
  });

  it('shows control and bidirectional characters of outside text as visible escapes', () => {
    expect(foreign('ab\u202Ecd\u001b[2J')).toBe('ab\\u202ecd\\x1b[2J');
  });
});
