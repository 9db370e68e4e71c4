/**
 * Text from outside the process (commitments read from chain, repo ids, reasons, dataset rows)
 * made safe to print on a terminal: the characters a terminal acts on instead of showing — C0
 * controls (ESC, CR, BEL, backspace, …), DEL, C1 controls (U+0080–U+009F, e.g. the one-byte CSI),
 * the Unicode bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F,
 * U+202A–U+202E, U+2066–U+2069) and the line and paragraph separators (U+2028, U+2029) — are
 * written as visible escapes (`\x1b`, `\u202e`). Everything else (accents, CJK, emoji) is left
 * as it is.
 *
 * @example printable('alice/ds\x1b[2J:1:abc') // 'alice/ds\\x1b[2J:1:abc'
 */

/** Every character `printable` escapes. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
/** The same, newline excepted. */
const UNSAFE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const hex = (c: string, digits: number) => c.charCodeAt(0).toString(16).padStart(digits, '0');

export interface PrintableOptions {
  /** Keep `\n` as a line break (multi-line text such as an error with its details). */
  newlines?: boolean;
  /**
   * Escape as JSON does (`\u001b`, `\u202e`), for text inside a JSON string: the result is still
   * valid JSON with the same value.
   */
  json?: boolean;
}

/** `text` with every character a terminal would act on written as a visible escape. */
export function printable(text: string, options: PrintableOptions = {}): string {
  const unsafe = options.newlines ? UNSAFE_BUT_NEWLINE : UNSAFE;
  unsafe.lastIndex = 0;
  if (!unsafe.test(text)) return text;
  if (options.json) return text.replace(unsafe, (c) => `\\u${hex(c, 4)}`);
  return text.replace(unsafe, (c) => SHORT[c] ?? (c.charCodeAt(0) <= 0x9f ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

