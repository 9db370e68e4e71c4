/**
 * Parse results and errors shared by the protocol modules. Parsing chain or hub input never
 * throws: a bad commitment is a scoring fact (score 0 with a reason), not a crash. Functions that
 * build protocol values from our own input (formatting) throw `ProtocolError` instead.
 */

/** Outcome of parsing untrusted input: the value, or a machine-readable code and a readable reason. */
export type ParseResult<T, Code extends string = string> =
  | { ok: true; value: T }
  | { ok: false; code: Code; reason: string };

/** Thrown when our own code asks to format a value that breaks the protocol. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    /** Stable machine-readable code (e.g. `bad_revision`). */
    readonly code: string,
    /** What is wrong, naming the bad value, in words a miner can act on. */
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** A printable, bounded excerpt of untrusted text for use inside a reason. */
export function quote(value: string, max = 48): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}
