import { describe, expect, it } from 'vitest';
import { foldText, nearFingerprint, nearText, textFingerprint, BAND_COUNT } from '../../src/dataset/fingerprint.js';
import type { CanonicalRow } from '../../src/dataset/canonical.js';
import { makeRows, recased, repunctuated, respaced, wordEdited } from './synthetic.js';

const nearlyMatch = (a: CanonicalRow, b: CanonicalRow) => {
  const fa = nearFingerprint(a);
  const fb = nearFingerprint(b);
  return fa.some((k, i) => k === fb[i]);
};
const matchRate = (a: CanonicalRow[], b: CanonicalRow[]) => a.filter((row, i) => nearlyMatch(row, b[i]!)).length / a.length;

describe('near-duplicate fingerprints', () => {
  const rows = makeRows(1, 300, 1000);

  it('folds case, spacing and punctuation away, and leaves the system prompt out', () => {
    expect(foldText('Hello,  World!\n¿Qué tal? 42')).toBe('helloworldquétal42');
    expect(nearText({ system: 'Be nice', conversations: [{ role: 'user', content: 'A b' }, { role: 'assistant', content: 'C.' }] })).toBe('abc');
  });

  it('folds non-ASCII text the same on the fast path and through foldText', () => {
    const text = 'Ünïcödé Straße — ΣΊΣΥΦΟΣ! 日本語のテキスト, emoji 🙂 and ASCII words mixed in for length.';
    expect(foldText(text)).toBe('ünïcödéstraßeσίσυφοσ日本語のテキストemojiandasciiwordsmixedinforlength');
    expect(Array.from(textFingerprint(text))).toEqual(Array.from(textFingerprint(foldText(text))));
    const greek = 'Η ΓΡΗΓΟΡΗ ΚΑΦΕ ΑΛΕΠΟΥ ΠΗΔΑΕΙ ΠΑΝΩ ΑΠΟ ΤΟ ΤΕΜΠΕΛΙΚΟ ΣΚΥΛΙ';
    expect(Array.from(textFingerprint(greek))).toEqual(Array.from(textFingerprint(greek.toLowerCase())));
  });

  it('gives one key per band, the same for the same text', () => {
    const f = nearFingerprint(rows[0]!);
    expect(f).toHaveLength(BAND_COUNT);
    expect(Array.from(nearFingerprint(rows[0]!))).toEqual(Array.from(f));
  });

  it('catches re-cased, re-spaced and re-punctuated copies (every row)', () => {
    expect(matchRate(rows, recased(rows))).toBe(1);
    expect(matchRate(rows, respaced(rows))).toBe(1);
    expect(matchRate(rows, repunctuated(rows))).toBe(1);
  });

  it('catches most rows with 10% of their words edited, fewer with 20%', () => {
    const ten = matchRate(rows, wordEdited(rows, 0.1));
    expect(ten).toBeGreaterThan(0.8);
    expect(matchRate(rows, wordEdited(rows, 0.2))).toBeLessThan(ten);
  });

  it('catches most 10%-edited short rows too', () => {
    const short = makeRows(2, 300, 150);
    expect(matchRate(short, wordEdited(short, 0.1))).toBeGreaterThan(0.65);
  });

  it('does not match unrelated rows', () => {
    const fa = rows.map((r) => nearFingerprint(r));
    const fb = makeRows(99, 100, 1000).map((r) => nearFingerprint(r));
    let hits = 0;
    for (const a of fa) for (const b of fb) if (a.some((k, i) => k === b[i])) hits++;
    expect(hits / (fa.length * fb.length)).toBeLessThan(0.001);
  });

  it('matches very short texts only when their folded text is equal', () => {
    const f = (s: string) => Array.from(textFingerprint(foldText(s)));
    expect(f('What is 2+2?')).toEqual(f('what is 2 + 2'));
    expect(f('What is 2+2?').some((k, i) => k === f('What is 3+5?')[i])).toBe(false);
  });

  it('does not match unrelated short questions that share a template', () => {
    const a = nearFingerprint({ system: null, conversations: [{ role: 'user', content: 'What is the chemical symbol for gold?' }, { role: 'assistant', content: "Au, from the Latin 'aurum'." }] });
    const b = nearFingerprint({ system: null, conversations: [{ role: 'user', content: 'What is the speed of sound in air?' }, { role: 'assistant', content: 'Roughly 343 metres per second at 20 °C.' }] });
    expect(a.some((k, i) => k === b[i])).toBe(false);
  });
});
