import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { parseLlamaConfig } from '../../src/engine/config.js';
import { expectedTensorShapes } from '../../src/engine/checkpoint.js';
import {
  byteLevelTokenizerJson, initPresetWeights, LLAMA_3_2_1B_CONFIG_JSON, PRESET_VOCAB_SIZE, PRESETS, writePresetCheckpoint,
} from '../../src/engine/presets.js';
import { readSafetensorsHeader } from '../../src/engine/safetensors.js';
import { tokenizerFromJson } from '../../src/engine/tokenizer.js';

const root = mkdtempSync(join(tmpdir(), 'flock-presets-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sameBits = (a: Float32Array, b: Float32Array) =>
  Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

describe('presets', () => {
  it('have the shapes the issue specifies', () => {
    expect(PRESETS.small).toMatchObject({ hiddenSize: 256, numLayers: 4, numHeads: 8, numKvHeads: 4, intermediateSize: 688, vocabSize: 512, tieWordEmbeddings: true, headDim: 32 });
    expect(PRESETS.tiny).toMatchObject({ hiddenSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 128, vocabSize: 512, tieWordEmbeddings: true });
    expect(PRESETS['llama-3.2-1b']).toEqual(parseLlamaConfig(LLAMA_3_2_1B_CONFIG_JSON));
    expect(PRESETS['llama-3.2-1b']).toMatchObject({ hiddenSize: 2048, intermediateSize: 8192, numLayers: 16, numHeads: 32, numKvHeads: 8, headDim: 64, vocabSize: 128256, ropeTheta: 500000 });
  });

  it('the byte-level tokenizer has 512 ids: bytes then the Llama 3 specials', () => {
    const tok = tokenizerFromJson(byteLevelTokenizerJson());
    expect(tok.vocabSize).toBe(PRESET_VOCAB_SIZE);
    expect(tok.special).toEqual({ beginOfText: 256, endOfText: 257, startHeaderId: 262, endHeaderId: 263, eotId: 265 });
    expect(tok.decode([511])).toBe('<|reserved_special_token_247|>');
    expect(tok.encode('ok ✓')).toEqual([...Buffer.from('ok ✓')]);
  });

  it('the llama-3.2-1b tokenizer puts the special tokens at Llama 3\'s ids', () => {
    const tok = tokenizerFromJson(byteLevelTokenizerJson(128000));
    expect(tok.special).toEqual({ beginOfText: 128000, endOfText: 128001, startHeaderId: 128006, endHeaderId: 128007, eotId: 128009 });
    expect(tok.vocabSize).toBe(128256);
    expect(tok.encode('hi')).toEqual([104, 105]);
  });

  it('initialisation is deterministic for a seed and differs between seeds', () => {
    const a = initPresetWeights(PRESETS.tiny, 1);
    const b = initPresetWeights(PRESETS.tiny, 1);
    const c = initPresetWeights(PRESETS.tiny, 2);
    expect([...a.keys()]).toEqual([...expectedTensorShapes(PRESETS.tiny).keys()]);
    for (const [name, t] of a) {
      expect(sameBits(t.data, b.get(name)!.data)).toBe(true);
      expect(sameBits(t.data, c.get(name)!.data)).toBe(false);
    }
    // Scales: embeddings ~ N(0, 1/H), norms ~ 1 + N(0, 0.01), q_proj ~ N(0, 1/H).
    const stats = (x: Float32Array) => {
      const mean = x.reduce((s, v) => s + v, 0) / x.length;
      return { mean, std: Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length) };
    };
    const emb = stats(a.get('model.embed_tokens.weight')!.data);
    expect(Math.abs(emb.mean)).toBeLessThan(0.01);
    expect(emb.std).toBeCloseTo(1 / 8, 2);
    expect(stats(a.get('model.norm.weight')!.data).mean).toBeCloseTo(1, 1);
    expect(stats(a.get('model.layers.0.self_attn.q_proj.weight')!.data).std).toBeCloseTo(1 / 8, 2);
    for (const t of a.values()) expect(t.data.every(Number.isFinite)).toBe(true);
  });

  it('writes a Hugging Face layout folder (BF16 by default)', () => {
    const dir = join(root, 'small');
    const w = writePresetCheckpoint(dir, 'small', { seed: 5 });
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(w.parameters).toBe(512 * 256 + 4 * (256 * 2 + 256 * 256 * 2 + 128 * 256 * 2 + 688 * 256 * 3) + 256);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ architectures: ['LlamaForCausalLM'], model_type: 'llama', torch_dtype: 'bfloat16', hidden_size: 256, vocab_size: 512 });
    expect(parseLlamaConfig(config)).toEqual(PRESETS.small);
    const header = readSafetensorsHeader(join(dir, 'model.safetensors'));
    expect(header.tensors.get('model.embed_tokens.weight')).toMatchObject({ dtype: 'BF16', shape: [512, 256] });
    expect(header.tensors.has('lm_head.weight')).toBe(false);
    expect(header.metadata).toEqual({ format: 'pt', 'flock.preset': 'small', 'flock.seed': '5' });
    const tc = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    expect(tc.bos_token).toBe('<|begin_of_text|>');
    expect(tc.added_tokens_decoder['265'].content).toBe('<|eot_id|>');
    expect(JSON.parse(readFileSync(join(dir, 'generation_config.json'), 'utf8'))).toMatchObject({ bos_token_id: 256, eos_token_id: 257 });

    const again = join(root, 'small-again');
    writePresetCheckpoint(again, 'small', { seed: 5 });
    expect(readFileSync(join(again, 'model.safetensors')).equals(readFileSync(join(dir, 'model.safetensors')))).toBe(true);
  });

  it('golden: the tiny preset for seed 0 is byte-identical on every machine', () => {
    // Guards determinism across machines and accidental changes to initialisation or file layout
    // (receipts and the local subnet refer to these weights by hash).
    const dir = join(root, 'golden');
    writePresetCheckpoint(dir, 'tiny', { seed: 0 });
    const sha = (f: string) => createHash('sha256').update(readFileSync(join(dir, f))).digest('hex');
    expect(sha('model.safetensors')).toBe('c9243398c41aab57616c232d4d416921ffeeac29f8b09df5f5955fb992e9faf9');
    expect(sha('tokenizer.json')).toBe('f73515757989603947edddeaa2a005d384607ddffe8d074fbade70aa4eb547c1');
    expect(sha('config.json')).toBe('31c1a6baec0e05b5435f09520177340a183fa64141d6327b50d72af4ba341653');
  });

  it('refuses a non-empty folder without force, and unknown presets', () => {
    const dir = join(root, 'occupied');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'hi');
    expect(() => writePresetCheckpoint(dir, 'tiny')).toThrow(`${dir} is not empty`);
    writePresetCheckpoint(dir, 'tiny', { force: true, dtype: 'F32' });
    expect(readSafetensorsHeader(join(dir, 'model.safetensors')).tensors.get('model.norm.weight')!.dtype).toBe('F32');
    expect(() => writePresetCheckpoint(join(root, 'big'), 'huge' as 'tiny')).toThrow('unknown preset "huge"');
  });
});
