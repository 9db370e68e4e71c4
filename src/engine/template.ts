/**
 * The chat templates a recipe names (`chatTemplate`, docs/protocol.md "The recipe") and their
 * assistant-only loss targets.
 *
 * `llama3` (recipe v1, the default):
 *   <|begin_of_text|>
 *   [<|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>]      only if trim(system) ≠ ''
 *   per turn: <|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>
 * Targets: each assistant content and the `<|eot_id|>` that closes it.
 *
 * `chatml` (Qwen2 / Qwen2.5-Instruct's ChatML; no BOS):
 *   <|im_start|>system\n{system}<|im_end|>\n      {system} = QWEN_DEFAULT_SYSTEM_PROMPT if trim(system) = ''
 *   per turn: <|im_start|>{role}\n{content}<|im_end|>\n
 * Targets: each assistant content and the `<|im_end|>` that closes it, not the "\n" after it.
 * - A row without a system prompt gets Qwen2.5-Instruct's default one, as its own chat template
 *   (tokenizer_config.json) renders it: the model was instruction-tuned with a system block in
 *   every conversation, and a validator that renders rows with the model's template
 *   (transformers' apply_chat_template) gets the same tokens.
 * - `<|im_end|>` is the token generation stops at (generation_config's eos), so the model must
 *   learn to emit it; the "\n" after it is only the separator before the next block, which the
 *   model never generates — like the llama3 template's headers it is context, not a target.
 *
 * In both, contents are trimmed of surrounding whitespace and otherwise verbatim, and nothing but
 * the assistant parts above is a target (not BOS, headers, role names, separators, system or user
 * turns).
 *
 * Each text piece is tokenized on its own and special tokens are inserted by id. For Llama 3's and
 * Qwen2's pre-tokenizers this gives the same ids as tokenizing the whole rendered string (role
 * names are isolated by the special tokens before them; the "\n\n" or "\n" before a trimmed
 * content is always a pre-token of its own), while special-token strings inside contents stay
 * plain text.
 */
import type { ChatTemplate } from '../protocol/recipe.js';
import { FlockError } from '../util/errors.js';
import type { ChatTokenizer } from './tokenizer.js';

/** A chat row as the dataset format defines it (docs/protocol.md, "Datasets"). */
export interface ChatRow {
  system?: string | null;
  conversations: { role: 'user' | 'assistant'; content: string }[];
}

/** Label value for positions that are not scored (PyTorch's `ignore_index`). */
export const IGNORE_INDEX = -100;

/** Recipe v1's sequence limit. */
export const DEFAULT_MAX_TOKENS = 512;

/** The system prompt Qwen2.5-Instruct's chat template gives a conversation that has none. */
export const QWEN_DEFAULT_SYSTEM_PROMPT = 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.';

/** One encoded row. */
export interface EncodedChat {
  ids: Int32Array;
  labels: Int32Array;
}

/**
 * Why `tokenizer` cannot render `template` (it lacks the template's special tokens), or null.
 *
 * @example
 * templateProblem(tok, 'chatml'); // 'the tokenizer has no <|im_start|> / <|im_end|> special tokens …'
 */
export function templateProblem(tokenizer: ChatTokenizer, template: ChatTemplate): string | null {
  if (template === 'llama3' && !tokenizer.llama3) {
    return 'the chat template "llama3" needs the Llama 3 special tokens (<|begin_of_text|>, <|start_header_id|>, <|end_header_id|>, <|eot_id|>), which the tokenizer does not have';
  }
  if (template === 'chatml' && !tokenizer.chatml) {
    return 'the chat template "chatml" needs the ChatML special tokens <|im_start|> and <|im_end|>, which the tokenizer does not have';
  }
  return null;
}

/** A sequence under construction: ids and whether each is a target. */
class Sequence {
  readonly ids: number[] = [];
  readonly isTarget: boolean[] = [];
  push(tokens: readonly number[], target: boolean): void {
    for (const t of tokens) {
      this.ids.push(t);
      this.isTarget.push(target);
    }
  }
}

function renderLlama3(row: ChatRow, tokenizer: ChatTokenizer, maxTokens: number): Sequence {
  const sp = tokenizer.llama3!;
  const seq = new Sequence();
  seq.push([sp.beginOfText], false);
  const blankLines = tokenizer.encode('\n\n');
  const block = (role: string, content: string, target: boolean) => {
    seq.push([sp.startHeaderId], false);
    seq.push(tokenizer.encode(role), false);
    seq.push([sp.endHeaderId], false);
    seq.push(blankLines, false);
    seq.push(tokenizer.encode(content), target);
    seq.push([sp.eotId], target);
  };
  const system = (row.system ?? '').trim();
  if (system !== '') block('system', system, false);
  for (const turn of row.conversations) {
    if (seq.ids.length >= maxTokens) break; // the rest would be truncated anyway
    block(checkedRole(turn.role), turn.content.trim(), turn.role === 'assistant');
  }
  return seq;
}

function renderChatml(row: ChatRow, tokenizer: ChatTokenizer, maxTokens: number): Sequence {
  const sp = tokenizer.chatml!;
  const seq = new Sequence();
  const newline = tokenizer.encode('\n');
  const block = (role: string, content: string, target: boolean) => {
    seq.push([sp.imStart], false);
    seq.push(tokenizer.encode(`${role}\n`), false);
    seq.push(tokenizer.encode(content), target);
    seq.push([sp.imEnd], target);
    seq.push(newline, false);
  };
  const system = (row.system ?? '').trim();
  block('system', system === '' ? QWEN_DEFAULT_SYSTEM_PROMPT : system, false);
  for (const turn of row.conversations) {
    if (seq.ids.length >= maxTokens) break;
    block(checkedRole(turn.role), turn.content.trim(), turn.role === 'assistant');
  }
  return seq;
}

function checkedRole(role: string): string {
  if (role !== 'user' && role !== 'assistant') throw new RangeError(`unknown role ${JSON.stringify(role)}`);
  return role;
}

/**
 * Encode one chat row with `template` (default `llama3`, recipe v1), truncated to its first
 * `maxTokens` tokens.
 *
 * Alignment (labels are already shifted — the loss needs no further shift):
 *   `ids.length === labels.length === T`, and for every position t in 0..T-1
 *   `labels[t] = ids[t + 1]` when token t+1 is a target, else `IGNORE_INDEX` (-100);
 *   `labels[T - 1]` is always -100 (no next token inside the truncated sequence).
 * So the logits computed at position t (having seen ids[0..t]) are scored against `labels[t]`:
 *   loss = mean over { t : labels[t] ≠ -100 } of −log softmax(logits[t])[labels[t]].
 * This is exactly HF's `labels` (unshifted, -100 on non-targets) shifted left by one.
 * A row with no label ≠ -100 (all targets truncated away) is dropped by the recipe.
 *
 * @example
 * const { ids, labels } = encodeChat({ system: null, conversations: [
 *   { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }] }, tok);
 */
export function encodeChat(row: ChatRow, tokenizer: ChatTokenizer, maxTokens = DEFAULT_MAX_TOKENS, template: ChatTemplate = 'llama3'): EncodedChat {
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RangeError(`maxTokens must be a positive integer, got ${maxTokens}`);
  const problem = templateProblem(tokenizer, template);
  if (problem) throw new FlockError(problem, { hint: 'the recipe\'s chatTemplate must match the base model: "llama3" for Llama 3, "chatml" for Qwen2' });
  const { ids, isTarget } = template === 'chatml' ? renderChatml(row, tokenizer, maxTokens) : renderLlama3(row, tokenizer, maxTokens);
  const T = Math.min(ids.length, maxTokens);
  const outIds = Int32Array.from(ids.slice(0, T));
  const labels = new Int32Array(T).fill(IGNORE_INDEX);
  for (let t = 0; t + 1 < T; t++) if (isTarget[t + 1]) labels[t] = ids[t + 1]!;
  return { ids: outIds, labels };
}

/** Number of scored positions (labels ≠ -100). */
export function countTargets(labels: Int32Array): number {
  let n = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] !== IGNORE_INDEX) n++;
  return n;
}

/** An encoded row that has targets, with its index in the input. */
export interface EncodedExample extends EncodedChat {
  /** Index of the row in the input array. */
  index: number;
  /** countTargets(labels), > 0. */
  targets: number;
}

/**
 * Encode many rows (an evaluation set or a training set) and drop those left without targets
 * after truncation, as the recipe says. `dropped` lists the input indices that were dropped.
 *
 * @example
 * const { examples, dropped } = encodeChatRows(rows, tok, 512);
 */
export function encodeChatRows(rows: readonly ChatRow[], tokenizer: ChatTokenizer, maxTokens = DEFAULT_MAX_TOKENS, template: ChatTemplate = 'llama3'): { examples: EncodedExample[]; dropped: number[] } {
  const examples: EncodedExample[] = [];
  const dropped: number[] = [];
  rows.forEach((row, index) => {
    const enc = encodeChat(row, tokenizer, maxTokens, template);
    const targets = countTargets(enc.labels);
    if (targets === 0) dropped.push(index);
    else examples.push({ ...enc, index, targets });
  });
  return { examples, dropped };
}

/** Alias of `encodeChatRows` for evaluation sets. */
export const encodeEvalSet = encodeChatRows;

