/**
 * Recipe v1's chat template (docs/protocol.md, "The recipe") and its assistant-only loss targets.
 *
 *   <|begin_of_text|>
 *   [<|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>]      only if trim(system) ≠ ''
 *   per turn: <|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>
 *
 * Contents are trimmed of surrounding whitespace and otherwise verbatim. Targets are the tokens of
 * each assistant content and the `<|eot_id|>` that closes it; nothing else (BOS, headers, role
 * names, the "\n\n" after a header, system and user turns) is a target.
 *
 * Each text piece is tokenized on its own and special tokens are inserted by id. For Llama 3's
 * pre-tokenizer this gives the same ids as tokenizing the whole rendered string (header names are
 * isolated by the special tokens around them; "\n\n" before a trimmed content is always a
 * pre-token of its own), while special-token strings inside contents stay plain text.
 */
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

/** One encoded row. */
export interface EncodedChat {
  ids: Int32Array;
  labels: Int32Array;
}

/**
 * Encode one chat row per recipe v1, truncated to its first `maxTokens` tokens.
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
export function encodeChat(row: ChatRow, tokenizer: ChatTokenizer, maxTokens = DEFAULT_MAX_TOKENS): EncodedChat {
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RangeError(`maxTokens must be a positive integer, got ${maxTokens}`);
  const sp = tokenizer.special;
  const ids: number[] = [sp.beginOfText];
  // isTarget[i] says whether ids[i] is a target token.
  const isTarget: boolean[] = [false];
  const push = (tokens: number[], target: boolean) => {
    for (const t of tokens) {
      ids.push(t);
      isTarget.push(target);
    }
  };
  const blankLines = tokenizer.encode('\n\n');
  const block = (role: string, content: string, target: boolean) => {
    push([sp.startHeaderId], false);
    push(tokenizer.encode(role), false);
    push([sp.endHeaderId], false);
    push(blankLines, false);
    push(tokenizer.encode(content), target);
    push([sp.eotId], target);
  };

  const system = (row.system ?? '').trim();
  if (system !== '') block('system', system, false);
  for (const turn of row.conversations) {
    if (ids.length >= maxTokens) break; // the rest would be truncated anyway
    if (turn.role !== 'user' && turn.role !== 'assistant') throw new RangeError(`unknown role ${JSON.stringify(turn.role)}`);
    block(turn.role, turn.content.trim(), turn.role === 'assistant');
  }

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
export function encodeChatRows(rows: readonly ChatRow[], tokenizer: ChatTokenizer, maxTokens = DEFAULT_MAX_TOKENS): { examples: EncodedExample[]; dropped: number[] } {
  const examples: EncodedExample[] = [];
  const dropped: number[] = [];
  rows.forEach((row, index) => {
    const enc = encodeChat(row, tokenizer, maxTokens);
    const targets = countTargets(enc.labels);
    if (targets === 0) dropped.push(index);
    else examples.push({ ...enc, index, targets });
  });
  return { examples, dropped };
}

/** Alias of `encodeChatRows` for evaluation sets. */
export const encodeEvalSet = encodeChatRows;
