import { describe, expect, it } from 'vitest';
import { printable } from '../../src/util/terminal-text.js';

/** True when `s` holds a character a terminal acts on (what `printable` must never let through). */
const acting = (s: string) => /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/.test(s);

describe('printable', () => {
  it('leaves ordinary text alone: ASCII, accents, CJK, emoji, combining marks, right-to-left letters', () => {
    for (const s of ['alice/my-dataset:1:4f2c9a0b1d2e3f405162738495a6b7c8d9e0f1a2', 'café naïve Ångström', '数据集 データ 데이터', '🦩🔥👩‍👩‍👧', 'e\u0301', 'שלום مرحبا', 'a "quoted" \\ back\\slash', '']) {
      expect(printable(s)).toBe(s);
    }
  });

  it('escapes terminal control sequences: ESC, CSI, OSC, BEL, backspace, CR, DEL, NUL', () => {
    expect(printable('x\x1b[2J\x1b[Hy')).toBe('x\\x1b[2J\\x1b[Hy');
    expect(printable('\x1b]0;pwned\x07')).toBe('\\x1b]0;pwned\\x07');
    expect(printable('ok\b\b\bbad')).toBe('ok\\x08\\x08\\x08bad');
    expect(printable('a\rb\nc\td')).toBe('a\\rb\\nc\\td');
    expect(printable('\x00\x7f')).toBe('\\x00\\x7f');
  });

  it('escapes C1 controls (the one-character CSI, NEL, …)', () => {
    expect(printable('\u009b2J')).toBe('\\x9b2J');
    expect(printable('a\u0085b\u0080\u009f')).toBe('a\\x85b\\x80\\x9f');
    expect(printable('\u00a0é')).toBe('\u00a0é'); // NBSP and beyond are ordinary
  });

  it('escapes bidirectional overrides, embeddings, isolates and marks, and the Unicode line separators', () => {
    expect(printable('user\u202Egpj.exe')).toBe('user\\u202egpj.exe');
    const bidi = '\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c';
    expect(printable(bidi)).toBe('\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069\\u200e\\u200f\\u061c');
    expect(printable('a\u2028b\u2029c')).toBe('a\\u2028b\\u2029c');
  });

  it('a forged log line stays on the line it came in', () => {
    const hostile = 'miners/x:1:abc\r\n2026-01-01 00:00:00 | SUCCESS | weights set\x1b[1A\x1b[2K';
    const out = printable(hostile);
    expect(out).not.toContain('\n');
    expect(acting(out)).toBe(false);
    expect(out).toBe('miners/x:1:abc\\r\\n2026-01-01 00:00:00 | SUCCESS | weights set\\x1b[1A\\x1b[2K');
  });

  it('no character a terminal acts on survives, over every code unit of the ranges', () => {
    let all = '';
    for (let c = 0; c <= 0x2100; c++) all += String.fromCharCode(c);
    expect(acting(printable(all))).toBe(false);
    expect(acting(printable(all, { json: true }))).toBe(false);
    expect(acting(printable(all, { newlines: true }).replace(/\n/g, ''))).toBe(false);
  });

  it('newlines: keeps line breaks (multi-line messages), escapes the rest', () => {
    expect(printable('first\nsecond\x1b[2J\r', { newlines: true })).toBe('first\nsecond\\x1b[2J\\r');
  });

  it('json: escapes as JSON does, so a JSON text stays valid and keeps its value', () => {
    const value = { msg: 'a\u009b\u202e\u2028\u007fb 数据 🦩' };
    const line = printable(JSON.stringify(value), { json: true });
    expect(acting(line)).toBe(false);
    expect(line).toContain('a\\u009b\\u202e\\u2028\\u007fb 数据 🦩');
    expect(JSON.parse(line)).toEqual(value);
  });
});
