import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { canonicalJson, canonicalRow, rowHash } from '../../src/dataset/canonical.js';
import { checkRow } from '../../src/dataset/schema.js';

describe('canonical rows', () => {
  it('normalises to NFC, trims, and maps an empty system prompt to null', () => {
    const decomposed = 'Cafe\u0301'; // e + combining acute
    const row = canonicalRow('   ', [{ role: 'user', content: `  ${decomposed}\n` }, { role: 'assistant', content: 'ok' }]);
    expect(row).toEqual({ system: null, conversations: [{ role: 'user', content: 'Caf\u00e9' }, { role: 'assistant', content: 'ok' }] });
  });

  it('writes keys in a fixed order whatever the input order', () => {
    const a = checkRow(JSON.parse('{"conversations":[{"content":"q","role":"user"},{"content":"a","role":"assistant"}],"system":"s"}'));
    const b = checkRow(JSON.parse('{"system":"s","conversations":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}'));
    if (!a.ok || !b.ok) throw new Error('valid rows rejected');
    expect(canonicalJson(a.row)).toBe('{"system":"s","conversations":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}');
    expect(canonicalJson(a.row)).toBe(canonicalJson(b.row));
  });

  it('hashes the canonical JSON with SHA-256', () => {
    const row = canonicalRow(null, [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }]);
    const text = '{"system":null,"conversations":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]}';
    expect(rowHash(row)).toBe(createHash('sha256').update(text).digest('hex'));
    expect(rowHash(row)).toBe(rowHash(canonicalRow('', [{ role: 'user', content: ' Hi' }, { role: 'assistant', content: 'Hello ' }])));
    expect(rowHash(row)).not.toBe(rowHash(canonicalRow(null, [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'Hello' }])));
  });
});
