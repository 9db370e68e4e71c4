/**
 * Seeded synthetic chat datasets for the dataset tests and benchmark, and the transformations a
 * copier would apply (re-casing, re-spacing, punctuation changes, shuffling, ~10% word edits).
 * Words are random letter strings drawn with a Zipf-like law, so unrelated rows still share
 * common "words" the way real text does.
 */
import type { CanonicalRow } from '../../src/dataset/canonical.js';

export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0 || 1; }
  /** Uniform in [0, 1). */
  next(): number {
    // xorshift32
    this.s ^= this.s << 13; this.s >>>= 0;
    this.s ^= this.s >>> 17;
    this.s ^= this.s << 5; this.s >>>= 0;
    return this.s / 2 ** 32;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** A vocabulary of pseudo-words (the same for every seed, so datasets share common words). */
const VOCAB: string[] = (() => {
  const r = new Rng(12345);
  return Array.from({ length: 5000 }, () => Array.from({ length: 2 + r.int(8) }, () => LETTERS[r.int(26)]).join(''));
})();

function word(r: Rng): string {
  // Zipf-like: log-uniform rank
  return VOCAB[Math.min(VOCAB.length - 1, Math.floor(Math.exp(r.next() * Math.log(VOCAB.length))) - 1)]!;
}

/** A sentence-like string of about `words` words with capitals and punctuation. */
export function text(r: Rng, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    let w = word(r);
    if (i === 0 || out[i - 1]!.endsWith('.')) w = w[0]!.toUpperCase() + w.slice(1);
    if (i === words - 1 || r.next() < 0.08) w += '.';
    else if (r.next() < 0.06) w += ',';
    out.push(w);
  }
  return out.join(' ');
}

/** `n` rows of about `bytes` bytes of content each (two or four turns). */
export function makeRows(seed: number, n: number, bytes = 1000): CanonicalRow[] {
  const r = new Rng(seed);
  const words = Math.max(4, Math.round(bytes / 6.5));
  return Array.from({ length: n }, () => {
    const turns = r.next() < 0.8 ? 2 : 4;
    const per = Math.max(2, Math.round(words / turns));
    return {
      system: r.next() < 0.2 ? 'You are a helpful assistant.' : null,
      conversations: Array.from({ length: turns }, (_, i) => ({ role: i % 2 === 0 ? 'user' as const : 'assistant' as const, content: text(r, per) })),
    };
  });
}

/** Rows as JSONL text (one row per line, trailing newline). */
export function toJsonl(rows: readonly unknown[]): string {
  return rows.map((row) => JSON.stringify(row)).join('\n') + '\n';
}

type Edit = (s: string, r: Rng) => string;

function mapContents(rows: readonly CanonicalRow[], seed: number, f: Edit): CanonicalRow[] {
  const r = new Rng(seed);
  return rows.map((row) => ({ system: row.system, conversations: row.conversations.map((t) => ({ role: t.role, content: f(t.content, r) })) }));
}

/** Random upper/lower case per word. */
export const recased = (rows: readonly CanonicalRow[], seed = 1) => mapContents(rows, seed, (s, r) =>
  s.split(' ').map((w) => (r.next() < 0.5 ? w.toUpperCase() : w.toLowerCase())).join(' '));

/** Spaces doubled, turned into newlines/tabs, padded. */
export const respaced = (rows: readonly CanonicalRow[], seed = 2) => mapContents(rows, seed, (s, r) =>
  '  ' + s.split(' ').map((w) => w + ['  ', '\n', '\t', ' '][r.int(4)]).join('') + '\n');

/** Punctuation removed, changed or added. */
export const repunctuated = (rows: readonly CanonicalRow[], seed = 3) => mapContents(rows, seed, (s, r) =>
  s.replace(/[.,]/g, () => ['', '!', ';', ' -'][r.int(4)]!).split(' ').map((w) => (r.next() < 0.1 ? `"${w}"` : w)).join(' ') + '?');

/** About `fraction` of the words replaced by other words. */
export const wordEdited = (rows: readonly CanonicalRow[], fraction = 0.1, seed = 4) => mapContents(rows, seed, (s, r) =>
  s.split(' ').map((w) => (r.next() < fraction ? word(r) : w)).join(' '));

/** The rows in a shuffled order. */
export function shuffled<T>(rows: readonly T[], seed = 5): T[] {
  const r = new Rng(seed);
  const out = [...rows];
  for (let i = out.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
