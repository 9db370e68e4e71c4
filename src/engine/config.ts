/**
 * Hugging Face `config.json` ⇄ `LlamaConfig`, for the two architectures the engine trains:
 *
 * - `LlamaForCausalLM` (model_type `llama`) as written by transformers, including grouped-query
 *   attention (`num_key_value_heads`), an explicit `head_dim`, `rope_theta`, `rope_scaling` of type
 *   `llama3` (Llama 3.1/3.2) and tied embeddings;
 * - `Qwen2ForCausalLM` (model_type `qwen2`, Qwen2 and Qwen2.5): the same block with a bias on the
 *   q, k and v projections (always: transformers' Qwen2 ignores `attention_bias`), its own
 *   defaults (rms_norm_eps 1e-6, max_position_embeddings 32768), full attention in every layer.
 *
 * Anything the engine would silently compute differently (another architecture, Llama biases,
 * another activation, another RoPE scaling, sliding-window attention) is refused with a FlockError
 * that names the value.
 */
import { z } from 'zod';
import { FlockError } from '../util/errors.js';

/** Llama 3 RoPE frequency scaling (`rope_scaling.rope_type == "llama3"`). */
export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

/** The architectures the engine implements, by their `model_type`. */
export type ModelType = 'llama' | 'qwen2';

/** `architectures` entry of each model type in a config.json. */
export const ARCHITECTURES: Readonly<Record<ModelType, string>> = {
  llama: 'LlamaForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
};

/** The model shape and constants the engine needs, in our names. */
export interface LlamaConfig {
  /** `llama`, or `qwen2`: the Llama block with biases on q, k and v (see `hasQkvBias`). */
  modelType: ModelType;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: null | Llama3RopeScaling;
  tieWordEmbeddings: boolean;
  bosTokenId: number;
  eosTokenId: number | number[];
}

/** Whether the q, k and v projections carry a (frozen) bias: out = x·Wᵀ + b. */
export function hasQkvBias(cfg: Pick<LlamaConfig, 'modelType'>): boolean {
  return cfg.modelType === 'qwen2';
}

const positiveInt = z.number().int().positive();
const tokenId = z.number().int().nonnegative();

const ropeScalingSchema = z.object({
  // transformers writes `rope_type`; configs from before 4.43 wrote `type`.
  rope_type: z.string().optional(),
  type: z.string().optional(),
  factor: z.number().positive(),
  low_freq_factor: z.number().positive(),
  high_freq_factor: z.number().positive(),
  original_max_position_embeddings: positiveInt,
}).loose();

const hfLlamaConfigSchema = z.object({
  architectures: z.array(z.string()).optional(),
  model_type: z.string().optional(),
  hidden_size: positiveInt,
  intermediate_size: positiveInt,
  num_hidden_layers: positiveInt,
  num_attention_heads: positiveInt,
  num_key_value_heads: positiveInt.optional(),
  head_dim: positiveInt.optional().nullable(),
  vocab_size: positiveInt,
  max_position_embeddings: positiveInt,
  rms_norm_eps: z.number().positive().default(1e-6),
  rope_theta: z.number().positive().default(10000),
  rope_scaling: z.unknown().optional().nullable(),
  tie_word_embeddings: z.boolean().default(false),
  bos_token_id: tokenId,
  eos_token_id: z.union([tokenId, z.array(tokenId).nonempty()]),
  hidden_act: z.string().default('silu'),
  attention_bias: z.boolean().default(false),
  mlp_bias: z.boolean().default(false),
  pretraining_tp: z.number().int().default(1),
  use_sliding_window: z.boolean().default(false),
  layer_types: z.array(z.string()).optional().nullable(),
}).loose();

/**
 * transformers' defaults where they differ between the two config classes (LlamaConfig,
 * Qwen2Config). Qwen2Config leaves the BOS and EOS ids unset; 151643 is `<|endoftext|>` in every
 * Qwen2 tokenizer (real configs always set them).
 */
const MODEL_DEFAULTS: Record<ModelType, Record<string, unknown>> = {
  llama: { max_position_embeddings: 2048, bos_token_id: 1, eos_token_id: 2 },
  qwen2: { max_position_embeddings: 32768, bos_token_id: 151643, eos_token_id: 151643 },
};

const SUPPORTED_HINT = 'the engine trains Llama (e.g. meta-llama/Llama-3.2-1B) and Qwen2 (e.g. Qwen/Qwen2.5-1.5B-Instruct) checkpoints';

/** The model type a config.json names, or a refusal naming what it says instead. */
function modelTypeOf(raw: Record<string, unknown>, source: string): ModelType {
  // Architecture first: a clear "wrong model" beats a list of missing fields.
  const modelType = raw['model_type'];
  const known = Object.keys(ARCHITECTURES) as ModelType[];
  if (modelType !== undefined && !known.includes(modelType as ModelType)) {
    refuse(source, `model_type "${String(modelType)}" is not supported (expected ${known.map((k) => `"${k}"`).join(' or ')})`, SUPPORTED_HINT);
  }
  const archs = raw['architectures'];
  let fromArchs: ModelType | undefined;
  if (Array.isArray(archs)) {
    fromArchs = known.find((k) => archs.includes(ARCHITECTURES[k]));
    if (fromArchs === undefined) {
      refuse(source, `architecture ${archs.map((a) => `"${String(a)}"`).join(', ')} is not supported (expected ${known.map((k) => `"${ARCHITECTURES[k]}"`).join(' or ')})`, SUPPORTED_HINT);
    }
  }
  if (modelType === undefined && fromArchs === undefined) {
    refuse(source, 'names neither model_type nor architectures', 'a Llama config.json has "model_type": "llama", a Qwen2 one "model_type": "qwen2"');
  }
  if (modelType !== undefined && fromArchs !== undefined && modelType !== fromArchs) {
    refuse(source, `model_type "${String(modelType)}" does not match architecture "${ARCHITECTURES[fromArchs]}"`, 'the config.json is inconsistent: download it again');
  }
  return (modelType as ModelType | undefined) ?? fromArchs!;
}

function refuse(source: string, what: string, hint: string): never {
  throw new FlockError(`${source}: ${what}`, {
    hint,
  });
}

/**
 * Parse a Hugging Face Llama or Qwen2 `config.json` (already JSON-parsed) into a `LlamaConfig`.
 * `source` names the file in error messages. `head_dim` defaults to hidden_size / heads and
 * `num_key_value_heads` to the number of heads (no GQA).
 *
 * @example
 * const cfg = parseLlamaConfig(JSON.parse(readFileSync('model/config.json', 'utf8')), 'model/config.json');
 */
export function parseLlamaConfig(json: unknown, source = 'config.json'): LlamaConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    refuse(source, 'is not a JSON object', 'point at a Hugging Face model folder with a Llama or Qwen2 config.json');
  }
  const raw = json as Record<string, unknown>;
  const modelType = modelTypeOf(raw, source);

  // transformers ≥ 5 writes RoPE settings as one `rope_parameters` object (theta included).
  const ropeParameters = raw['rope_parameters'];
  let ropeInput: Record<string, unknown> = raw;
  if (typeof ropeParameters === 'object' && ropeParameters !== null && !Array.isArray(ropeParameters)) {
    const { rope_theta: theta, ...scaling } = ropeParameters as Record<string, unknown>;
    ropeInput = { ...raw, rope_scaling: scaling, ...(theta === undefined ? {} : { rope_theta: theta }) };
  }
  if (raw['partial_rotary_factor'] !== undefined && raw['partial_rotary_factor'] !== 1) {
    refuse(source, `partial_rotary_factor ${String(raw['partial_rotary_factor'])} is not supported`, 'Llama rotates the whole head');
  }

  const given = Object.fromEntries(Object.entries(ropeInput).filter(([, v]) => v !== undefined));
  const parsed = hfLlamaConfigSchema.safeParse({ ...MODEL_DEFAULTS[modelType], ...given });
  if (!parsed.success) {
    throw new FlockError(`${source}: invalid ${modelType === 'qwen2' ? 'Qwen2' : 'Llama'} config`, {
      details: parsed.error.issues.slice(0, 20).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
      hint: 'compare it with a Hugging Face Llama config.json (hidden_size, num_hidden_layers, …)',
    });
  }
  const c = parsed.data;
  if (c.hidden_act !== 'silu') refuse(source, `hidden_act "${c.hidden_act}" is not supported (expected "silu")`, 'Llama and Qwen2 use SwiGLU with silu');
  if (modelType === 'llama') {
    // LlamaForCausalLM honours these; Qwen2ForCausalLM ignores them (its q/k/v biases are fixed)
    if (c.attention_bias) refuse(source, 'attention_bias true is not supported', 'Llama projections have no bias');
    if (c.mlp_bias) refuse(source, 'mlp_bias true is not supported', 'Llama MLP projections have no bias');
    if (c.pretraining_tp !== 1) refuse(source, `pretraining_tp ${c.pretraining_tp} is not supported (expected 1)`, 'only pretraining_tp 1 is implemented');
  }
  if (c.use_sliding_window) refuse(source, 'use_sliding_window true is not supported', 'the engine computes full causal attention in every layer');
  const windowed = (c.layer_types ?? []).filter((t) => t !== 'full_attention');
  if (windowed.length > 0) refuse(source, `layer_types "${windowed[0]}" is not supported (expected "full_attention")`, 'the engine computes full causal attention in every layer');

  const numKvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % numKvHeads !== 0) {
    refuse(source, `num_attention_heads ${c.num_attention_heads} is not a multiple of num_key_value_heads ${numKvHeads}`,
      'grouped-query attention needs every KV head to serve the same number of query heads');
  }
  let headDim = c.head_dim ?? undefined;
  if (headDim === undefined) {
    if (c.hidden_size % c.num_attention_heads !== 0) {
      refuse(source, `hidden_size ${c.hidden_size} is not divisible by num_attention_heads ${c.num_attention_heads}`, 'set head_dim explicitly');
    }
    headDim = c.hidden_size / c.num_attention_heads;
  }
  if (headDim % 2 !== 0) refuse(source, `head_dim ${headDim} is odd`, 'rotary embeddings rotate pairs, so head_dim must be even');

  return {
    modelType,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    numKvHeads,
    headDim,
    vocabSize: c.vocab_size,
    maxPositionEmbeddings: c.max_position_embeddings,
    rmsNormEps: c.rms_norm_eps,
    ropeTheta: c.rope_theta,
    ropeScaling: parseRopeScaling(c.rope_scaling, source),
    tieWordEmbeddings: c.tie_word_embeddings,
    bosTokenId: c.bos_token_id,
    eosTokenId: c.eos_token_id,
  };
}

function parseRopeScaling(value: unknown, source: string): LlamaConfig['ropeScaling'] {
  if (value === undefined || value === null) return null;
  const kind = typeof value === 'object' ? ((value as Record<string, unknown>)['rope_type'] ?? (value as Record<string, unknown>)['type']) : undefined;
  if (kind === 'default') return null;
  if (kind !== 'llama3') {
    refuse(source, `rope_scaling type ${JSON.stringify(kind ?? null)} is not supported (expected "llama3" or none)`,
      'the engine implements Llama 3 RoPE scaling only');
  }
  const parsed = ropeScalingSchema.safeParse(value);
  if (!parsed.success) {
    throw new FlockError(`${source}: invalid rope_scaling`, {
      details: parsed.error.issues.map((i) => `rope_scaling.${i.path.join('.')}: ${i.message}`),
      hint: 'llama3 rope_scaling needs factor, low_freq_factor, high_freq_factor, original_max_position_embeddings',
    });
  }
  const r = parsed.data;
  return {
    type: 'llama3',
    factor: r.factor,
    lowFreqFactor: r.low_freq_factor,
    highFreqFactor: r.high_freq_factor,
    originalMaxPositionEmbeddings: r.original_max_position_embeddings,
  };
}

/**
 * A `config.json` object in transformers' layout for `cfg` (what `flock model init` writes), so
 * the checkpoint loads in transformers as `LlamaForCausalLM` or `Qwen2ForCausalLM`.
 *
 * @example
 * writeFileSync('model/config.json', JSON.stringify(toHfConfigJson(cfg), null, 2));
 */
export function toHfConfigJson(cfg: LlamaConfig): Record<string, unknown> {
  return cfg.modelType === 'qwen2' ? toQwen2ConfigJson(cfg) : toLlamaConfigJson(cfg);
}

function toLlamaConfigJson(cfg: LlamaConfig): Record<string, unknown> {
  return {
    architectures: [ARCHITECTURES.llama],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: cfg.bosTokenId,
    eos_token_id: cfg.eosTokenId,
    head_dim: cfg.headDim,
    hidden_act: 'silu',
    hidden_size: cfg.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: cfg.intermediateSize,
    max_position_embeddings: cfg.maxPositionEmbeddings,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: cfg.numHeads,
    num_hidden_layers: cfg.numLayers,
    num_key_value_heads: cfg.numKvHeads,
    pretraining_tp: 1,
    rms_norm_eps: cfg.rmsNormEps,
    rope_scaling: ropeScalingJson(cfg),
    rope_theta: cfg.ropeTheta,
    tie_word_embeddings: cfg.tieWordEmbeddings,
    torch_dtype: 'float32',
    use_cache: true,
    vocab_size: cfg.vocabSize,
  };
}

/** Qwen2.5's config.json layout (full attention in every layer: no sliding window). */
function toQwen2ConfigJson(cfg: LlamaConfig): Record<string, unknown> {
  return {
    architectures: [ARCHITECTURES.qwen2],
    attention_dropout: 0.0,
    bos_token_id: cfg.bosTokenId,
    eos_token_id: cfg.eosTokenId,
    // transformers before 4.50 computes hidden_size / heads and ignores head_dim: write it only
    // when it differs, so an older transformers never loads a shape other than ours silently
    ...(cfg.headDim * cfg.numHeads === cfg.hiddenSize ? {} : { head_dim: cfg.headDim }),
    hidden_act: 'silu',
    hidden_size: cfg.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: cfg.intermediateSize,
    max_position_embeddings: cfg.maxPositionEmbeddings,
    max_window_layers: cfg.numLayers,
    model_type: 'qwen2',
    num_attention_heads: cfg.numHeads,
    num_hidden_layers: cfg.numLayers,
    num_key_value_heads: cfg.numKvHeads,
    rms_norm_eps: cfg.rmsNormEps,
    rope_scaling: ropeScalingJson(cfg),
    rope_theta: cfg.ropeTheta,
    sliding_window: cfg.maxPositionEmbeddings,
    tie_word_embeddings: cfg.tieWordEmbeddings,
    torch_dtype: 'float32',
    use_cache: true,
    use_sliding_window: false,
    vocab_size: cfg.vocabSize,
  };
}

function ropeScalingJson(cfg: LlamaConfig): Record<string, unknown> | null {
  return cfg.ropeScaling === null ? null : {
    factor: cfg.ropeScaling.factor,
    high_freq_factor: cfg.ropeScaling.highFreqFactor,
    low_freq_factor: cfg.ropeScaling.lowFreqFactor,
    original_max_position_embeddings: cfg.ropeScaling.originalMaxPositionEmbeddings,
    rope_type: 'llama3',
  };
}
