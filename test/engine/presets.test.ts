import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { parseLlamaConfig } from '../../src/engine/config.js';
import { expectedTensorShapes } from '../../src/engine/checkpoint.js';
import {
  byteLevelTokenizerJson, CHATML_CHAT_TEMPLATE, initPresetWeights, LLAMA_3_2_1B_CONFIG_JSON, PRESET_VOCAB_SIZE, PRESETS, QWEN2_5_1_5B_INSTRUCT_CONFIG_JSON,
  qwen2ByteLevelTokenizerJson, WEIGHT_PRESETS, writePresetCheckpoint,
} from '../../src/engine/presets.js';
import { encodeChat, QWEN_DEFAULT_SYSTEM_PROMPT } from '../../src/engine/template.js';
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
    expect(tok.llama3).toEqual({ beginOfText: 256, endOfText: 257, startHeaderId: 262, endHeaderId: 263, eotId: 265 });
    expect(tok.decode([511])).toBe('<|reserved_special_token_247|>');
    expect(tok.encode('ok ✓')).toEqual([...Buffer.from('ok ✓')]);
  });

  it('the llama-3.2-1b tokenizer puts the special tokens at Llama 3\'s ids', () => {
    const tok = tokenizerFromJson(byteLevelTokenizerJson(128000));
    expect(tok.llama3).toEqual({ beginOfText: 128000, endOfText: 128001, startHeaderId: 128006, endHeaderId: 128007, eotId: 128009 });
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

  it('qwen2 presets: the tiny Qwen2 layout for tests and the real Qwen2.5-1.5B-Instruct shape', () => {
    expect(WEIGHT_PRESETS).toContain('qwen2-tiny');
    expect(WEIGHT_PRESETS).toContain('qwen2.5-1.5b-instruct');
    expect(PRESETS['qwen2-tiny']).toMatchObject({ modelType: 'qwen2', hiddenSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16, vocabSize: 384, ropeTheta: 1000000, ropeScaling: null, rmsNormEps: 1e-6, tieWordEmbeddings: false });
    expect(PRESETS['qwen2.5-1.5b-instruct']).toEqual(parseLlamaConfig(QWEN2_5_1_5B_INSTRUCT_CONFIG_JSON));
    expect(PRESETS['qwen2.5-1.5b-instruct']).toMatchObject({
      modelType: 'qwen2', hiddenSize: 1536, intermediateSize: 8960, numLayers: 28, numHeads: 12, numKvHeads: 2, headDim: 128,
      vocabSize: 151936, ropeTheta: 1000000, rmsNormEps: 1e-6, tieWordEmbeddings: true, maxPositionEmbeddings: 32768,
    });
    const params = [...expectedTensorShapes(PRESETS['qwen2.5-1.5b-instruct']).values()].reduce((n, shape) => n + shape.reduce((p, d) => p * d, 1), 0);
    expect(params).toBe(1_543_714_304);
  });

  it('the Qwen2 byte-level tokenizer: bytes, then Qwen2.5\'s added tokens (ChatML, no BOS), NFC', () => {
    const tok = tokenizerFromJson(qwen2ByteLevelTokenizerJson());
    expect(tok.vocabSize).toBe(278);
    expect(tok.chatml).toEqual({ imStart: 257, imEnd: 258 });
    expect(tok.llama3).toBeNull();
    expect(tok.specialId('<|endoftext|>')).toBe(256);
    expect(tok.specialIds.has(269)).toBe(true); // <|video_pad|>
    expect(tok.specialIds.has(270)).toBe(false); // <tool_call>: an ordinary added token
    expect(tok.encode('ok ✓')).toEqual([...Buffer.from('ok ✓')]);
    expect(tok.encode('e\u0301')).toEqual([...Buffer.from('é')]); // NFC first, as Qwen2's normaliser
    expect(tok.encode('<|im_end|>')).toEqual([...Buffer.from('<|im_end|>')]);
    const real = tokenizerFromJson(qwen2ByteLevelTokenizerJson(151643));
    expect(real.chatml).toEqual({ imStart: 151644, imEnd: 151645 });
    expect(real.vocabSize).toBe(151665);
    expect(() => writePresetCheckpoint(join(root, 'never'), 'nope' as 'tiny')).toThrow('unknown preset');
  });

  it('writes a Qwen2 folder: Qwen2 config, q/k/v biases, untied head, ChatML tokenizer_config that renders as encodeChat', () => {
    const dir = join(root, 'qwen2-tiny');
    const w = writePresetCheckpoint(dir, 'qwen2-tiny', { seed: 2 });
    const H = 64, F = 128, V = 384, kv = 32;
    expect(w.parameters).toBe(2 * V * H + H + 2 * (2 * H + H * H + H + 2 * (kv * H + kv) + H * H + 3 * F * H));
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', torch_dtype: 'bfloat16', use_sliding_window: false, tie_word_embeddings: false, vocab_size: 384 });
    expect(parseLlamaConfig(config)).toEqual(PRESETS['qwen2-tiny']);
    const header = readSafetensorsHeader(join(dir, 'model.safetensors'));
    expect(header.tensors.get('model.layers.0.self_attn.q_proj.bias')).toMatchObject({ dtype: 'BF16', shape: [64] });
    expect(header.tensors.get('model.layers.1.self_attn.v_proj.bias')).toMatchObject({ dtype: 'BF16', shape: [32] });
    expect(header.tensors.has('model.layers.0.self_attn.o_proj.bias')).toBe(false);
    expect(header.tensors.get('lm_head.weight')).toMatchObject({ shape: [384, 64] });
    const bias = initPresetWeights(PRESETS['qwen2-tiny'], 2).get('model.layers.0.self_attn.k_proj.bias')!.data;
    const std = Math.sqrt(bias.reduce((a, x) => a + x * x, 0) / bias.length);
    expect(std).toBeGreaterThan(0.3); // N(0, 0.5²): far from 0, so a dropped bias shows in every loss
    expect(std).toBeLessThan(0.7);
    const tc = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    expect(tc).toMatchObject({ bos_token: null, eos_token: '<|im_end|>', pad_token: '<|endoftext|>', tokenizer_class: 'Qwen2Tokenizer', chat_template: CHATML_CHAT_TEMPLATE });
    expect(tc.added_tokens_decoder['258'].content).toBe('<|im_end|>');
    expect(tc.added_tokens_decoder['270']).toMatchObject({ content: '<tool_call>', special: false });
    expect(CHATML_CHAT_TEMPLATE).toContain(`'<|im_start|>system\\n${QWEN_DEFAULT_SYSTEM_PROMPT}<|im_end|>\\n'`);
    expect(JSON.parse(readFileSync(join(dir, 'generation_config.json'), 'utf8'))).toMatchObject({ bos_token_id: 256, eos_token_id: 258 });
    // the tokenizer it wrote renders a row with the chatml template
    const tok = tokenizerFromJson(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')));
    const enc = encodeChat({ conversations: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }] }, tok, 512, 'chatml');
    expect(tok.decode(enc.ids)).toBe(`<|im_start|>system\n${QWEN_DEFAULT_SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|>\n`);
  });

  it('golden: the qwen2-tiny preset for seed 0 is byte-identical on every machine', () => {
    // recorded from the first run of this preset; guards determinism and accidental layout changes
    const dir = join(root, 'golden-qwen2');
    writePresetCheckpoint(dir, 'qwen2-tiny', { seed: 0 });
    const sha = (f: string) => createHash('sha256').update(readFileSync(join(dir, f))).digest('hex');
    expect({ weights: sha('model.safetensors'), tokenizer: sha('tokenizer.json'), config: sha('config.json') }).toEqual({
      weights: 'e2f353ecc78c2cc4fc0ca78b460d0fc4fc838037a3eeddb89e224786e9e03431',
      tokenizer: '905745192870d518100ed195d2c699ec5fa0ce343abc6f8deabc6ccc9ad9f5c5',
      config: 'a9cf04732dc9fbbdbe4fc0a25f35b976a0fbc7b7d596af11dda01e3c62885ea7',
    });
  });
});
