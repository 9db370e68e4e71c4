/**
 * Loading a Hugging Face Llama or Qwen2 checkpoint folder: `config.json`, `model.safetensors` (or
 * shards listed in `model.safetensors.index.json`), `tokenizer.json`.
 *
 * Every tensor the model needs is checked to exist with the shape the config implies before any
 * weight is read; weights are then read one tensor at a time on demand (`weights.get`), converted
 * to f32, so a caller never holds the file and its f32 copy together.
 *
 * Tensor names and shapes ([out, in] for projections, as PyTorch's nn.Linear stores them):
 *   model.embed_tokens.weight                              [V, H]
 *   model.layers.{i}.input_layernorm.weight                [H]
 *   model.layers.{i}.self_attn.q_proj.weight               [nH·hd, H]
 *   model.layers.{i}.self_attn.q_proj.bias                 [nH·hd]     (Qwen2 only)
 *   model.layers.{i}.self_attn.k_proj.weight               [nKV·hd, H]
 *   model.layers.{i}.self_attn.k_proj.bias                 [nKV·hd]    (Qwen2 only)
 *   model.layers.{i}.self_attn.v_proj.weight               [nKV·hd, H]
 *   model.layers.{i}.self_attn.v_proj.bias                 [nKV·hd]    (Qwen2 only)
 *   model.layers.{i}.self_attn.o_proj.weight               [H, nH·hd]
 *   model.layers.{i}.post_attention_layernorm.weight       [H]
 *   model.layers.{i}.mlp.gate_proj.weight                  [I, H]
 *   model.layers.{i}.mlp.up_proj.weight                    [I, H]
 *   model.layers.{i}.mlp.down_proj.weight                  [H, I]
 *   model.norm.weight                                      [H]
 *   lm_head.weight                                         [V, H]   (absent when embeddings are tied)
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { sha256File } from '../util/sha256-file.js';
import { basename, join } from 'node:path';
import { FlockError } from '../util/errors.js';
import { hasQkvBias, parseLlamaConfig, type LlamaConfig } from './config.js';
import { readSafetensorsHeader, readTensorF32, type SafetensorsHeader } from './safetensors.js';
import { loadTokenizer, type ChatTokenizer } from './tokenizer.js';

/** A tensor as the engine uses it: row-major f32 values and their shape. */
export interface Tensor {
  shape: number[];
  data: Float32Array;
}

/** Read access to a checkpoint's weights. */
export interface WeightStore {
  /** Names of the tensors the model uses (expected names only, in model order). */
  names(): string[];
  /** Shape and stored dtype of a tensor, without reading it. */
  info(name: string): { shape: number[]; dtype: string };
  /** Read a tensor from disk as f32. Every call reads the file again: keep the result. */
  get(name: string): Tensor;
}

/** A checkpoint checked against its config, before any weight is read. */
export interface CheckpointLayout {
  dir: string;
  config: LlamaConfig;
  /** safetensors files in the checkpoint (names relative to dir), sorted. */
  files: string[];
  weights: WeightStore;
  /** Tensors present in the files but not used by the model (e.g. a tied lm_head). */
  ignored: string[];
}

/** A loaded checkpoint. */
export interface Checkpoint extends CheckpointLayout {
  tokenizer: ChatTokenizer;
  /** SHA-256 (hex) identifying the checkpoint for receipts; see `checkpointHash`. */
  hash: string;
}

export const CONFIG_FILE = 'config.json';
export const SINGLE_WEIGHTS_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';
export const TOKENIZER_FILE = 'tokenizer.json';

/**
 * Names and shapes of every tensor a model with `cfg` needs, in model order (a bias right after
 * its weight).
 *
 * @example
 * expectedTensorShapes(cfg).get('model.norm.weight'); // [cfg.hiddenSize]
 */
export function expectedTensorShapes(cfg: LlamaConfig): Map<string, number[]> {
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  const q = cfg.numHeads * cfg.headDim;
  const kv = cfg.numKvHeads * cfg.headDim;
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [cfg.vocabSize, H]);
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}`;
    m.set(`${p}.input_layernorm.weight`, [H]);
    const bias = hasQkvBias(cfg);
    m.set(`${p}.self_attn.q_proj.weight`, [q, H]);
    if (bias) m.set(`${p}.self_attn.q_proj.bias`, [q]);
    m.set(`${p}.self_attn.k_proj.weight`, [kv, H]);
    if (bias) m.set(`${p}.self_attn.k_proj.bias`, [kv]);
    m.set(`${p}.self_attn.v_proj.weight`, [kv, H]);
    if (bias) m.set(`${p}.self_attn.v_proj.bias`, [kv]);
    m.set(`${p}.self_attn.o_proj.weight`, [H, q]);
    m.set(`${p}.post_attention_layernorm.weight`, [H]);
    m.set(`${p}.mlp.gate_proj.weight`, [I, H]);
    m.set(`${p}.mlp.up_proj.weight`, [I, H]);
    m.set(`${p}.mlp.down_proj.weight`, [H, I]);
  }
  m.set('model.norm.weight', [H]);
  if (!cfg.tieWordEmbeddings) m.set('lm_head.weight', [cfg.vocabSize, H]);
  return m;
}

/** config.json and the shard index are small; refuse anything absurd before reading it. */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

function readJsonFile(path: string, what: string): unknown {
  if (!existsSync(path)) throw new FlockError(`${path}: not found`, { hint: `a Hugging Face model folder needs ${what}` });
  const size = statSync(path).size;
  if (size > MAX_JSON_BYTES) throw new FlockError(`${path}: ${size} bytes is too large for ${what}`, { hint: 'the file is not a model configuration' });
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new FlockError(`${path}: not valid JSON (${(err as Error).message})`, { hint: 'download the file again', cause: err });
  }
}

/** The weight map of a sharded checkpoint: tensor name → shard file name. */
function readIndex(dir: string): Map<string, string> {
  const path = join(dir, INDEX_FILE);
  const json = readJsonFile(path, INDEX_FILE);
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new FlockError(`${path}: no "weight_map" object`);
  const out = new Map<string, string>();
  for (const [name, file] of Object.entries(map)) {
    // Shards must be plain file names inside the folder (no paths, no escaping it).
    if (typeof file !== 'string' || file !== basename(file) || file === '..' || !file.endsWith('.safetensors')) {
      throw new FlockError(`${path}: weight_map["${name}"] = ${JSON.stringify(file)} is not a .safetensors file name in the folder`);
    }
    out.set(name, file);
  }
  return out;
}

/**
 * Check a checkpoint folder's config and safetensors headers (no weight is read, nothing hashed):
 * every expected tensor present, with the right shape and a float dtype.
 *
 * @example
 * const layout = inspectCheckpoint('models/llama-3.2-1b');
 * layout.weights.info('model.embed_tokens.weight'); // { shape: [128256, 2048], dtype: 'BF16' }
 */
export function inspectCheckpoint(dir: string): CheckpointLayout {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new FlockError(`${dir}: not a folder`, { hint: 'pass a model folder (config.json, model.safetensors, tokenizer.json) — `flock model init DIR` makes one' });
  }
  const configPath = join(dir, CONFIG_FILE);
  const config = parseLlamaConfig(readJsonFile(configPath, CONFIG_FILE), configPath);

  // Where each tensor lives: from the index (sharded) or the single file.
  let location: Map<string, string>;
  if (existsSync(join(dir, INDEX_FILE))) {
    location = readIndex(dir);
  } else if (existsSync(join(dir, SINGLE_WEIGHTS_FILE))) {
    location = new Map(); // filled from the header below
  } else {
    const hasBin = existsSync(join(dir, 'pytorch_model.bin'));
    throw new FlockError(`${dir}: no ${SINGLE_WEIGHTS_FILE} or ${INDEX_FILE}`, {
      hint: hasBin ? 'the engine reads safetensors only: convert pytorch_model.bin (transformers: save_pretrained(..., safe_serialization=True))'
        : 'download the model\'s safetensors weights into this folder',
    });
  }
  const files = location.size > 0 ? [...new Set(location.values())].sort() : [SINGLE_WEIGHTS_FILE];
  const headers = new Map<string, SafetensorsHeader>();
  for (const f of files) {
    const p = join(dir, f);
    if (!existsSync(p)) throw new FlockError(`${p}: shard listed in ${INDEX_FILE} is missing`, { hint: 'download every shard of the model' });
    headers.set(f, readSafetensorsHeader(p));
  }
  if (location.size === 0) {
    for (const name of headers.get(SINGLE_WEIGHTS_FILE)!.tensors.keys()) location.set(name, SINGLE_WEIGHTS_FILE);
  }

  const expected = expectedTensorShapes(config);
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const file = location.get(name);
    const info = file === undefined ? undefined : headers.get(file)!.tensors.get(name);
    if (file === undefined) problems.push(`missing tensor ${name} [${shape.join(', ')}]`);
    else if (info === undefined) problems.push(`${file} does not contain ${name} (listed in ${INDEX_FILE})`);
    else if (info.shape.join(',') !== shape.join(',')) problems.push(`${name} has shape [${info.shape.join(', ')}], config.json implies [${shape.join(', ')}]`);
    else if (!['F32', 'F16', 'BF16'].includes(info.dtype)) problems.push(`${name} has dtype ${info.dtype} (the engine reads F32, F16, BF16)`);
  }
  if (problems.length > 0) {
    throw new FlockError(`${dir}: the weights do not match config.json (${problems.length} problem${problems.length > 1 ? 's' : ''})`, {
      details: problems.slice(0, 20).concat(problems.length > 20 ? [`… and ${problems.length - 20} more`] : []),
      hint: `the checkpoint must be a ${config.modelType === 'qwen2' ? 'Qwen2' : 'Llama'} model with Hugging Face tensor names; re-download it if a file is damaged`,
    });
  }
  const ignored = [...location.keys()].filter((n) => !expected.has(n)).sort();

  const names = [...expected.keys()];
  const weights: WeightStore = {
    names: () => names.slice(),
    info(name) {
      const file = expected.has(name) ? location.get(name)! : undefined;
      if (file === undefined) throw new FlockError(`checkpoint ${dir} has no model tensor "${name}"`);
      const t = headers.get(file)!.tensors.get(name)!;
      return { shape: t.shape.slice(), dtype: t.dtype };
    },
    get(name) {
      const file = expected.has(name) ? location.get(name)! : undefined;
      if (file === undefined) throw new FlockError(`checkpoint ${dir} has no model tensor "${name}"`);
      const header = headers.get(file)!;
      return { shape: header.tensors.get(name)!.shape.slice(), data: readTensorF32(join(dir, file), name, header) };
    },
  };
  return { dir, config, files, weights, ignored };
}

/**
 * The checkpoint's identity: SHA-256 of a manifest with one line `<sha256>  <file>` per file that
 * determines results — config.json, tokenizer.json and every safetensors file (sorted by name) —
 * like `sha256sum`. Files are hashed streaming. Renaming shards changes it; copying the folder does not.
 *
 * @example
 * await checkpointHash('model', ['model.safetensors']);
 */
export async function checkpointHash(dir: string, weightFiles: readonly string[]): Promise<string> {
  const files = [CONFIG_FILE, TOKENIZER_FILE, ...weightFiles].sort();
  const lines: string[] = [];
  for (const f of files) lines.push(`${await sha256File(join(dir, f))}  ${f}\n`);
  return createHash('sha256').update(lines.join('')).digest('hex');
}

/**
 * Load a Hugging Face Llama or Qwen2 checkpoint folder: config, validated weight layout (weights
 * read on demand), tokenizer (must have the special tokens of a chat template and fit the
 * embedding table), and its hash for receipts.
 *
 * @example
 * const ckpt = await loadCheckpoint('model');
 * const emb = ckpt.weights.get('model.embed_tokens.weight'); // { shape: [V, H], data: Float32Array }
 */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const layout = inspectCheckpoint(dir);
  const tokenizer = loadTokenizer(dir);
  if (tokenizer.vocabSize > layout.config.vocabSize) {
    throw new FlockError(`${dir}: tokenizer.json has token ids up to ${tokenizer.vocabSize - 1} but config.json vocab_size is ${layout.config.vocabSize}`, {
      hint: 'the tokenizer does not belong to this model',
    });
  }
  const hash = await checkpointHash(dir, layout.files);
  return { ...layout, tokenizer, hash };
}
