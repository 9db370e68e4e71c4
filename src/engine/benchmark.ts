/**
 * The engine benchmark behind `flock bench engine` and bench/engine.ts: recipe v1 LoRA training
 * (rank 4 on q_proj/v_proj, dropout 0.1, AdamW, batch 1, accumulation 8) on a preset model built in
 * memory, on fixed-length sequences, then evaluation; tokens per second for each and peak RSS.
 */
import type { Recipe } from '../protocol/recipe.js';
import { recipeSchema } from '../protocol/recipe.js';
import { CpuBackend } from './backend/cpu/cpu-backend.js';
import { createBackend, type BackendKind, type Precision } from './backend/select.js';
import { WebGpuBackend } from './backend/webgpu/backend.js';
import { silentLogger, type Logger } from '../util/log.js';
import type { LlamaConfig } from './config.js';
import { LlamaModel } from './llama.js';
import { Lora, type LoraOptions } from './lora.js';
import { estimateMemory, type WeightStorage } from './memory.js';
import { evaluate } from './evaluate.js';
import { presetTensorGenerators, PRESETS, type PresetName } from './presets.js';
import { Stream } from './prng.js';
import { train, type TrainExample } from './train.js';
import { computeIdentity } from './run.js';

export interface EngineBenchOptions {
  /** `llama-3.2-1b` has the real model's shapes with random weights (no download). */
  preset: PresetName;
  seqLen: number;
  accumulation: number;
  /** Optimizer steps to time (each of `accumulation` sequences). */
  steps: number;
  /** Sequences to evaluate. */
  evalSequences: number;
  threads?: number;
  /** Backend kind (default cpu). */
  backend?: BackendKind;
  /** WebGPU compute precision (default: FLOCK_WEBGPU_PRECISION, else f32). */
  precision?: Precision;
  /** Where the backend choice is logged. */
  log?: Logger;
}

export interface EngineBenchResult {
  preset: string;
  backend: string;
  threads: number;
  seqLen: number;
  accumulation: number;
  trainTokens: number;
  trainSeconds: number;
  trainTokensPerSecond: number;
  evalTokens: number;
  evalSeconds: number;
  evalTokensPerSecond: number;
  peakRssBytes: number;
  /** RSS before the model was built (Node, V8 heaps of the threads, code): peak − baseline is the engine's own. */
  baselineRssBytes: number;
  /** Training's peak on paper (estimateBytes): weights, activations of one sequence, LoRA state, workspace. */
  modelBytes: number;
  trainLoss: number;
  /** WebGPU only: peak bytes held by the device buffer pool. */
  peakGpuBytes?: number;
  /** What computed it: the compute identity's key (backend, kernel variants, precision, device). */
  compute: string;
}

/** Deterministic benchmark sequences: random byte tokens, targets on the second half. */
export function benchSequences(n: number, T: number, seed: number): TrainExample[] {
  const s = new Stream(seed);
  return Array.from({ length: n }, () => {
    const ids = Int32Array.from({ length: T }, () => s.nextInt(256));
    const labels = Int32Array.from({ length: T }, (_, t) => (t >= T / 2 && t < T - 1 ? ids[t + 1]! : -100));
    return { ids, labels, targets: labels.filter((l) => l >= 0).length };
  });
}

/**
 * Bytes a training run of `T`-token sequences needs on paper: memory.ts's estimate of the WebGPU
 * pool's peak (frozen weights with their norms and biases, RoPE tables, LoRA weights, gradients
 * and AdamW moments, every activation kept for backward, logits and their gradient, one layer's
 * backward temporaries), frozen weights stored as `weights` says (the benchmark's are f32).
 */
export function estimateBytes(c: LlamaConfig, T: number, lora: LoraOptions, weights: WeightStorage = 'f32'): number {
  return estimateMemory({ config: c, seqLen: T, lora, weights, phase: 'train', activations: 'keep' }).total;
}

/**
 * Run the benchmark.
 *
 * @example
 * const r = await benchmarkEngine({ preset: 'small', seqLen: 256, accumulation: 8, steps: 2, evalSequences: 8 });
 */
export async function benchmarkEngine(options: EngineBenchOptions): Promise<EngineBenchResult> {
  const config = PRESETS[options.preset];
  const backend = await createBackend(options.backend ?? 'cpu', options.log ?? silentLogger, { threads: options.threads, ...(options.precision ? { precision: options.precision } : {}) });
  if (backend instanceof CpuBackend) await backend.ready();
  const baselineRssBytes = process.memoryUsage().rss;
  try {
    // Tensors are made one at a time as the model uploads them, so the 1B shape never holds a host copy of all weights.
    const generators = presetTensorGenerators(config, 0);
    const model = LlamaModel.load(backend, config, {
      get: (n) => {
        const g = generators.get(n)!;
        return { shape: g.shape, data: g.make() };
      },
    });
    const recipe: Recipe = recipeSchema.parse({ gradientAccumulation: options.accumulation, epochs: 1, maxSeqLen: options.seqLen });
    const lora = Lora.create(backend, config, recipe.lora, 1);
    // warm-up (JIT, worker start): one sequence forward and backward, not timed
    const warm = benchSequences(1, options.seqLen, 99)[0]!;
    const acts = model.forward(warm.ids, warm.labels, { lora, train: true });
    model.backward(acts, new Float32Array(options.seqLen));
    model.release(acts);
    const trainSet = benchSequences(options.steps * options.accumulation, options.seqLen, 1);
    let t0 = performance.now();
    const tr = await train({ model, lora, recipe, examples: trainSet, seed: 1 });
    const trainSeconds = (performance.now() - t0) / 1000;
    const evalSet = benchSequences(options.evalSequences, options.seqLen, 2);
    t0 = performance.now();
    const ev = await evaluate(model, evalSet, lora);
    const evalSeconds = (performance.now() - t0) / 1000;
    const result: EngineBenchResult = {
      preset: options.preset,
      backend: backend.name,
      threads: backend instanceof CpuBackend ? backend.threads : 0,
      seqLen: options.seqLen,
      accumulation: options.accumulation,
      trainTokens: tr.tokens,
      trainSeconds,
      trainTokensPerSecond: tr.tokens / trainSeconds,
      evalTokens: ev.tokens,
      evalSeconds,
      evalTokensPerSecond: ev.tokens / evalSeconds,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      baselineRssBytes,
      modelBytes: estimateBytes(config, options.seqLen, recipe.lora),
      trainLoss: tr.losses[tr.losses.length - 1] ?? NaN,
      ...(backend instanceof WebGpuBackend ? { peakGpuBytes: backend.memory().peakAllocated } : {}),
      compute: computeIdentity(backend).key,
    };
    lora.free();
    model.free();
    return result;
  } finally {
    backend.dispose();
  }
}
