/**
 * Canonical rows and their exact identity.
 *
 * A canonical row has NFC-normalised, trimmed strings, `system` null when absent or empty, and
 * keys in a fixed order (`system`, `conversations`; `role`, `content`), so its JSON text is one
 * string per row however the file spelled it. The row hash (exact-duplicate identity) is the
 * SHA-256 of that text in UTF-8.
 */
import { createHash, hash } from 'node:crypto';

export type Role = 'user' | 'assistant';

export interface Turn {
  role: Role;
  content: string;
}

export interface CanonicalRow {
  system: string | null;
  conversations: Turn[];
}

/** NFC-normalise and trim a string, the way every string of a canonical row is stored. */
export function canonicalText(s: string): string {
  return s.normalize('NFC').trim();
}

/**
 * Build a canonical row from already-valid parts (the validator checks them first).
 *
 * @example
 * canonicalRow('  ', [{ role: 'user', content: ' Hi ' }, { role: 'assistant', content: 'Hello' }])
 * // → { system: null, conversations: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] }
 */
export function canonicalRow(system: string | null | undefined, turns: readonly Turn[]): CanonicalRow {
  const sys = system == null ? '' : canonicalText(system);
  return {
    system: sys === '' ? null : sys,
    conversations: turns.map((t) => ({ role: t.role, content: canonicalText(t.content) })),
  };
}

/** The canonical JSON text of a row (fixed key order, no spaces). */
export function canonicalJson(row: CanonicalRow): string {
  // Built by hand so the key order never depends on how the object was made.
  let s = `{"system":${JSON.stringify(row.system)},"conversations":[`;
  for (let i = 0; i < row.conversations.length; i++) {
    const t = row.conversations[i]!;
    if (i > 0) s += ',';
    s += `{"role":${JSON.stringify(t.role)},"content":${JSON.stringify(t.content)}}`;
  }
  return s + ']}';
}

/** SHA-256 of the canonical JSON, as 32 bytes. */
export function rowHashBytes(row: CanonicalRow): Buffer {
  return oneShotSha256 ? oneShotSha256('sha256', canonicalJson(row), 'buffer') : createHash('sha256').update(canonicalJson(row), 'utf8').digest();
}

// crypto.hash (Node ≥ 20.12) skips the Hash object: about twice as fast for short inputs.
const oneShotSha256 = typeof hash === 'function' ? (hash as (alg: string, data: string, enc: 'buffer') => Buffer) : null;

/**
 * Exact-duplicate identity of a row: SHA-256 (hex) of its canonical JSON.
 *
 * @example
 * rowHash({ system: null, conversations: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] })
 */
export function rowHash(row: CanonicalRow): string {
  return rowHashBytes(row).toString('hex');
}
