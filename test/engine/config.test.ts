import { describe, expect, it } from 'vitest';
import { hasQkvBias, parseLlamaConfig, toHfConfigJson, type LlamaConfig } from '../../src/engine/config.js';
import { errorOf } from '../helpers/errors.js';

/** meta-llama/Llama-3.2-1B config.json, verbatim. */
const LLAMA_3_2_1B_CONFIG = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: 128001,
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-05,
  rope_scaling: {
    factor: 32.0,
    high_freq_factor: 4.0,
    low_freq_factor: 1.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.45.0.dev0',
  use_cache: true,
  vocab_size: 128256,
};

/** Qwen/Qwen2.5-1.5B-Instruct config.json, verbatim (transformers 4.43 layout). */
const QWEN2_5_1_5B_INSTRUCT_CONFIG = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: 'silu',
  hidden_size: 1536,
  initializer_range: 0.02,
  intermediate_size: 8960,
  max_position_embeddings: 32768,
  max_window_layers: 21,
  model_type: 'qwen2',
  num_attention_heads: 12,
  num_hidden_layers: 28,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-06,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.43.1',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

describe('parseLlamaConfig', () => {
  it('accepts the real Llama-3.2-1B config.json', () => {
    const cfg = parseLlamaConfig(LLAMA_3_2_1B_CONFIG);
    expect(cfg).toEqual<LlamaConfig>({
      modelType: 'llama',
      hiddenSize: 2048,
      intermediateSize: 8192,
      numLayers: 16,
      numHeads: 32,
      numKvHeads: 8,
      headDim: 64,
      vocabSize: 128256,
      maxPositionEmbeddings: 131072,
      rmsNormEps: 1e-5,
      ropeTheta: 500000,
      ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
      tieWordEmbeddings: true,
      bosTokenId: 128000,
      eosTokenId: 128001,
    });
  });

  it('accepts the older rope_scaling "type" key and a list of eos ids', () => {
    const { rope_type: _, ...scaling } = LLAMA_3_2_1B_CONFIG.rope_scaling;
    const cfg = parseLlamaConfig({ ...LLAMA_3_2_1B_CONFIG, rope_scaling: { ...scaling, type: 'llama3' }, eos_token_id: [128001, 128008, 128009] });
    expect(cfg.ropeScaling?.factor).toBe(32);
    expect(cfg.eosTokenId).toEqual([128001, 128008, 128009]);
  });

  it('accepts transformers 5 rope_parameters', () => {
    const { rope_scaling: scaling, rope_theta: _t, ...rest } = LLAMA_3_2_1B_CONFIG;
    const cfg = parseLlamaConfig({ ...rest, rope_parameters: { ...scaling, rope_theta: 500000 } });
    expect(cfg).toEqual(parseLlamaConfig(LLAMA_3_2_1B_CONFIG));
    const plain = parseLlamaConfig({ ...rest, rope_parameters: { rope_type: 'default', rope_theta: 10000 } });
    expect(plain.ropeScaling).toBeNull();
    expect(plain.ropeTheta).toBe(10000);
    expect(errorOf(() => parseLlamaConfig({ ...rest, rope_parameters: { rope_type: 'yarn', factor: 2, rope_theta: 1 } })).message)
      .toContain('rope_scaling type "yarn" is not supported');
    expect(errorOf(() => parseLlamaConfig({ ...LLAMA_3_2_1B_CONFIG, partial_rotary_factor: 0.5 })).message).toContain('partial_rotary_factor');
  });

  it('defaults head_dim to hidden/heads and KV heads to heads', () => {
    const { head_dim: _h, num_key_value_heads: _k, rope_scaling: _r, ...rest } = LLAMA_3_2_1B_CONFIG;
    const cfg = parseLlamaConfig(rest);
    expect(cfg.headDim).toBe(64);
    expect(cfg.numKvHeads).toBe(32);
    expect(cfg.ropeScaling).toBeNull();
  });

  it('round-trips through toHfConfigJson', () => {
    const cfg = parseLlamaConfig(LLAMA_3_2_1B_CONFIG);
    const json = toHfConfigJson(cfg);
    expect(parseLlamaConfig(JSON.parse(JSON.stringify(json)))).toEqual(cfg);
    expect(json['architectures']).toEqual(['LlamaForCausalLM']);
    expect(json['rope_scaling']).toEqual(LLAMA_3_2_1B_CONFIG.rope_scaling);
  });

  it('refuses another architecture with a clear message', () => {
    const err = errorOf(() => parseLlamaConfig({ ...LLAMA_3_2_1B_CONFIG, model_type: 'mistral' }, 'm/config.json'));
    expect(err.message).toBe('m/config.json: model_type "mistral" is not supported (expected "llama" or "qwen2")');
    const err2 = errorOf(() => parseLlamaConfig({ ...LLAMA_3_2_1B_CONFIG, model_type: undefined, architectures: ['GPT2LMHeadModel'] }));
    expect(err2.message).toBe('config.json: architecture "GPT2LMHeadModel" is not supported (expected "LlamaForCausalLM" or "Qwen2ForCausalLM")');
    expect(err2.hint).toContain('Llama');
    expect(err2.hint).toContain('Qwen2');
    expect(errorOf(() => parseLlamaConfig({ ...LLAMA_3_2_1B_CONFIG, architectures: ['Qwen2ForCausalLM'] })).message)
      .toContain('model_type "llama" does not match architecture "Qwen2ForCausalLM"');
    expect(errorOf(() => parseLlamaConfig({ hidden_size: 8 })).message).toContain('names neither model_type nor architectures');
  });

  it('refuses features the engine would compute differently', () => {
    expect(errorOf(() => parseLlamaConfig({ ...LLAMA_3_2_1B_CONFIG, attention_bias: true })).message).toContain('attention_bias');
    expect(errorOf(() => parseLlamaConfig({ ...LLAMA_3_2_1B_CONFIG, hidden_act: 'gelu' })).message).toContain('hidden_act "gelu"');
    expect(errorOf(() => parseLlamaConfig({ ...LLAMA_3_2_1B_CONFIG, rope_scaling: { type: 'linear', factor: 2 } })).message)
      .toContain('rope_scaling type "linear"');
    expect(errorOf(() => parseLlamaConfig({ ...LLAMA_3_2_1B_CONFIG, num_key_value_heads: 5 })).message).toContain('not a multiple');
  });

  it('lists invalid fields', () => {
    const err = errorOf(() => parseLlamaConfig({ model_type: 'llama', hidden_size: -1 }));
    expect(err.message).toContain('invalid Llama config');
    expect(err.details.join('\n')).toContain('hidden_size');
    expect(err.details.join('\n')).toContain('num_hidden_layers');
    expect(errorOf(() => parseLlamaConfig([])).message).toContain('not a JSON object');
  });
});

describe('parseLlamaConfig: Qwen2', () => {
  it('accepts the real Qwen2.5-1.5B-Instruct config.json', () => {
    const cfg = parseLlamaConfig(QWEN2_5_1_5B_INSTRUCT_CONFIG);
    expect(cfg).toEqual<LlamaConfig>({
      modelType: 'qwen2',
      hiddenSize: 1536,
      intermediateSize: 8960,
      numLayers: 28,
      numHeads: 12,
      numKvHeads: 2,
      headDim: 128,
      vocabSize: 151936,
      maxPositionEmbeddings: 32768,
      rmsNormEps: 1e-6,
      ropeTheta: 1000000,
      ropeScaling: null,
      tieWordEmbeddings: true,
      bosTokenId: 151643,
      eosTokenId: 151645,
    });
    expect(hasQkvBias(cfg)).toBe(true);
    expect(hasQkvBias(parseLlamaConfig(LLAMA_3_2_1B_CONFIG))).toBe(false);
  });

  it('accepts the same model as transformers 5 writes it (rope_parameters, layer_types, sliding_window null)', () => {
    const { rope_theta: _t, ...rest } = QWEN2_5_1_5B_INSTRUCT_CONFIG;
    const v5 = {
      ...rest, layer_types: Array.from({ length: 28 }, () => 'full_attention'), pad_token_id: null,
      rope_parameters: { rope_theta: 1000000.0, rope_type: 'default' }, sliding_window: null, transformers_version: '5.7.0',
    };
    expect(parseLlamaConfig(v5)).toEqual(parseLlamaConfig(QWEN2_5_1_5B_INSTRUCT_CONFIG));
  });

  it('takes the architecture from either field, and Qwen2Config\'s defaults where a field is left out', () => {
    const { model_type: _m, max_position_embeddings: _p, rms_norm_eps: _e, bos_token_id: _b, eos_token_id: _o, rope_theta: _r, tie_word_embeddings: _w, ...rest } = QWEN2_5_1_5B_INSTRUCT_CONFIG;
    const cfg = parseLlamaConfig(rest);
    expect(cfg).toMatchObject({ modelType: 'qwen2', maxPositionEmbeddings: 32768, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: false, bosTokenId: 151643, eosTokenId: 151643 });
    const { architectures: _a, ...byType } = QWEN2_5_1_5B_INSTRUCT_CONFIG;
    expect(parseLlamaConfig(byType).modelType).toBe('qwen2');
    // Llama's defaults are unchanged
    const { max_position_embeddings: _lp, bos_token_id: _lb, eos_token_id: _le, ...llama } = LLAMA_3_2_1B_CONFIG;
    expect(parseLlamaConfig(llama)).toMatchObject({ modelType: 'llama', maxPositionEmbeddings: 2048, bosTokenId: 1, eosTokenId: 2 });
  });

  it('ignores attention_bias and mlp_bias as transformers\' Qwen2 does; refuses sliding-window attention', () => {
    expect(parseLlamaConfig({ ...QWEN2_5_1_5B_INSTRUCT_CONFIG, attention_bias: false, mlp_bias: true })).toEqual(parseLlamaConfig(QWEN2_5_1_5B_INSTRUCT_CONFIG));
    expect(errorOf(() => parseLlamaConfig({ ...QWEN2_5_1_5B_INSTRUCT_CONFIG, use_sliding_window: true }, 'q/config.json')).message)
      .toBe('q/config.json: use_sliding_window true is not supported');
    const layerTypes = Array.from({ length: 28 }, (_, i) => (i < 21 ? 'full_attention' : 'sliding_attention'));
    expect(errorOf(() => parseLlamaConfig({ ...QWEN2_5_1_5B_INSTRUCT_CONFIG, layer_types: layerTypes })).message)
      .toContain('layer_types "sliding_attention" is not supported');
    expect(errorOf(() => parseLlamaConfig({ ...QWEN2_5_1_5B_INSTRUCT_CONFIG, rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 32768 } })).message)
      .toContain('rope_scaling type "yarn" is not supported');
    expect(errorOf(() => parseLlamaConfig({ ...QWEN2_5_1_5B_INSTRUCT_CONFIG, hidden_size: 'big' })).message).toContain('invalid Qwen2 config');
  });

  it('round-trips through toHfConfigJson in Qwen2\'s layout', () => {
    const cfg = parseLlamaConfig(QWEN2_5_1_5B_INSTRUCT_CONFIG);
    const json = toHfConfigJson(cfg);
    expect(parseLlamaConfig(JSON.parse(JSON.stringify(json)))).toEqual(cfg);
    expect(json).toMatchObject({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', use_sliding_window: false, rope_scaling: null });
    expect(json).not.toHaveProperty('head_dim'); // hidden / heads: left to transformers
    expect(json).not.toHaveProperty('attention_bias');
    const odd = { ...cfg, headDim: 64 };
    expect(toHfConfigJson(odd)['head_dim']).toBe(64);
    expect(parseLlamaConfig(toHfConfigJson(odd))).toEqual(odd);
  });
});
