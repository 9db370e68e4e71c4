/**
 * Hugging Face Llama `config.json` ⇄ `LlamaConfig`.
 *
 * We accept the `LlamaForCausalLM` architecture (model_type `llama`) as written by transformers,
 * including grouped-query attention (`num_key_value_heads`), an explicit `head_dim`, `rope_theta`,
 * `rope_scaling` of type `llama3` (Llama 3.1/3.2) and tied embeddings. Anything the engine would
 * silently compute differently (another architecture, biases, another activation, another RoPE
 * scaling) is refused with a FlockError that names the value.
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

/** The model shape and constants the engine needs, in our names. */
export interface LlamaConfig {
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
  max_position_embeddings: positiveInt.default(2048),
  rms_norm_eps: z.number().positive().default(1e-6),
  rope_theta: z.number().positive().default(10000),
  rope_scaling: z.unknown().optional().nullable(),
  tie_word_embeddings: z.boolean().default(false),
  bos_token_id: tokenId.default(1),
  eos_token_id: z.union([tokenId, z.array(tokenId).nonempty()]).default(2),
  hidden_act: z.string().default('silu'),
  attention_bias: z.boolean().default(false),
  mlp_bias: z.boolean().default(false),
  pretraining_tp: z.number().int().default(1),
}).loose();

function refuse(source: string, what: string, hint: string): never {
  throw new FlockError(`${source}: ${what}`, {
    hint,
  });
}

/**
 * Parse a Hugging Face Llama `config.json` (already JSON-parsed) into a `LlamaConfig`.
 * `source` names the file in error messages. `head_dim` defaults to hidden_size / heads and
 * `num_key_value_heads` to the number of heads (no GQA).
 *
 * @example
 * const cfg = parseLlamaConfig(JSON.parse(readFileSync('model/config.json', 'utf8')), 'model/config.json');
 */
export function parseLlamaConfig(json: unknown, source = 'config.json'): LlamaConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    refuse(source, 'is not a JSON object', 'point at a Hugging Face model folder with a Llama config.json');
  }
  const raw = json as Record<string, unknown>;
  // Architecture first: a clear "wrong model" beats a list of missing fields.
  const modelType = raw['model_type'];
  if (modelType !== undefined && modelType !== 'llama') {
    refuse(source, `model_type "${String(modelType)}" is not supported (expected "llama")`,
      'the engine trains Llama-architecture checkpoints only (e.g. meta-llama/Llama-3.2-1B)');
  }
  const archs = raw['architectures'];
  if (Array.isArray(archs) && !archs.includes('LlamaForCausalLM')) {
    refuse(source, `architecture ${archs.map((a) => `"${String(a)}"`).join(', ')} is not supported (expected "LlamaForCausalLM")`,
      'the engine trains Llama-architecture checkpoints only (e.g. meta-llama/Llama-3.2-1B)');
  }
  if (modelType === undefined && archs === undefined) {
    refuse(source, 'names neither model_type nor architectures', 'a Llama config.json has "model_type": "llama"');
  }

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

  const parsed = hfLlamaConfigSchema.safeParse(ropeInput);
  if (!parsed.success) {
    throw new FlockError(`${source}: invalid Llama config`, {
      details: parsed.error.issues.slice(0, 20).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
      hint: 'compare it with a Hugging Face Llama config.json (hidden_size, num_hidden_layers, …)',
    });
  }
  const c = parsed.data;
  if (c.hidden_act !== 'silu') refuse(source, `hidden_act "${c.hidden_act}" is not supported (expected "silu")`, 'Llama uses SwiGLU with silu');
  if (c.attention_bias) refuse(source, 'attention_bias true is not supported', 'Llama projections have no bias');
  if (c.mlp_bias) refuse(source, 'mlp_bias true is not supported', 'Llama MLP projections have no bias');
  if (c.pretraining_tp !== 1) refuse(source, `pretraining_tp ${c.pretraining_tp} is not supported (expected 1)`, 'only pretraining_tp 1 is implemented');

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
 * the checkpoint loads in transformers as `LlamaForCausalLM`.
 *
 * @example
 * writeFileSync('model/config.json', JSON.stringify(toHfConfigJson(cfg), null, 2));
 */
export function toHfConfigJson(cfg: LlamaConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
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
    rope_scaling: cfg.ropeScaling === null ? null : {
      factor: cfg.ropeScaling.factor,
      high_freq_factor: cfg.ropeScaling.highFreqFactor,
      low_freq_factor: cfg.ropeScaling.lowFreqFactor,
      original_max_position_embeddings: cfg.ropeScaling.originalMaxPositionEmbeddings,
      rope_type: 'llama3',
    },
    rope_theta: cfg.ropeTheta,
    tie_word_embeddings: cfg.tieWordEmbeddings,
    torch_dtype: 'float32',
    use_cache: true,
    vocab_size: cfg.vocabSize,
  };
}
