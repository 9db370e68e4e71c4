/**
 * LoRA adapters in PEFT's on-disk format, so our adapters load in the Hugging Face ecosystem
 * (`PeftModel.from_pretrained(base, dir)`) and PEFT's load here:
 *
 *   adapter_config.json        peft_type "LORA", r, lora_alpha, lora_dropout, target_modules, …
 *   adapter_model.safetensors  base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight [r, in]
 *                              base_model.model.model.layers.{i}.self_attn.q_proj.lora_B.weight [out, r]
 *
 * The adapted projection is W·x + (alpha / r)·B·(A·x) (PEFT's scaling without rsLoRA).
 *
 * In memory, tensors are keyed by their name in the base model plus the LoRA suffix, without PEFT's
 * `base_model.model.` prefix: `model.layers.0.self_attn.q_proj.lora_A.weight` (see `loraTensorName`).
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { FlockError } from '../util/errors.js';
import type { LlamaConfig } from './config.js';
import { readSafetensorsHeader, readTensorF32, writeSafetensors, type TensorToWrite } from './safetensors.js';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';
/** PEFT's prefix on every saved tensor name (PeftModelForCausalLM → LlamaForCausalLM). */
export const PEFT_PREFIX = 'base_model.model.';

/** Linear layers of a Llama block that LoRA can target, by PEFT's module names. */
export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/** A LoRA adapter in memory. */
export interface Adapter {
  r: number;
  alpha: number;
  dropout: number;
  targetModules: string[];
  /** The base model it was trained on (HF repo id or a path), recorded in adapter_config.json. */
  baseModel: string;
  /** Tensors keyed as `loraTensorName` gives, f32. */
  weights: Map<string, { shape: number[]; data: Float32Array }>;
}

/**
 * In-memory name of a LoRA tensor: `model.layers.{layer}.{self_attn|mlp}.{module}.lora_{A|B}.weight`.
 *
 * @example
 * loraTensorName(0, 'q_proj', 'A'); // 'model.layers.0.self_attn.q_proj.lora_A.weight'
 */
export function loraTensorName(layer: number, module: LoraTarget, which: 'A' | 'B'): string {
  const block = module === 'gate_proj' || module === 'up_proj' || module === 'down_proj' ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${block}.${module}.lora_${which}.weight`;
}

const NAME_RE = /^model\.layers\.(\d+)\.(self_attn|mlp)\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)\.lora_(A|B)\.weight$/;

/** [in, out] features of a targetable projection of `cfg`. */
export function projectionDims(cfg: LlamaConfig, module: LoraTarget): { inFeatures: number; outFeatures: number } {
  const H = cfg.hiddenSize;
  const q = cfg.numHeads * cfg.headDim;
  const kv = cfg.numKvHeads * cfg.headDim;
  const I = cfg.intermediateSize;
  const dims: Record<LoraTarget, [number, number]> = {
    q_proj: [H, q], k_proj: [H, kv], v_proj: [H, kv], o_proj: [q, H], gate_proj: [H, I], up_proj: [H, I], down_proj: [I, H],
  };
  const [inFeatures, outFeatures] = dims[module];
  return { inFeatures, outFeatures };
}

const adapterConfigSchema = z.object({
  peft_type: z.literal('LORA'),
  task_type: z.literal('CAUSAL_LM').nullable().optional(),
  r: z.number().int().positive(),
  lora_alpha: z.number().positive(),
  lora_dropout: z.number().min(0).max(1).default(0),
  target_modules: z.array(z.string()).nonempty(),
  base_model_name_or_path: z.string().nullable().optional(),
  bias: z.literal('none').default('none'),
  fan_in_fan_out: z.literal(false).default(false),
  use_rslora: z.literal(false).default(false),
  use_dora: z.literal(false).default(false),
  modules_to_save: z.null().optional(),
  layers_to_transform: z.null().optional(),
  rank_pattern: z.record(z.string(), z.unknown()).refine((o) => Object.keys(o).length === 0, 'per-module ranks are not supported').optional(),
  alpha_pattern: z.record(z.string(), z.unknown()).refine((o) => Object.keys(o).length === 0, 'per-module alphas are not supported').optional(),
}).loose();

/**
 * PEFT's adapter_config.json for `a`: the LoraConfig fields every PEFT release since 0.9 knows
 * (newer fields such as layer_replication are left out, so older PEFT loads it too).
 */
export function adapterConfigJson(a: Omit<Adapter, 'weights'>): Record<string, unknown> {
  return {
    alpha_pattern: {},
    base_model_name_or_path: a.baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: a.alpha,
    lora_dropout: a.dropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: a.r,
    rank_pattern: {},
    revision: null,
    target_modules: [...a.targetModules],
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: false,
  };
}

/**
 * Check an adapter's tensors: names are LoRA names of targeted modules, A is [r, in] and B is
 * [out, r], every module has both. With `config`, also check layers and in/out sizes against the
 * base model and that every layer has every target. Returns the problems found (empty = valid).
 */
export function adapterProblems(a: Adapter, config?: LlamaConfig): string[] {
  const problems: string[] = [];
  const targets = new Set(a.targetModules);
  for (const t of targets) if (!(LORA_TARGETS as readonly string[]).includes(t)) problems.push(`target module "${t}" is not a Llama projection (${LORA_TARGETS.join(', ')})`);
  const seen = new Map<string, Set<string>>(); // module path → {A, B}
  for (const [name, t] of a.weights) {
    const m = NAME_RE.exec(name);
    if (!m) {
      problems.push(`unexpected tensor "${name}"`);
      continue;
    }
    const layer = Number(m[1]);
    const module = m[3] as LoraTarget;
    const which = m[4] as 'A' | 'B';
    if (name !== loraTensorName(layer, module, which)) problems.push(`tensor "${name}" is in the wrong block`);
    if (!targets.has(module)) problems.push(`tensor "${name}" adapts ${module}, which is not in target_modules`);
    const size = t.shape.reduce((p, d) => p * d, 1);
    if (t.shape.length !== 2 || size !== t.data.length) {
      problems.push(`tensor "${name}" has shape [${t.shape.join(', ')}] for ${t.data.length} values`);
      continue;
    }
    const rankDim = which === 'A' ? t.shape[0] : t.shape[1];
    if (rankDim !== a.r) problems.push(`tensor "${name}" has shape [${t.shape.join(', ')}]; lora_${which} needs ${which === 'A' ? '[r, in]' : '[out, r]'} with r = ${a.r}`);
    if (config) {
      const { inFeatures, outFeatures } = projectionDims(config, module);
      const want = which === 'A' ? [a.r, inFeatures] : [outFeatures, a.r];
      if (layer >= config.numLayers) problems.push(`tensor "${name}" is for layer ${layer}, the model has ${config.numLayers}`);
      else if (t.shape.join(',') !== want.join(',')) problems.push(`tensor "${name}" has shape [${t.shape.join(', ')}], the base model needs [${want.join(', ')}]`);
    }
    const key = `${layer}.${module}`;
    if (!seen.has(key)) seen.set(key, new Set());
    seen.get(key)!.add(which);
  }
  for (const [key, parts] of seen) if (parts.size !== 2) problems.push(`layer ${key.replace('.', ' ')} has lora_${[...parts][0]} without lora_${[...parts][0] === 'A' ? 'B' : 'A'}`);
  if (config) {
    for (let layer = 0; layer < config.numLayers; layer++) {
      for (const t of targets) if ((LORA_TARGETS as readonly string[]).includes(t) && !seen.has(`${layer}.${t}`)) problems.push(`missing LoRA weights for layer ${layer} ${t}`);
    }
  }
  if (a.weights.size === 0) problems.push('no LoRA tensors');
  return problems;
}

/**
 * Save an adapter in PEFT's format into `dir` (created if needed). Weights are stored F32.
 * Tensor keys may be in-memory names or PEFT's full names.
 *
 * @example
 * saveAdapter('out/adapter', { r: 4, alpha: 8, dropout: 0.1, targetModules: ['q_proj', 'v_proj'],
 *   baseModel: 'meta-llama/Llama-3.2-1B', weights });
 */
export function saveAdapter(dir: string, adapter: Adapter, config?: LlamaConfig): void {
  const weights = new Map([...adapter.weights].map(([name, t]) => [name.startsWith(PEFT_PREFIX) ? name.slice(PEFT_PREFIX.length) : name, t]));
  const normalised = { ...adapter, weights };
  const problems = adapterProblems(normalised, config);
  if (problems.length > 0) throw new FlockError(`cannot save the adapter: ${problems.length} problem(s)`, { details: problems.slice(0, 20) });
  mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, TensorToWrite>();
  for (const name of [...weights.keys()].sort()) {
    const t = weights.get(name)!;
    tensors.set(PEFT_PREFIX + name, { dtype: 'F32', shape: t.shape, data: t.data });
  }
  writeSafetensors(join(dir, ADAPTER_WEIGHTS_FILE), tensors, { format: 'pt' });
  writeFileSync(join(dir, ADAPTER_CONFIG_FILE), JSON.stringify(adapterConfigJson(adapter), null, 2) + '\n');
}

/**
 * Load a PEFT LoRA adapter folder, validated (and checked against the base model's `config` when
 * given). Tensors stored F16/BF16 are widened to f32.
 *
 * @example
 * const adapter = loadAdapter('out/adapter', ckpt.config);
 */
export function loadAdapter(dir: string, config?: LlamaConfig): Adapter {
  const configPath = join(dir, ADAPTER_CONFIG_FILE);
  const weightsPath = join(dir, ADAPTER_WEIGHTS_FILE);
  if (!existsSync(configPath)) {
    throw new FlockError(`${dir}: no ${ADAPTER_CONFIG_FILE}`, {
      hint: existsSync(join(dir, 'adapter_model.bin')) ? 'convert the adapter to safetensors (PEFT: save_pretrained(..., safe_serialization=True))' : 'pass a folder written by `flock eval --save-adapter` or PEFT\'s save_pretrained',
    });
  }
  const size = statSync(configPath).size;
  if (size > 1024 * 1024) throw new FlockError(`${configPath}: ${size} bytes is too large for an adapter config`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw new FlockError(`${configPath}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const parsed = adapterConfigSchema.safeParse(json);
  if (!parsed.success) {
    throw new FlockError(`${configPath}: not a LoRA adapter config the engine supports`, {
      details: parsed.error.issues.slice(0, 20).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
      hint: 'the engine loads plain LoRA adapters (peft_type LORA, no bias, no DoRA/rsLoRA, target_modules as a list)',
    });
  }
  const c = parsed.data;
  if (!existsSync(weightsPath)) throw new FlockError(`${dir}: no ${ADAPTER_WEIGHTS_FILE}`, { hint: 'the adapter folder is incomplete' });
  const header = readSafetensorsHeader(weightsPath);
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, info] of header.tensors) {
    // PEFT may keep the adapter name ("….lora_A.default.weight") when saving by hand.
    const short = (name.startsWith(PEFT_PREFIX) ? name.slice(PEFT_PREFIX.length) : name).replace(/\.lora_([AB])\.default\.weight$/, '.lora_$1.weight');
    weights.set(short, { shape: info.shape, data: readTensorF32(weightsPath, name, header) });
  }
  const adapter: Adapter = {
    r: c.r, alpha: c.lora_alpha, dropout: c.lora_dropout, targetModules: [...c.target_modules],
    baseModel: c.base_model_name_or_path ?? '', weights,
  };
  const problems = adapterProblems(adapter, config);
  if (problems.length > 0) {
    throw new FlockError(`${dir}: the adapter is not valid${config ? ' for this base model' : ''} (${problems.length} problem${problems.length > 1 ? 's' : ''})`, {
      details: problems.slice(0, 20).concat(problems.length > 20 ? [`… and ${problems.length - 20} more`] : []),
      hint: 'use an adapter trained on this base model with the same LoRA settings',
    });
  }
  return adapter;
}
