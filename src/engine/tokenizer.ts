/**
 * The chat tokenizer: a Hugging Face `tokenizer.json` (BPE with a byte-level pre-tokenizer, as in
 * Llama 3 and Qwen2) loaded with `@huggingface/tokenizers`, plus the special tokens the chat
 * templates need, found by name: Llama 3's headers and `<|eot_id|>`, ChatML's `<|im_start|>` and
 * `<|im_end|>`. A tokenizer must have all of one template's; the recipe's template must be one it
 * has (template.ts checks). Encoding never adds a BOS token: the llama3 template inserts
 * `<|begin_of_text|>` itself, ChatML (Qwen) has none.
 *
 * `encode(text)` treats its input as plain text: special-token strings inside it (a dataset row
 * containing the literal text `<|eot_id|>`) are tokenized as ordinary characters, never as the
 * special token — transformers' `split_special_tokens=True`. So a dataset cannot forge turn
 * boundaries or loss targets; special tokens enter a sequence only through the template, by id.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FlockError } from '../util/errors.js';

/** Ids of the Llama 3 special tokens the llama3 chat template uses. */
export interface SpecialTokenIds {
  beginOfText: number;
  endOfText: number;
  startHeaderId: number;
  endHeaderId: number;
  eotId: number;
}

/** Ids of the ChatML special tokens the chatml chat template uses. */
export interface ChatmlTokenIds {
  imStart: number;
  imEnd: number;
}

/** A tokenizer for chat sequences. */
export interface ChatTokenizer {
  /** Token ids of plain text (no BOS added; special-token strings are text, see the module comment). */
  encode(text: string): number[];
  /** Text of token ids; special tokens appear as their strings (`<|eot_id|>`). */
  decode(ids: ArrayLike<number>): string;
  /** One past the largest token id (the embedding table needs at least this many rows). */
  vocabSize: number;
  /** The llama3 template's special tokens, or null when the tokenizer lacks one (Qwen's). */
  llama3: SpecialTokenIds | null;
  /** The chatml template's special tokens, or null when the tokenizer lacks one (Llama 3's). */
  chatml: ChatmlTokenIds | null;
  /** Ids of all added tokens marked special. */
  specialIds: ReadonlySet<number>;
  /** The id of the added special token `content` (e.g. `<|im_end|>`), if there is one. */
  specialId(content: string): number | undefined;
}

/** The llama3 template's special tokens, by their strings in `tokenizer.json`'s `added_tokens`. */
export const LLAMA3_SPECIAL_TOKENS: Record<keyof SpecialTokenIds, string> = {
  beginOfText: '<|begin_of_text|>',
  endOfText: '<|end_of_text|>',
  startHeaderId: '<|start_header_id|>',
  endHeaderId: '<|end_header_id|>',
  eotId: '<|eot_id|>',
};

/** The chatml template's special tokens, by their strings in `added_tokens`. */
export const CHATML_SPECIAL_TOKENS: Record<keyof ChatmlTokenIds, string> = {
  imStart: '<|im_start|>',
  imEnd: '<|im_end|>',
};

/** Refuse absurd tokenizer files before parsing them (the real Llama 3 one is ~9 MB, Qwen2's ~7 MB). */
const MAX_TOKENIZER_BYTES = 200 * 1024 * 1024;

interface AddedTokenJson { id: number; content: string; special?: boolean }

/**
 * Load `DIR/tokenizer.json` as a ChatTokenizer.
 *
 * @example
 * const tok = loadTokenizer('model');
 * tok.encode('Hello'); // [..]
 */
export function loadTokenizer(dir: string): ChatTokenizer {
  const path = join(dir, 'tokenizer.json');
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new FlockError(`${path}: cannot read the tokenizer: ${(err as Error).message}`, {
      hint: 'a model folder needs tokenizer.json (Hugging Face fast-tokenizer format)', cause: err,
    });
  }
  if (size > MAX_TOKENIZER_BYTES) throw new FlockError(`${path}: ${size} bytes is too large for a tokenizer.json`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new FlockError(`${path}: not valid JSON (${(err as Error).message})`, { hint: 'download the tokenizer again', cause: err });
  }
  return tokenizerFromJson(json, path);
}

/**
 * Build a ChatTokenizer from a parsed `tokenizer.json` object. `source` names it in errors.
 *
 * @example
 * const tok = tokenizerFromJson(JSON.parse(text), 'tokenizer.json');
 */
export function tokenizerFromJson(json: unknown, source = 'tokenizer.json'): ChatTokenizer {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new FlockError(`${source}: not a JSON object`);
  const obj = json as Record<string, unknown>;
  const model = obj['model'] as Record<string, unknown> | undefined;
  if (!model || typeof model !== 'object' || typeof model['vocab'] !== 'object' || model['vocab'] === null) {
    throw new FlockError(`${source}: no "model.vocab"`, { hint: 'expected a Hugging Face fast-tokenizer file (tokenizer.json)' });
  }
  if (model['type'] !== undefined && model['type'] !== 'BPE') {
    throw new FlockError(`${source}: model type "${String(model['type'])}" is not supported (expected "BPE")`, {
      hint: 'Llama 3 and Qwen2 checkpoints use a byte-level BPE tokenizer',
    });
  }
  const added = parseAddedTokens(obj['added_tokens'], source);

  const specialByContent = new Map(added.filter((t) => t.special !== false).map((t) => [t.content, t.id]));
  const llama3 = templateIds(LLAMA3_SPECIAL_TOKENS, specialByContent);
  const chatml = templateIds(CHATML_SPECIAL_TOKENS, specialByContent);
  if (!llama3.ids && !chatml.ids) {
    throw new FlockError(`${source}: the tokenizer lacks the special tokens of every chat template (llama3: ${llama3.missing.join(' ')}; chatml: ${chatml.missing.join(' ')})`, {
      details: [
        `the llama3 template needs ${Object.values(LLAMA3_SPECIAL_TOKENS).join(', ')} among the special added_tokens`,
        `the chatml template needs ${Object.values(CHATML_SPECIAL_TOKENS).join(', ')} among the special added_tokens`,
      ],
      hint: 'use a Llama 3 or Qwen2 tokenizer.json (e.g. from meta-llama/Llama-3.2-1B or Qwen/Qwen2.5-1.5B-Instruct) or one written by `flock model init`',
    });
  }

  // The text encoder knows no special tokens (so their strings stay text) and adds none; added
  // tokens not marked special are ordinary vocabulary and stay.
  let text: Tokenizer;
  try {
    text = new Tokenizer({ ...obj, added_tokens: (obj['added_tokens'] as AddedTokenJson[] | undefined ?? []).filter((t) => t.special === false), post_processor: null }, {});
  } catch (err) {
    throw new FlockError(`${source}: @huggingface/tokenizers cannot load it: ${(err as Error).message}`, { cause: err });
  }
  const vocab = model['vocab'] as Record<string, unknown>;
  let maxId = -1;
  for (const id of Object.values(vocab)) if (typeof id === 'number' && id > maxId) maxId = id;
  for (const t of added) if (t.id > maxId) maxId = t.id;
  // Decoding prints special tokens by name; other added tokens decode as text through the library.
  const addedById = new Map(added.filter((t) => t.special !== false).map((t) => [t.id, t.content]));
  const specialIds = new Set(added.filter((t) => t.special !== false).map((t) => t.id));
  const byteIds = added.some((t) => t.special === false) ? undefined : pureByteLevelIds(obj);
  let byteOf: Int16Array | undefined; // id → byte, -1 for ids that are not bytes
  if (byteIds) {
    byteOf = new Int16Array(maxId + 1).fill(-1);
    byteIds.forEach((id, b) => { byteOf![id] = b; });
  }

  return {
    vocabSize: maxId + 1,
    llama3: llama3.ids,
    chatml: chatml.ids,
    specialIds,
    specialId: (content) => specialByContent.get(content),
    encode(input: string): number[] {
      if (input.length === 0) return [];
      if (byteIds) {
        const bytes = utf8.encode(input);
        const out = new Array<number>(bytes.length);
        for (let i = 0; i < bytes.length; i++) out[i] = byteIds[bytes[i]!]!;
        return out;
      }
      const ids = text.encode(input, { add_special_tokens: false }).ids;
      for (let i = 0; i < ids.length; i++) {
        if (typeof ids[i] !== 'number') throw new FlockError(`${source}: text piece has no token id (the vocabulary does not cover every byte)`);
      }
      return ids;
    },
    decode(ids: ArrayLike<number>): string {
      let out = '';
      let run: number[] = [];
      const flush = () => {
        if (run.length > 0) out += byteOf ? decodeBytes(run, byteOf) : text.decode(run, { clean_up_tokenization_spaces: false });
        run = [];
      };
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        const content = addedById.get(id);
        if (content !== undefined) {
          flush();
          out += content;
        } else {
          run.push(id);
        }
      }
      flush();
      return out;
    },
  };
}

const utf8 = new TextEncoder();

/** A template's ids by key from the special tokens' ids by content, or the contents missing. */
function templateIds<K extends string>(names: Record<K, string>, byContent: ReadonlyMap<string, number>): { ids: Record<K, number> | null; missing: string[] } {
  const missing = Object.values<string>(names).filter((content) => !byContent.has(content));
  if (missing.length > 0) return { ids: null, missing };
  const ids = Object.fromEntries(Object.entries<string>(names).map(([key, content]) => [key, byContent.get(content)!])) as Record<K, number>;
  return { ids, missing };
}

/**
 * For a byte-level BPE without merges (the preset tokenizer), the id of each byte: encoding is then
 * one table look-up per UTF-8 byte — the same ids the library computes (tested), ~100× faster.
 * Undefined for any other tokenizer.
 */
const utf8Decoder = new TextDecoder('utf-8');

/** Text of byte-token ids (invalid UTF-8 becomes U+FFFD, as the library's ByteLevel decoder does). */
function decodeBytes(ids: number[], byteOf: Int16Array): string {
  const bytes = new Uint8Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const b = ids[i]! < byteOf.length ? byteOf[ids[i]!]! : -1;
    if (b < 0) throw new FlockError(`token id ${ids[i]} is not in the vocabulary`);
    bytes[i] = b;
  }
  return utf8Decoder.decode(bytes);
}

function pureByteLevelIds(obj: Record<string, unknown>): Int32Array | undefined {
  const model = obj['model'] as Record<string, unknown>;
  const merges = model['merges'];
  if (obj['normalizer'] !== null && obj['normalizer'] !== undefined) return undefined;
  if (!Array.isArray(merges) || merges.length !== 0) return undefined;
  if (!JSON.stringify(obj['pre_tokenizer'] ?? null).includes('"ByteLevel"')) return undefined;
  const vocab = model['vocab'] as Record<string, unknown>;
  const alphabet = byteLevelAlphabet();
  const ids = new Int32Array(256);
  for (let b = 0; b < 256; b++) {
    const id = vocab[alphabet[b]!];
    if (typeof id !== 'number') return undefined;
    ids[b] = id;
  }
  return ids;
}

function parseAddedTokens(value: unknown, source: string): AddedTokenJson[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new FlockError(`${source}: "added_tokens" is not an array`);
  return value.map((t, i) => {
    if (typeof t !== 'object' || t === null || typeof (t as AddedTokenJson).content !== 'string' || !Number.isInteger((t as AddedTokenJson).id)) {
      throw new FlockError(`${source}: added_tokens[${i}] needs an integer "id" and a string "content"`);
    }
    return t as AddedTokenJson;
  });
}

/**
 * GPT-2's byte → printable-character table used by byte-level BPE (`bytes_to_unicode`): printable
 * Latin-1 bytes map to themselves, the other 68 to U+0100 onward. Index = byte value.
 */
export function byteLevelAlphabet(): string[] {
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let next = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(keep(b) ? b : 256 + next++));
  return out;
}

/** Llama 3's pre-tokenizer split pattern (as in its tokenizer.json). */
export const LLAMA3_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * The names of Llama 3.1/3.2's 256 special tokens, in id order from 128000 (`<|begin_of_text|>`)
 * to 128255 (`<|reserved_special_token_247|>`).
 */
export function llama3SpecialTokenNames(): string[] {
  const named: Record<number, string> = {
    0: '<|begin_of_text|>', 1: '<|end_of_text|>', 4: '<|finetune_right_pad_id|>', 6: '<|start_header_id|>',
    7: '<|end_header_id|>', 8: '<|eom_id|>', 9: '<|eot_id|>', 10: '<|python_tag|>',
  };
  const names: string[] = [];
  let reserved = 0;
  for (let i = 0; i < 256; i++) names.push(named[i] ?? `<|reserved_special_token_${reserved++}|>`);
  return names;
}

/**
 * A `tokenizer.json` object in Llama 3's layout (byte-level BPE, same pre-tokenizer, decoder and
 * post-processor) for `vocab` and `merges`, with the 256 Llama 3 special tokens from `firstSpecialId`.
 *
 * @example
 * const alphabet = byteLevelAlphabet();
 * const json = llama3StyleTokenizerJson(Object.fromEntries(alphabet.map((c, i) => [c, i])), [], 256);
 */
export function llama3StyleTokenizerJson(vocab: Record<string, number>, merges: string[] | [string, string][], firstSpecialId: number): Record<string, unknown> {
  const specials = llama3SpecialTokenNames();
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, i) => ({
      id: firstSpecialId + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: LLAMA3_SPLIT_PATTERN }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'Sequence',
      processors: [
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
        {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: specials[0], type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [
            { SpecialToken: { id: specials[0], type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: specials[0], type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
          ],
          special_tokens: { [specials[0]!]: { id: specials[0], ids: [firstSpecialId], tokens: [specials[0]] } },
        },
      ],
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab, merges,
    },
  };
}

/** Qwen2's pre-tokenizer split pattern (as in its tokenizer.json): Llama 3's, but one digit per piece. */
export const QWEN2_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * Qwen2.5's 22 added tokens in id order from 151643 (`<|endoftext|>`), with their `special`
 * flags: the tool-call and fill-in-the-middle markers are ordinary (non-special) added tokens.
 */
export function qwen2AddedTokens(): { content: string; special: boolean }[] {
  const special = [
    '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|object_ref_start|>', '<|object_ref_end|>', '<|box_start|>', '<|box_end|>',
    '<|quad_start|>', '<|quad_end|>', '<|vision_start|>', '<|vision_end|>', '<|vision_pad|>', '<|image_pad|>', '<|video_pad|>',
  ];
  const ordinary = ['<tool_call>', '</tool_call>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>'];
  return [...special.map((content) => ({ content, special: true })), ...ordinary.map((content) => ({ content, special: false }))];
}

/**
 * A `tokenizer.json` object in Qwen2's layout (NFC normaliser, Qwen2's split pattern, byte-level
 * BPE, no BOS from the post-processor) for `vocab` and `merges`, with Qwen2.5's added tokens from
 * `firstSpecialId`.
 *
 * @example
 * const json = qwen2StyleTokenizerJson(Object.fromEntries(byteLevelAlphabet().map((c, i) => [c, i])), [], 256);
 */
export function qwen2StyleTokenizerJson(vocab: Record<string, number>, merges: string[] | [string, string][], firstSpecialId: number): Record<string, unknown> {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: qwen2AddedTokens().map(({ content, special }, i) => ({
      id: firstSpecialId + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special,
    })),
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_SPLIT_PATTERN }, behavior: 'Isolated', invert: false },
        byteLevel,
      ],
    },
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges,
    },
  };
}
