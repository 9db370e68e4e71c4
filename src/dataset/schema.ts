/**
 * The row schema (docs/protocol.md, "Datasets") and its validator.
 *
 * A row is `{"system"?: string | null, "conversations": [{"role", "content"}, …]}`: turns alternate
 * user/assistant, start with the user, end with the assistant, and every content is a non-empty
 * string. Nothing else is accepted — unknown keys, `__proto__`-style keys and unpaired surrogates
 * included — and every problem gets its own message, with a hint to `flock dataset convert` when the
 * row looks like a format we convert from.
 */
import { canonicalRow, canonicalText, type CanonicalRow, type Role, type Turn } from './canonical.js';

export type RowCheck = { ok: true; row: CanonicalRow } | { ok: false; errors: string[] };

const ROW_KEYS = new Set(['system', 'conversations']);
const TURN_KEYS = new Set(['role', 'content']);
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** False when the string holds an unpaired UTF-16 surrogate (JSON allows `"\ud800"`; UTF-8 cannot carry it). */
function isWellFormed(s: string): boolean {
  // String.prototype.isWellFormed is in Node 20 but not in the ES2023 type library.
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** What a JSON value is, for messages: `object`, `array`, `string`, `number`, `boolean`, `null`. */
export function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * Check one parsed JSON value against the row schema; on success, the canonical row.
 *
 * @example
 * checkRow(JSON.parse('{"conversations":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]}'))
 * // → { ok: true, row: { system: null, conversations: [...] } }
 */
export function checkRow(value: unknown): RowCheck {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, errors: [`a row must be a JSON object, got ${jsonType(value)}`] };
  }
  const obj = value as Record<string, unknown>;
  const errors: string[] = [];
  const keys = Object.keys(obj);
  const suggestion = convertSuggestion(keys);
  for (const k of keys) {
    if (FORBIDDEN_KEYS.has(k)) errors.push(`forbidden key ${JSON.stringify(k)}`);
    else if (!ROW_KEYS.has(k)) errors.push(`unknown key ${JSON.stringify(k)}: a row has only "system" and "conversations"${suggestion}`);
  }

  const system = obj['system'];
  if (system !== undefined && system !== null && typeof system !== 'string') {
    errors.push(`"system" must be a string or null, got ${jsonType(system)}`);
  } else if (typeof system === 'string' && !isWellFormed(system)) {
    errors.push('"system" contains an unpaired UTF-16 surrogate (a broken \\uD8xx escape)');
  }

  const conv = obj['conversations'];
  const turns: Turn[] = [];
  if (!Object.hasOwn(obj, 'conversations')) {
    errors.push(`missing "conversations"${suggestion}`);
  } else if (!Array.isArray(conv)) {
    errors.push(`"conversations" must be an array of turns, got ${jsonType(conv)}`);
  } else if (conv.length === 0) {
    errors.push('"conversations" is empty: a row needs a user turn and an assistant turn');
  } else {
    checkTurns(conv, errors, turns);
  }

  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, row: canonicalRow(system as string | null | undefined, turns) };
}

function checkTurns(conv: unknown[], errors: string[], turns: Turn[]): void {
  let expected: Role = 'user';
  let orderOk = true;
  conv.forEach((turn, i) => {
    const n = i + 1;
    if (turn === null || typeof turn !== 'object' || Array.isArray(turn)) {
      errors.push(`turn ${n} must be an object {"role", "content"}, got ${jsonType(turn)}`);
      orderOk = false;
      return;
    }
    const t = turn as Record<string, unknown>;
    const keys = Object.keys(t);
    for (const k of keys) {
      if (FORBIDDEN_KEYS.has(k)) errors.push(`turn ${n}: forbidden key ${JSON.stringify(k)}`);
      else if (!TURN_KEYS.has(k)) {
        const hint = k === 'from' || k === 'value' ? ' (this looks like ShareGPT: run `flock dataset convert --from sharegpt`)' : '';
        errors.push(`turn ${n}: unknown key ${JSON.stringify(k)}: a turn has only "role" and "content"${hint}`);
      }
    }
    const role = t['role'];
    if (!Object.hasOwn(t, 'role')) {
      errors.push(`turn ${n}: missing "role"`);
      orderOk = false;
    } else if (role !== 'user' && role !== 'assistant') {
      errors.push(`turn ${n}: ${roleProblem(role)}`);
      orderOk = false;
    } else if (orderOk && role !== expected) {
      errors.push(n === 1
        ? `turn 1 must be from the user, got "${role}"`
        : `turn ${n}: turns must alternate user/assistant, but turn ${n - 1} is also "${role}"`);
      orderOk = false;
    }
    const content = t['content'];
    if (!Object.hasOwn(t, 'content')) errors.push(`turn ${n}: missing "content"`);
    else if (typeof content !== 'string') errors.push(`turn ${n}: "content" must be a non-empty string, got ${jsonType(content)}`);
    else if (canonicalText(content) === '') errors.push(`turn ${n}: "content" is empty`);
    else if (!isWellFormed(content)) errors.push(`turn ${n}: "content" contains an unpaired UTF-16 surrogate (a broken \\uD8xx escape)`);
    if (role === 'user' || role === 'assistant') turns.push({ role, content: typeof content === 'string' ? content : '' });
    expected = expected === 'user' ? 'assistant' : 'user';
  });
  const last = conv[conv.length - 1] as Record<string, unknown> | undefined;
  if (orderOk && last && typeof last === 'object' && last['role'] === 'user') {
    errors.push(`the conversation ends with the user (turn ${conv.length}): it must end with an assistant turn`);
  }
}

function roleProblem(role: unknown): string {
  if (typeof role !== 'string') return `"role" must be "user" or "assistant", got ${jsonType(role)}`;
  const shown = JSON.stringify(role.length > 40 ? `${role.slice(0, 40)}…` : role);
  const lower = role.toLowerCase();
  if (lower === 'user' || lower === 'assistant') return `role ${shown} must be lower-case "${lower}"`;
  if (lower === 'system') return `role "system" is not a turn: put the system prompt in the row's "system" field (or run \`flock dataset convert --from openai\`)`;
  if (['human', 'gpt', 'chatgpt', 'bard', 'bing', 'model'].includes(lower)) {
    return `unknown role ${shown}: roles are "user" and "assistant" (this looks like ShareGPT: run \`flock dataset convert --from sharegpt\`)`;
  }
  return `unknown role ${shown}: roles are "user" and "assistant" (to convert another format, see \`flock dataset convert --help\`)`;
}

/** A hint naming the converter when the row's keys look like a format we convert from. */
function convertSuggestion(keys: string[]): string {
  const has = (k: string) => keys.includes(k);
  if (has('messages')) return ' (this looks like OpenAI chat format: run `flock dataset convert --from openai`)';
  if (has('instruction') || has('output')) return ' (this looks like Alpaca: run `flock dataset convert --from alpaca`)';
  if (has('conversation') || has('conversations')) return '';
  return '';
}
