/**
 * One evaluation run, as a validator (or a miner checking a dataset) does it: encode the rows with
 * the recipe's chat template, train a fresh LoRA adapter on the training rows (unless told not to), and
 * evaluate it on the evaluation set. Returns per-example losses, their mean and a receipt that says
 * exactly what was computed (hashes of model, dataset, eval set and recipe; engine; backend).
 */
import { createHash } from 'node:crypto';
import { chatTemplateOf, type Recipe } from '../protocol/recipe.js';
import type { Receipt } from '../protocol/results.js';
import type { Backend, BackendIdentity } from './backend/backend.js';
import { CpuBackend } from './backend/cpu/cpu-backend.js';
import type { Checkpoint } from './checkpoint.js';
import type { Adapter } from './adapter.js';
import { LlamaModel, type WeightSource } from './llama.js';
import { Lora } from './lora.js';
import { encodeChatRows, templateProblem, type ChatRow } from './template.js';
import { train, type TrainProgress } from './train.js';
import { evaluate, type EvalProgress } from './evaluate.js';
import { EventLoopTurns } from './turns.js';
import { FlockError } from '../util/errors.js';

/**
 * The engine refuses its input: a recipe the model cannot take, or rows with no target token left
 * after truncation. Trying again cannot help (unlike a fault of the device).
 */
export class EngineInputError extends FlockError {
  override name = 'EngineInputError';
}

/** Version of the engine's numerics, recorded in receipts (bump when results can change). */
export const ENGINE_VERSION = '2.0.0';

/**
 * Everything that decides the bits of a result besides its inputs: the engine version, the
 * backend, its kernel variants and its device. `key` is all of it on one line; two results with
 * the same inputs and the same key are bit-identical.
 */
export interface ComputeIdentity extends BackendIdentity {
  engineVersion: string;
  key: string;
}

/**
 * The compute identity of results computed on `backend` now.
 *
 * @example
 * computeIdentity(new CpuBackend()).key; // 'flock-engine 2.0.0 · cpu · attention=wasm-simd matmul=wasm-simd'
 */
export function computeIdentity(backend: Backend): ComputeIdentity {
  const id = backend.identity();
  const kernels = Object.keys(id.kernels).sort().map((k) => `${k}=${id.kernels[k]}`).join(' ');
  const key = [`flock-engine ${ENGINE_VERSION}`, id.backend, kernels, ...(id.device ? [id.device] : [])].join(' · ');
  return { engineVersion: ENGINE_VERSION, ...id, kernels: { ...id.kernels }, key };
}

/** What a result was computed from: part of the protocol (published with results); the engine writes it. */
export type { Receipt } from '../protocol/results.js';

export interface RunOptions {
  /** A loaded checkpoint (checkpoint.ts), or the same parts built in memory. */
  checkpoint: Pick<Checkpoint, 'config' | 'tokenizer' | 'hash'> & { weights: WeightSource };
  /** Name of the base model written into a saved adapter's config (default: the checkpoint hash). */
  baseModel?: string;
  recipe: Recipe;
  evalRows: readonly ChatRow[];
  evalSetHash: string;
  /** Training rows with their row hashes (put in canonical order here); omit to skip training. */
  trainRows?: readonly { row: ChatRow; hash: string }[];
  datasetHash?: string;
  /** Start from this adapter instead of a fresh one (and evaluate it as is when not training). */
  adapter?: Adapter;
  seed: number;
  /** Defaults to a CPU backend on every core (disposed at the end). */
  backend?: Backend;
  onTrainStep?: (p: TrainProgress) => void;
  onEvalProgress?: (p: EvalProgress) => void;
  /** Device bytes training may hold (train.ts; default FLOCK_MEMORY_BUDGET): over it, activations are recomputed. */
  memoryBudget?: number;
}

export interface RunResult {
  evalLoss: number;
  perExample: number[];
  /** Indices of eval rows dropped because truncation left them no target token. */
  droppedEval: number[];
  trainTokens: number;
  trainSteps: number;
  evalTokens: number;
  /**
   * Engine time: wall time of the run less `awaySeconds`. `trainSeconds` and `evalSeconds` are
   * its two parts (likewise less their turns away).
   */
  seconds: number;
  trainSeconds: number;
  evalSeconds: number;
  /**
   * Wall time spent in event-loop turns running other work of the process (turns.ts); garbage
   * collection V8 ran in those turns is not in it (it stays engine time).
   */
  awaySeconds: number;
  receipt: Receipt;
  /** The trained (or loaded) adapter, when there is one. */
  adapter: Adapter | null;
}

/** SHA-256 (hex) of a JSON value with object keys sorted, so key order never changes it. */
export function stableHash(value: unknown): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canon) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])])) : v;
  return createHash('sha256').update(JSON.stringify(canon(value))).digest('hex');
}

/** SHA-256 over an adapter's tensors (name, shape, float32 bytes), in name order. */
export function adapterHash(adapter: Adapter): string {
  const h = createHash('sha256');
  for (const name of [...adapter.weights.keys()].sort()) {
    const t = adapter.weights.get(name)!;
    h.update(`${name}:${t.shape.join('x')}\n`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}

/**
 * Train (optionally) and evaluate.
 *
 * @example
 * const ckpt = await loadCheckpoint('model');
 * const r = await runEvaluation({ checkpoint: ckpt, recipe: RECIPE_V1, evalRows, evalSetHash, trainRows, seed: 1 });
 * console.log(r.evalLoss, r.receipt);
 */
export async function runEvaluation(options: RunOptions): Promise<RunResult> {
  const { checkpoint, recipe, seed } = options;
  const config = checkpoint.config;
  if (recipe.maxSeqLen > config.maxPositionEmbeddings) {
    throw new EngineInputError(`recipe maxSeqLen ${recipe.maxSeqLen} exceeds the model's max_position_embeddings ${config.maxPositionEmbeddings}`, {
      hint: 'lower maxSeqLen in the recipe',
    });
  }
  const template = chatTemplateOf(recipe);
  const problem = templateProblem(checkpoint.tokenizer, template);
  if (problem) {
    throw new EngineInputError(`the recipe cannot run on this model: ${problem}`, {
      hint: 'the recipe\'s chatTemplate must match the base model: "llama3" for Llama 3, "chatml" for Qwen2',
    });
  }
  const started = performance.now();
  const turns = new EventLoopTurns();
  const ownBackend = !options.backend;
  const backend = options.backend ?? new CpuBackend();
  const compute = computeIdentity(backend);
  const model = LlamaModel.load(backend, config, checkpoint.weights);
  let lora: Lora | null = null;
  try {
    const evalSet = encodeChatRows(options.evalRows, checkpoint.tokenizer, recipe.maxSeqLen, template);
    if (evalSet.examples.length === 0) throw new EngineInputError('the evaluation set has no row with a target token', { hint: 'check the eval file' });
    let trainTokens = 0;
    let trainSteps = 0;
    const trainStart = performance.now();
    if (options.adapter) lora = Lora.fromAdapter(backend, config, options.adapter);
    if (options.trainRows) {
      // canonical order: by row hash, so the order of rows in the file never changes a result
      const ordered = [...options.trainRows].sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
      const { examples } = encodeChatRows(ordered.map((r) => r.row), checkpoint.tokenizer, recipe.maxSeqLen, template);
      if (examples.length === 0) throw new EngineInputError('no training row has a target token', { hint: 'check the training file' });
      lora ??= Lora.create(backend, config, recipe.lora, seed);
      const result = await train({ model, lora, recipe, examples, seed, onStep: options.onTrainStep, turns, memoryBudget: options.memoryBudget });
      trainTokens = result.tokens;
      trainSteps = result.steps;
    }
    const evalStart = performance.now();
    const awayInTraining = turns.awayMs;
    const ev = await evaluate(model, evalSet.examples, lora ?? undefined, options.onEvalProgress, turns);
    const done = performance.now();
    const adapter = lora ? await lora.toAdapter(options.baseModel ?? checkpoint.hash) : null;
    return {
      evalLoss: ev.evalLoss,
      perExample: ev.perExample,
      droppedEval: evalSet.dropped,
      trainTokens,
      trainSteps,
      evalTokens: ev.tokens,
      seconds: (done - started - turns.awayMs) / 1000,
      trainSeconds: (evalStart - trainStart - awayInTraining) / 1000,
      evalSeconds: (done - evalStart - (turns.awayMs - awayInTraining)) / 1000,
      awaySeconds: turns.awayMs / 1000,
      receipt: {
        engine: 'flock-engine',
        engineVersion: ENGINE_VERSION,
        backend: backend.name,
        kernels: compute.kernels,
        device: compute.device,
        compute: compute.key,
        modelHash: checkpoint.hash,
        // an adapter given is trained on a dataset too (kept from an earlier run): only the base model has none
        datasetHash: options.trainRows || options.adapter ? options.datasetHash ?? null : null,
        evalSetHash: options.evalSetHash,
        recipeHash: stableHash(recipe),
        seed,
        adapterHash: adapter ? adapterHash(adapter) : null,
      },
      adapter,
    };
  } finally {
    lora?.free();
    model.free();
    if (ownBackend) backend.dispose();
  }
}
