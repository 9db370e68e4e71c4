/**
 * Converters from the chat formats miners find on the Hugging Face Hub into our row format:
 * - `sharegpt`: `{"conversations": [{"from": "human"|"gpt"|"system", "value": "…"}]}`
 *   (`human`/`user` → user; `gpt`/`assistant`/`chatgpt`/`bard`/`bing`/`model` → assistant;
 *   a leading `system` turn, or a top-level `system` string, becomes the system prompt);
 * - `alpaca`: `{"instruction", "input"?, "output", "system"?}` → one user turn (the instruction,
 *   then a blank line and the input when there is one) and one assistant turn;
 * - `openai`: `{"messages": [{"role": "system"|"user"|"assistant", "content": "…"}]}`, content a
 *   string or a list of `{"type": "text", "text"}` parts; one leading system message at most.
 * Each converted row then passes the row validator, so a converted file is a valid dataset.
 */
import { jsonType, checkRow, type RowCheck } from './schema.js';

export const CONVERT_FORMATS = ['sharegpt', 'alpaca', 'openai'] as const;
export type ConvertFormat = (typeof CONVERT_FORMATS)[number];

type Raw = Record<string, unknown>;
type Draft = { system?: string | null; conversations: { role: string; content: unknown }[] };

const SHAREGPT_ROLES: Record<string, 'user' | 'assistant'> = {
  human: 'user', user: 'user',
  gpt: 'assistant', assistant: 'assistant', chatgpt: 'assistant', bard: 'assistant', bing: 'assistant', model: 'assistant',
};

/**
 * Convert one parsed JSON value from `format` into a canonical row, or the reasons it cannot be.
 *
 * @example
 * convertRow({ instruction: 'Add 2 and 2', output: '4' }, 'alpaca')
 * // → { ok: true, row: { system: null, conversations: [{ role: 'user', content: 'Add 2 and 2' }, { role: 'assistant', content: '4' }] } }
 */
export function convertRow(value: unknown, format: ConvertFormat): RowCheck {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, errors: [`a row must be a JSON object, got ${jsonType(value)}`] };
  }
  const raw = value as Raw;
  const draft = format === 'sharegpt' ? fromShareGpt(raw) : format === 'alpaca' ? fromAlpaca(raw) : fromOpenAi(raw);
  if (typeof draft === 'string') return { ok: false, errors: [draft] };
  return checkRow(draft);
}

function fromShareGpt(raw: Raw): Draft | string {
  const conv = raw['conversations'] ?? raw['conversation'];
  if (!Array.isArray(conv)) return conv === undefined ? 'missing "conversations" (ShareGPT rows hold a "conversations" list of {"from", "value"})' : `"conversations" must be an array, got ${jsonType(conv)}`;
  let system: string | null | undefined = typeof raw['system'] === 'string' ? raw['system'] : undefined;
  if (raw['system'] !== undefined && raw['system'] !== null && typeof raw['system'] !== 'string') return `"system" must be a string, got ${jsonType(raw['system'])}`;
  const turns: Draft['conversations'] = [];
  for (let i = 0; i < conv.length; i++) {
    const t = conv[i] as Raw;
    if (t === null || typeof t !== 'object' || Array.isArray(t)) return `turn ${i + 1} must be an object {"from", "value"}, got ${jsonType(t)}`;
    const from = t['from'] ?? t['role'];
    const content = t['value'] ?? t['content'];
    if (typeof from !== 'string') return `turn ${i + 1}: "from" must be a string, got ${jsonType(from)}`;
    const f = from.toLowerCase();
    if (f === 'system') {
      if (i !== 0 || system !== undefined) return `turn ${i + 1}: a "system" turn is only allowed first, once`;
      if (typeof content !== 'string') return `turn ${i + 1}: the system "value" must be a string, got ${jsonType(content)}`;
      system = content;
      continue;
    }
    const role = SHAREGPT_ROLES[f];
    if (!role) return `turn ${i + 1}: unknown speaker ${JSON.stringify(from.slice(0, 40))} (known: human, user, gpt, assistant, system)`;
    turns.push({ role, content });
  }
  return { system, conversations: turns };
}

function fromAlpaca(raw: Raw): Draft | string {
  const { instruction, input, output, system } = raw;
  if (typeof instruction !== 'string') return `"instruction" must be a string, got ${jsonType(instruction)}`;
  if (input !== undefined && input !== null && typeof input !== 'string') return `"input" must be a string, got ${jsonType(input)}`;
  if (typeof output !== 'string') return `"output" must be a string, got ${jsonType(output)}`;
  if (system !== undefined && system !== null && typeof system !== 'string') return `"system" must be a string, got ${jsonType(system)}`;
  const extra = typeof input === 'string' ? input.trim() : '';
  const user = extra === '' ? instruction : `${instruction.trim()}\n\n${extra}`;
  return { system: system as string | null | undefined, conversations: [{ role: 'user', content: user }, { role: 'assistant', content: output }] };
}

function fromOpenAi(raw: Raw): Draft | string {
  const msgs = raw['messages'];
  if (!Array.isArray(msgs)) return msgs === undefined ? 'missing "messages" (OpenAI rows hold a "messages" list of {"role", "content"})' : `"messages" must be an array, got ${jsonType(msgs)}`;
  let system: string | undefined;
  const turns: Draft['conversations'] = [];
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i] as Raw;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return `message ${i + 1} must be an object {"role", "content"}, got ${jsonType(m)}`;
    const role = m['role'];
    const content = openAiContent(m['content']);
    if (typeof content !== 'string') return `message ${i + 1}: ${content.error}`;
    if (role === 'system' || role === 'developer') {
      if (i !== 0) return `message ${i + 1}: a system message is only allowed first, once`;
      system = content;
    } else if (role === 'user' || role === 'assistant') {
      if (role === 'assistant' && Array.isArray(m['tool_calls']) && m['tool_calls'].length > 0) return `message ${i + 1}: tool calls are not supported (chat rows only)`;
      turns.push({ role, content });
    } else {
      return `message ${i + 1}: role ${JSON.stringify(role)} is not supported (system, user, assistant)`;
    }
  }
  return { system, conversations: turns };
}

function openAiContent(c: unknown): string | { error: string } {
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) {
    const parts: string[] = [];
    for (const p of c) {
      if (p && typeof p === 'object' && (p as Raw)['type'] === 'text' && typeof (p as Raw)['text'] === 'string') parts.push((p as Raw)['text'] as string);
      else return { error: `only text content parts are supported, got ${JSON.stringify((p as Raw)?.['type'] ?? jsonType(p))}` };
    }
    return parts.join('\n');
  }
  return { error: `"content" must be a string or a list of text parts, got ${jsonType(c)}` };
}
