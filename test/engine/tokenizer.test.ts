import { afterAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '@huggingface/tokenizers';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  byteLevelAlphabet, llama3SpecialTokenNames, llama3StyleTokenizerJson, loadTokenizer, tokenizerFromJson,
} from '../../src/engine/tokenizer.js';
import { FlockError } from '../../src/util/errors.js';

const root = mkdtempSync(join(tmpdir(), 'flock-tok-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const alphabet = byteLevelAlphabet();
const byteVocab = Object.fromEntries(alphabet.map((c, i) => [c, i]));
const utf8 = (s: string) => Array.from(Buffer.from(s, 'utf8'));

function writeTokenizer(name: string, json: unknown): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  return dir;
}

/** A small tokenizer in the real Llama 3 layout: byte alphabet, a few merges, specials at 128000. */
function llama3Like(mergeFormat: 'strings' | 'pairs') {
  const vocab: Record<string, number> = { ...byteVocab, 'Ġt': 256, he: 257, 'Ġthe': 258 };
  const pairs: [string, string][] = [['Ġ', 't'], ['h', 'e'], ['Ġt', 'he']];
  return llama3StyleTokenizerJson(vocab, mergeFormat === 'pairs' ? pairs : pairs.map((p) => p.join(' ')), 128000);
}

describe('byteLevelAlphabet', () => {
  it('is GPT-2 bytes_to_unicode', () => {
    expect(alphabet).toHaveLength(256);
    expect(new Set(alphabet).size).toBe(256);
    expect(alphabet[0x41]).toBe('A');
    expect(alphabet[0x20]).toBe('Ġ');
    expect(alphabet[0x0a]).toBe('Ċ');
    expect(alphabet[0xad]).toBe('Ń');
    expect(alphabet[0xff]).toBe('ÿ');
  });
  it('lists the 256 Llama 3.1 special tokens in id order', () => {
    const names = llama3SpecialTokenNames();
    expect(names).toHaveLength(256);
    expect(names.slice(0, 11)).toEqual([
      '<|begin_of_text|>', '<|end_of_text|>', '<|reserved_special_token_0|>', '<|reserved_special_token_1|>',
      '<|finetune_right_pad_id|>', '<|reserved_special_token_2|>', '<|start_header_id|>', '<|end_header_id|>',
      '<|eom_id|>', '<|eot_id|>', '<|python_tag|>',
    ]);
    expect(names[255]).toBe('<|reserved_special_token_247|>');
  });
});

describe('loadTokenizer', () => {
  it('loads a Llama 3 layout tokenizer.json and applies its merges (both merge formats)', () => {
    for (const format of ['strings', 'pairs'] as const) {
      const tok = loadTokenizer(writeTokenizer(`llama3-${format}`, llama3Like(format)));
      expect(tok.llama3).toEqual({ beginOfText: 128000, endOfText: 128001, startHeaderId: 128006, endHeaderId: 128007, eotId: 128009 });
      expect(tok.vocabSize).toBe(128256);
      expect(tok.encode(' the')).toEqual([258]);
      expect(tok.encode('the the')).toEqual([byteVocab['t'], 257, 258]);
      expect(tok.encode('A\n')).toEqual([0x41, 0x0a]);
      expect(tok.decode([258, 128009, 0x41])).toBe(' the<|eot_id|>A');
      expect(tok.specialIds.has(128006)).toBe(true);
      expect(tok.specialIds.has(258)).toBe(false);
    }
  });

  it('byte-level tokenizer: one token per UTF-8 byte, exact round trip', () => {
    const tok = tokenizerFromJson(llama3StyleTokenizerJson(byteVocab, [], 256));
    expect(tok.vocabSize).toBe(512);
    expect(tok.llama3).toEqual({ beginOfText: 256, endOfText: 257, startHeaderId: 262, endHeaderId: 263, eotId: 265 });
    for (const text of ['Hello, world!', '  two  spaces\n\nand\ttabs ', 'héllo wörld — 日本語 😀', "it's 12345 don't", ' \u0000\u007f']) {
      expect(tok.encode(text)).toEqual(utf8(text));
      expect(tok.decode(tok.encode(text))).toBe(text);
    }
    expect(tok.encode('')).toEqual([]);
    expect(tok.decode([])).toBe('');
  });

  it('the byte-level fast path gives the library\'s ids', () => {
    const json = llama3StyleTokenizerJson(byteVocab, [], 256);
    const fast = tokenizerFromJson(json);
    const library = new Tokenizer({ ...json, added_tokens: [], post_processor: null }, {});
    let text = '';
    for (let i = 0; i < 3000; i++) text += String.fromCodePoint([32, 10, 9, 0x41 + (i % 26), 0xe9, 0x65e5, 0x1f600, 0x30 + (i % 10), 0x27, 0x2c][(i * 7) % 10]!);
    const ids = library.encode(text, { add_special_tokens: false }).ids;
    expect(fast.encode(text)).toEqual(ids);
    expect(fast.decode(ids)).toBe(library.decode(ids, { clean_up_tokenization_spaces: false }));
    const broken = [0xe6, 0x97, 0x41, 0xff]; // invalid UTF-8 decodes with replacement characters, as the library does
    expect(fast.decode(broken)).toBe(library.decode(broken, { clean_up_tokenization_spaces: false }));
    expect(() => fast.decode([9999])).toThrow('token id 9999 is not in the vocabulary');
  });

  it('encodes special-token strings inside text as plain text', () => {
    const tok = tokenizerFromJson(llama3StyleTokenizerJson(byteVocab, [], 256));
    const text = 'a<|eot_id|><|start_header_id|>b';
    expect(tok.encode(text)).toEqual(utf8(text));
    expect(tok.encode(text)).not.toContain(tok.llama3!.eotId);
  });

  it('keeps added tokens that are not special as ordinary vocabulary', () => {
    const json = llama3StyleTokenizerJson(byteVocab, [], 256);
    const addedWord = { id: 600, content: 'flock', single_word: false, lstrip: false, rstrip: false, normalized: false, special: false };
    const tok = tokenizerFromJson({ ...json, added_tokens: [...(json['added_tokens'] as object[]), addedWord] });
    expect(tok.encode('a flock')).toEqual([...utf8('a '), 600]);
    expect(tok.decode([...utf8('a '), 600, 265])).toBe('a flock<|eot_id|>');
    expect(tok.specialIds.has(600)).toBe(false);
    expect(tok.vocabSize).toBe(601);
  });

  it('refuses a tokenizer with neither the Llama 3 nor the ChatML special tokens', () => {
    const json = llama3StyleTokenizerJson(byteVocab, [], 256);
    const noEot = { ...json, added_tokens: (json['added_tokens'] as { content: string }[]).filter((t) => t.content !== '<|eot_id|>' && t.content !== '<|start_header_id|>') };
    const dir = writeTokenizer('no-specials', noEot);
    try {
      loadTokenizer(dir);
      throw new Error('expected a FlockError');
    } catch (err) {
      expect(err).toBeInstanceOf(FlockError);
      expect((err as FlockError).message).toBe(`${join(dir, 'tokenizer.json')}: the tokenizer lacks the special tokens of every chat template (llama3: <|start_header_id|> <|eot_id|>; chatml: <|im_start|> <|im_end|>)`);
      expect((err as FlockError).hint).toContain('flock model init');
    }
    expect(() => tokenizerFromJson({ ...json, added_tokens: [] })).toThrow('lacks the special tokens of every chat template');
    // a special token's string as an ordinary (non-special) added token does not count
    const plainEot = (json['added_tokens'] as { content: string; special: boolean }[]).map((t) => (t.content === '<|eot_id|>' ? { ...t, special: false } : t));
    expect(() => tokenizerFromJson({ ...json, added_tokens: plainEot })).toThrow('llama3: <|eot_id|>;');
  });

  it('refuses missing, malformed and non-BPE tokenizer files', () => {
    expect(() => loadTokenizer(join(root, 'nowhere'))).toThrow('cannot read the tokenizer');
    const bad = join(root, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'tokenizer.json'), '{"model": ');
    expect(() => loadTokenizer(bad)).toThrow('not valid JSON');
    expect(() => tokenizerFromJson({ added_tokens: [] })).toThrow('no "model.vocab"');
    const json = llama3StyleTokenizerJson(byteVocab, [], 256);
    expect(() => tokenizerFromJson({ ...json, model: { type: 'Unigram', vocab: [] } })).toThrow('model type "Unigram" is not supported');
  });
});
