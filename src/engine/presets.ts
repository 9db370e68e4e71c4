/**
 * Model presets and `flock model init`: small Llama- and Qwen2-architecture checkpoints in Hugging
 * Face layout (config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
 * generation_config.json) for tests, benchmarks and the local subnet, plus the real Llama-3.2-1B
 * and Qwen2.5-1.5B-Instruct shapes (their configs, and random weights of those shapes for
 * full-scale benchmarks).
 *
 * The preset tokenizers are byte-level: ids 0–255 are the 256 bytes (GPT-2's byte alphabet, no
 * merges). For Llama, ids 256–511 are Llama 3.1's 256 special tokens in Llama's order, so the
 * vocabulary is exactly 512 and every text encodes to one token per UTF-8 byte (for the
 * llama-3.2-1b shape the special tokens sit at Llama 3's own ids, 128000–128255). For Qwen2, ids
 * 256–277 are Qwen2.5's 22 added tokens in Qwen's order (`<|endoftext|>`, `<|im_start|>`,
 * `<|im_end|>`, …) in Qwen2's tokenizer layout (NFC, its split pattern), and the embedding table
 * is padded to 384 rows as Qwen pads 151 665 tokens to 151 936 (for the qwen2.5-1.5b-instruct
 * shape the added tokens sit at Qwen's own ids, 151643–151664).
 *
 * Weights are stored as BF16 by default: the real base model is stored BF16, so every test and the
 * local subnet exercise the same conversion path as production; BF16 values are exact in f32, so
 * an f32 reference (e.g. PyTorch loading the same file) sees identical weights; and the files are
 * half the size. Initialisation is deterministic for a seed (src/engine/prng.ts).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlockError } from '../util/errors.js';
import { expectedTensorShapes, INDEX_FILE, SINGLE_WEIGHTS_FILE } from './checkpoint.js';
import { parseLlamaConfig, toHfConfigJson, type LlamaConfig } from './config.js';
import { QWEN_DEFAULT_SYSTEM_PROMPT } from './template.js';
import { deriveKey, uniform } from './prng.js';
import { writeSafetensors, type FloatDtype, type TensorToWrite } from './safetensors.js';
import { byteLevelAlphabet, llama3SpecialTokenNames, llama3StyleTokenizerJson, qwen2AddedTokens, qwen2StyleTokenizerJson } from './tokenizer.js';

/** meta-llama/Llama-3.2-1B's config.json values (shape only: we never ship its weights). */
export const LLAMA_3_2_1B_CONFIG_JSON = {
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
  rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.45.0.dev0',
  use_cache: true,
  vocab_size: 128256,
} as const;

/** Qwen/Qwen2.5-1.5B-Instruct's config.json values (shape only: we never ship its weights). */
export const QWEN2_5_1_5B_INSTRUCT_CONFIG_JSON = {
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
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.43.1',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
} as const;

/** Byte-level preset vocabulary: 256 bytes + 256 Llama 3 special tokens. */
export const PRESET_VOCAB_SIZE = 512;
const FIRST_SPECIAL_ID = 256;
/** The Qwen2 presets' embedding rows: 256 bytes + Qwen2.5's 22 added tokens, padded to 384. */
export const QWEN2_PRESET_VOCAB_SIZE = 384;

/** Llama 3's rope settings, shared by the presets so RoPE scaling is exercised by every test. */
const LLAMA3_ROPE = {
  ropeTheta: 500000,
  ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
} as const;

const presetBase = {
  modelType: 'llama' as const,
  vocabSize: PRESET_VOCAB_SIZE,
  maxPositionEmbeddings: 2048,
  rmsNormEps: 1e-5,
  ...LLAMA3_ROPE,
  tieWordEmbeddings: true,
  bosTokenId: FIRST_SPECIAL_ID, // <|begin_of_text|>
  eosTokenId: FIRST_SPECIAL_ID + 1, // <|end_of_text|>
};

/** Shapes of the presets `flock model init` writes. */
export const PRESETS = {
  /** For tests: fast enough to train in well under a second. */
  tiny: { ...presetBase, hiddenSize: 64, intermediateSize: 128, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16 },
  /** For benchmarks and the local subnet (3 033 344 parameters). */
  small: { ...presetBase, hiddenSize: 256, intermediateSize: 688, numLayers: 4, numHeads: 8, numKvHeads: 4, headDim: 32 },
  /** The real meta-llama/Llama-3.2-1B shape (random weights when written). */
  'llama-3.2-1b': parseLlamaConfig(LLAMA_3_2_1B_CONFIG_JSON, 'llama-3.2-1b preset'),
  /**
   * For tests: the tiny shape in Qwen2's layout (q/k/v biases, Qwen's RoPE theta and norm eps),
   * with an untied lm head (as Qwen2.5-7B; the 1.5B ties it).
   */
  'qwen2-tiny': {
    modelType: 'qwen2' as const, vocabSize: QWEN2_PRESET_VOCAB_SIZE, maxPositionEmbeddings: 2048, rmsNormEps: 1e-6, ropeTheta: 1000000,
    ropeScaling: null, tieWordEmbeddings: false, bosTokenId: FIRST_SPECIAL_ID, eosTokenId: FIRST_SPECIAL_ID + 2, // <|endoftext|>, <|im_end|>
    hiddenSize: 64, intermediateSize: 128, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16,
  },
  /** The real Qwen/Qwen2.5-1.5B-Instruct shape (random weights when written). */
  'qwen2.5-1.5b-instruct': parseLlamaConfig(QWEN2_5_1_5B_INSTRUCT_CONFIG_JSON, 'qwen2.5-1.5b-instruct preset'),
} satisfies Record<string, LlamaConfig>;

export type PresetName = keyof typeof PRESETS;
/**
 * Presets `flock model init` writes. `llama-3.2-1b` and `qwen2.5-1.5b-instruct` write random
 * weights of the real shapes (2.5 GB and 3.1 GB in BF16, made one tensor at a time) for
 * benchmarks at full scale without downloading them.
 */
export const WEIGHT_PRESETS = ['tiny', 'small', 'llama-3.2-1b', 'qwen2-tiny', 'qwen2.5-1.5b-instruct'] as const;

/**
 * The preset byte-level tokenizer.json (Llama 3 layout): bytes are ids 0–255, the 256 special
 * tokens start at `firstSpecialId` (256 for the 512-id presets; 128000, as in Llama 3, for the
 * llama-3.2-1b shape).
 */
export function byteLevelTokenizerJson(firstSpecialId = FIRST_SPECIAL_ID): Record<string, unknown> {
  const vocab = Object.fromEntries(byteLevelAlphabet().map((c, i) => [c, i]));
  return llama3StyleTokenizerJson(vocab, [], firstSpecialId);
}

/**
 * The preset byte-level tokenizer.json in Qwen2's layout: bytes are ids 0–255, Qwen2.5's 22 added
 * tokens start at `firstSpecialId` (256 for qwen2-tiny; 151643, as in Qwen2, for the real shape).
 */
export function qwen2ByteLevelTokenizerJson(firstSpecialId = FIRST_SPECIAL_ID): Record<string, unknown> {
  const vocab = Object.fromEntries(byteLevelAlphabet().map((c, i) => [c, i]));
  return qwen2StyleTokenizerJson(vocab, [], firstSpecialId);
}

/** The special (and added) tokens a preset's tokenizer has, in id order. */
function presetSpecialTokens(cfg: LlamaConfig): { content: string; special: boolean }[] {
  return cfg.modelType === 'qwen2' ? qwen2AddedTokens() : llama3SpecialTokenNames().map((content) => ({ content, special: true }));
}

/**
 * Where a preset's special tokens start: at its BOS id (`<|begin_of_text|>`, or Qwen's
 * `<|endoftext|>`), leaving room for all of them.
 */
function specialIdBase(cfg: LlamaConfig): number {
  const base = cfg.bosTokenId;
  const count = presetSpecialTokens(cfg).length;
  if (base < 256 || base + count > cfg.vocabSize) throw new FlockError(`preset vocabulary ${cfg.vocabSize} has no room for 256 bytes and ${count} special tokens from id ${base}`);
  return base;
}

/** Recipe v1's chat template in Jinja, so transformers' apply_chat_template renders the same text. */
export const RECIPE_V1_CHAT_TEMPLATE =
  "{{- bos_token }}{%- for message in messages %}{%- if message['role'] != 'system' or (message['content'] | trim) != '' %}"
  + "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + (message['content'] | trim) + '<|eot_id|>' }}"
  + "{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";

/**
 * The chatml template in Jinja (template.ts): Qwen2.5-Instruct's, without tools, with contents
 * trimmed and its default system prompt for a row without one.
 */
export const CHATML_CHAT_TEMPLATE =
  "{%- if messages[0]['role'] == 'system' and (messages[0]['content'] | trim) != '' %}"
  + "{{- '<|im_start|>system\\n' + (messages[0]['content'] | trim) + '<|im_end|>\\n' }}"
  + `{%- else %}{{- '<|im_start|>system\\n${QWEN_DEFAULT_SYSTEM_PROMPT}<|im_end|>\\n' }}{%- endif %}`
  + "{%- for message in messages %}{%- if message['role'] != 'system' %}"
  + "{{- '<|im_start|>' + message['role'] + '\\n' + (message['content'] | trim) + '<|im_end|>\\n' }}"
  + "{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

function tokenizerConfigJson(cfg: LlamaConfig, firstSpecialId: number): Record<string, unknown> {
  const specials = presetSpecialTokens(cfg);
  const decoder = Object.fromEntries(specials.map(({ content, special }, i) => [String(firstSpecialId + i), {
    content, lstrip: false, normalized: false, rstrip: false, single_word: false, special,
  }]));
  if (cfg.modelType === 'qwen2') {
    return {
      added_tokens_decoder: decoder,
      bos_token: null,
      eos_token: '<|im_end|>',
      pad_token: '<|endoftext|>',
      chat_template: CHATML_CHAT_TEMPLATE,
      clean_up_tokenization_spaces: false,
      errors: 'replace',
      model_max_length: cfg.maxPositionEmbeddings,
      split_special_tokens: false,
      tokenizer_class: 'Qwen2Tokenizer',
      unk_token: null,
    };
  }
  return {
    added_tokens_decoder: decoder,
    bos_token: specials[0]!.content,
    eos_token: specials[1]!.content,
    chat_template: RECIPE_V1_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: true,
    model_input_names: ['input_ids', 'attention_mask'],
    model_max_length: cfg.maxPositionEmbeddings,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
}

/** Tag of the preset-initialisation stream in prng.ts's key derivation. */
const STREAM_PRESET_INIT = 0x50524553; // 'PRES'

/**
 * Fill `out` with N(mean, std²) draws of stream `key`: Box–Muller, each pair of uniforms
 * (prng.ts draws 2p, 2p+1) giving the normals at 2p (cosine) and 2p+1 (sine).
 */
function fillNormal(out: Float32Array, key: number, mean: number, std: number): void {
  for (let i = 0; i < out.length; i += 2) {
    const u1 = 1 - uniform(key, i); // (0, 1]: log is finite
    const u2 = uniform(key, i + 1);
    const r = std * Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    out[i] = mean + r * Math.cos(theta);
    if (i + 1 < out.length) out[i + 1] = mean + r * Math.sin(theta);
  }
}

/**
 * Deterministic random weights for `cfg`, one generator per tensor (so a large model is made one
 * tensor at a time): projections N(0, 1/fan_in) (output projections further scaled by
 * 1/√(2·layers) so the residual stream stays O(1)), embeddings N(0, 1/H) so tied logits start
 * with unit variance, RMSNorm weights 1 + N(0, 0.1²) — deliberately not all ones, so a
 * forgotten norm weight shows up against a reference — and q/k/v biases N(0, 0.5²), large enough
 * to move every loss (real Qwen2 biases are larger still).
 *
 * @example
 * const emb = presetTensorGenerators(PRESETS.tiny, 0).get('model.embed_tokens.weight')!.make();
 */
export function presetTensorGenerators(cfg: LlamaConfig, seed: number): Map<string, { shape: number[]; make: () => Float32Array }> {
  const out = new Map<string, { shape: number[]; make: () => Float32Array }>();
  const residualScale = 1 / Math.sqrt(2 * cfg.numLayers);
  let index = 0;
  for (const [name, shape] of expectedTensorShapes(cfg)) {
    const key = deriveKey(seed >>> 0, STREAM_PRESET_INIT, index++);
    const make = () => {
      const data = new Float32Array(shape.reduce((p, d) => p * d, 1));
      if (name.endsWith('.bias')) fillNormal(data, key, 0, 0.5);
      else if (shape.length === 1) fillNormal(data, key, 1, 0.1);
      else if (name === 'model.embed_tokens.weight' || name === 'lm_head.weight') fillNormal(data, key, 0, 1 / Math.sqrt(cfg.hiddenSize));
      else {
        const isOutput = name.endsWith('o_proj.weight') || name.endsWith('down_proj.weight');
        fillNormal(data, key, 0, (isOutput ? residualScale : 1) / Math.sqrt(shape[1]!));
      }
      return data;
    };
    out.set(name, { shape, make });
  }
  return out;
}

/**
 * All of `presetTensorGenerators`' tensors, made now.
 *
 * @example
 * const weights = initPresetWeights(PRESETS.tiny, 0);
 */
export function initPresetWeights(cfg: LlamaConfig, seed: number): Map<string, { shape: number[]; data: Float32Array }> {
  return new Map([...presetTensorGenerators(cfg, seed)].map(([name, g]) => [name, { shape: g.shape, data: g.make() }]));
}

/** Options of `writePresetCheckpoint`. */
export interface WritePresetOptions {
  seed?: number;
  dtype?: FloatDtype;
  /** Split the weights into shards of at most this many bytes (with model.safetensors.index.json). */
  maxShardBytes?: number;
  /** Write into a non-empty folder (overwriting our files). */
  force?: boolean;
}

/** What `writePresetCheckpoint` wrote. */
export interface WrittenCheckpoint {
  dir: string;
  config: LlamaConfig;
  files: string[];
  parameters: number;
}

/**
 * Write a preset checkpoint in Hugging Face layout into `dir` (created if needed).
 *
 * @example
 * writePresetCheckpoint('/tmp/tiny', 'tiny', { seed: 1 });
 * const ckpt = await loadCheckpoint('/tmp/tiny');
 */
export function writePresetCheckpoint(dir: string, preset: PresetName, options: WritePresetOptions = {}): WrittenCheckpoint {
  if (!Object.hasOwn(PRESETS, preset)) {
    throw new FlockError(`unknown preset "${preset}"`, { hint: `choose one of ${Object.keys(PRESETS).join(', ')}` });
  }
  const cfg = PRESETS[preset];
  const firstSpecialId = specialIdBase(cfg);
  const seed = options.seed ?? 0;
  const dtype = options.dtype ?? 'BF16';
  if (existsSync(dir) && readdirSync(dir).length > 0 && !options.force) {
    throw new FlockError(`${dir} is not empty`, { hint: 'choose a new folder, or pass --force to overwrite the model files in it' });
  }
  mkdirSync(dir, { recursive: true });

  const generators = presetTensorGenerators(cfg, seed);
  const tensors = new Map<string, TensorToWrite>([...generators].map(([name, g]) => [name, { dtype, shape: g.shape, data: g.make }]));
  const parameters = [...generators.values()].reduce((n, g) => n + g.shape.reduce((p, d) => p * d, 1), 0);
  const metadata = { format: 'pt', 'flock.preset': preset, 'flock.seed': String(seed) };
  const files = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'];

  const bytesPer = dtype === 'F32' ? 4 : 2;
  const shards = splitIntoShards(tensors, bytesPer, options.maxShardBytes);
  if (shards.length === 1) {
    writeSafetensors(join(dir, SINGLE_WEIGHTS_FILE), tensors, metadata);
    files.push(SINGLE_WEIGHTS_FILE);
  } else {
    const weightMap: Record<string, string> = {};
    shards.forEach((shard, i) => {
      const file = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
      writeSafetensors(join(dir, file), shard, metadata);
      for (const name of shard.keys()) weightMap[name] = file;
      files.push(file);
    });
    const index = { metadata: { total_size: parameters * bytesPer }, weight_map: weightMap };
    writeFileSync(join(dir, INDEX_FILE), JSON.stringify(index, null, 2) + '\n');
    files.push(INDEX_FILE);
  }

  const hfConfig = { ...toHfConfigJson(cfg), torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[dtype] };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfig, null, 2) + '\n');
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: cfg.bosTokenId, eos_token_id: cfg.eosTokenId, do_sample: false }, null, 2) + '\n');
  const tokenizer = cfg.modelType === 'qwen2' ? qwen2ByteLevelTokenizerJson(firstSpecialId) : byteLevelTokenizerJson(firstSpecialId);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer) + '\n');
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfigJson(cfg, firstSpecialId), null, 2) + '\n');
  return { dir, config: cfg, files: files.sort(), parameters };
}

/** Greedy split in tensor order; a tensor larger than the limit gets a shard of its own. */
function splitIntoShards(tensors: Map<string, TensorToWrite>, bytesPer: number, maxBytes?: number): Map<string, TensorToWrite>[] {
  if (maxBytes === undefined) return [tensors];
  const shards: Map<string, TensorToWrite>[] = [];
  let current = new Map<string, TensorToWrite>();
  let size = 0;
  for (const [name, t] of tensors) {
    const bytes = t.shape.reduce((p, d) => p * d, 1) * bytesPer;
    if (current.size > 0 && size + bytes > maxBytes) {
      shards.push(current);
      current = new Map();
      size = 0;
    }
    current.set(name, t);
    size += bytes;
  }
  if (current.size > 0) shards.push(current);
  return shards;
}
