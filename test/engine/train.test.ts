/**
 * Training against an independent trainer: test/engine/oracle/llama_torch.py's `train` mode, plain
 * PyTorch in float64 with torch.optim.AdamW, torch.nn.utils.clip_grad_norm_ and a LambdaLR with
 * transformers' linear warm-up-then-decay factor. Both start from the same PEFT adapter (the
 * engine's own initialisation: A Kaiming-uniform, B = 0) and see the examples in the same order
 * (the engine's per-epoch shuffle, given to the oracle as data); then every step's objective, every
 * step's gradient norm, every final adapter tensor and the eval losses after training must agree.
 * Needs python3 with torch (Debian: python3-torch; scripts/test.sh installs it).
 *
 * The model: a tiny Llama with grouped-query attention (4 heads, 2 KV heads) and an UNTIED lm head,
 * written to disk in F32 (so the oracle reads exactly the engine's weights); LoRA on all seven
 * projections. Then the same for the tiny Qwen2 preset (q/k/v biases, untied head) trained on
 * rows rendered with the ChatML template (a recipe with `chatTemplate: "chatml"`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.js';
import { loadAdapter, loraTensorName, saveAdapter, PEFT_PREFIX } from '../../src/engine/adapter.js';
import { toHfConfigJson, type LlamaConfig } from '../../src/engine/config.js';
import { Lora } from '../../src/engine/lora.js';
import { PRESETS, byteLevelTokenizerJson, initPresetWeights, qwen2ByteLevelTokenizerJson } from '../../src/engine/presets.js';
import { deriveKey, shuffle, STREAM_SHUFFLE } from '../../src/engine/prng.js';
import { adapterHash, runEvaluation } from '../../src/engine/run.js';
import { writeSafetensors } from '../../src/engine/safetensors.js';
import { encodeChatRows } from '../../src/engine/template.js';
import { tokenizerFromJson, type ChatTokenizer } from '../../src/engine/tokenizer.js';
import { train as trainModel, type TrainProgress } from '../../src/engine/train.js';
import { LlamaModel } from '../../src/engine/llama.js';
import { benchSequences } from '../../src/engine/benchmark.js';
import { estimateMemory } from '../../src/engine/memory.js';
import { chatTemplateOf, recipeSchema, type Recipe, type RecipeInput } from '../../src/protocol/recipe.js';
import { randomChatRows, runOracle } from './oracle/oracle.js';

const ALL_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

const be = new CpuBackend({ threads: 2 });

/** A model both trainers see: its config, weights (in memory and in a folder), tokenizer. */
interface Setup {
  name: string;
  config: LlamaConfig;
  tokenizer: ChatTokenizer;
  weights: Map<string, { shape: number[]; data: Float32Array }>;
  checkpoint: { config: LlamaConfig; weights: { get(n: string): { shape: number[]; data: Float32Array } }; tokenizer: ChatTokenizer; hash: string };
}

function setup(name: string, config: LlamaConfig, seed: number, tokenizer: ChatTokenizer): Setup {
  const weights = initPresetWeights(config, seed);
  expect(weights.has('lm_head.weight')).toBe(true);
  return { name, config, tokenizer, weights, checkpoint: { config, weights: { get: (n: string) => weights.get(n)! }, tokenizer, hash: `${name}-${seed}` } };
}

/** The tiny preset's shape with its own lm head (GQA: 4 query heads over 2 KV heads). */
const llama = setup('tiny-untied', { ...PRESETS.tiny, tieWordEmbeddings: false }, 17, tokenizerFromJson(byteLevelTokenizerJson()));
/** The tiny Qwen2 preset: q/k/v biases, untied head, ChatML tokenizer. */
const qwen2 = setup('qwen2-tiny', PRESETS['qwen2-tiny'], 19, tokenizerFromJson(qwen2ByteLevelTokenizerJson()));
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flock-train-'));
  for (const s of [llama, qwen2]) {
    mkdirSync(join(dir, s.name));
    writeFileSync(join(dir, s.name, 'config.json'), JSON.stringify(toHfConfigJson(s.config)));
    writeSafetensors(join(dir, s.name, 'model.safetensors'), new Map([...s.weights].map(([n, t]) => [n, { dtype: 'F32' as const, ...t }])));
  }
});
afterAll(() => {
  be.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const rows = (n: number, seed: number) => randomChatRows(n, seed, { user: [5, 15], assistant: [5, 25] });

const sequences = (examples: readonly { ids: Int32Array; labels: Int32Array }[]) =>
  examples.map((e) => ({ ids: Array.from(e.ids), labels: Array.from(e.labels) }));

interface OracleTrain {
  losses: number[];
  gradNorms: number[];
  lrs: number[];
  totalSteps: number;
  warmupSteps: number;
  adapter: Record<string, number[]>;
  evalPerExample: number[];
}

function oracleTrain(s: Setup, request: unknown): OracleTrain {
  return runOracle<OracleTrain>('train', join(dir, s.name), dir, request);
}

/** The recipe as the oracle reads it: warm-up as steps or as a ratio, never both. */
function oracleRecipe(recipe: Recipe): Record<string, unknown> {
  const { batchSize, gradientAccumulation, epochs, gradClip, optimizer, lora } = recipe;
  const warm = recipe.warmupRatio !== undefined ? { warmupRatio: recipe.warmupRatio } : { warmupSteps: recipe.warmupSteps };
  return { batchSize, gradientAccumulation, epochs, gradClip, optimizer, lora, ...warm };
}

interface Compared {
  recipe: Recipe;
  engine: { losses: number[]; gradNorms: number[]; lrs: number[]; evalLoss: number; perExample: number[] };
  oracle: OracleTrain;
  /** max |engine − oracle| over every element of every adapter tensor, and where it is. */
  adapterMaxAbs: number;
  adapterWorst: string;
  /** max |final − initial| over every adapter element (how far training moved the adapter). */
  moved: number;
}

/** Train the same adapter with the engine and with the oracle, on the same data in the same order. */
async function trainBoth(s: Setup, input: RecipeInput, trainCount: number, seed: number): Promise<Compared> {
  const { config, checkpoint, tokenizer } = s;
  const recipe = recipeSchema.parse(input);
  const template = chatTemplateOf(recipe);
  expect(recipe.lora.dropout).toBe(0); // the oracle cannot draw the engine's dropout masks
  const trainRows = rows(trainCount, seed).map((row, i) => ({ row, hash: String(i).padStart(4, '0') }));
  const evalRows = rows(4, seed + 1000);

  // the engine's own initial adapter (A Kaiming-uniform, B = 0) in PEFT format: both start from it
  const init = Lora.create(be, config, recipe.lora, seed);
  const initial = await init.toAdapter(s.name);
  init.free();
  const adapterDir = join(dir, `init-${seed}`);
  saveAdapter(adapterDir, initial, config);

  const steps: TrainProgress[] = [];
  const ours = await runEvaluation({
    checkpoint, recipe, evalRows, evalSetHash: 'e', seed, backend: be,
    adapter: loadAdapter(adapterDir, config), trainRows, onTrainStep: (p) => steps.push(p),
  });

  // what train.ts sees: the rows in canonical order (by hash: already so here), shuffled per epoch
  const { examples } = encodeChatRows(trainRows.map((r) => r.row), tokenizer, recipe.maxSeqLen, template);
  expect(examples).toHaveLength(trainCount);
  const order = Array.from({ length: recipe.epochs }, (_, epoch) => shuffle(examples.map((_, i) => i), deriveKey(seed, STREAM_SHUFFLE, epoch)));
  const evalSet = encodeChatRows(evalRows, tokenizer, recipe.maxSeqLen, template);
  const theirs = oracleTrain(s, {
    adapter: adapterDir, sequences: sequences(examples), order, recipe: oracleRecipe(recipe),
    evalSequences: sequences(evalSet.examples), threads: 2,
  });

  const names = [...ours.adapter!.weights.keys()].sort();
  expect(names).toHaveLength(2 * config.numLayers * ALL_TARGETS.length); // A and B of every projection
  expect(names.map((n) => PEFT_PREFIX + n)).toEqual(Object.keys(theirs.adapter).sort());
  let adapterMaxAbs = 0;
  let adapterWorst = '';
  let moved = 0;
  for (const name of names) {
    const a = ours.adapter!.weights.get(name)!.data;
    const b = theirs.adapter[PEFT_PREFIX + name]!;
    const a0 = initial.weights.get(name)!.data;
    expect(a.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) {
      moved = Math.max(moved, Math.abs(b[i]! - a0[i]!));
      const d = Math.abs(a[i]! - b[i]!);
      if (d > adapterMaxAbs) {
        adapterMaxAbs = d;
        adapterWorst = `${name}[${i}]: engine ${a[i]}, torch ${b[i]}`;
      }
    }
  }
  return {
    recipe, oracle: theirs, adapterMaxAbs, adapterWorst, moved,
    engine: {
      losses: steps.map((p) => p.loss), gradNorms: steps.map((p) => p.gradNorm), lrs: steps.map((p) => p.lr),
      evalLoss: ours.evalLoss, perExample: ours.perExample,
    },
  };
}

/**
 * Tolerances. The engine computes in float32, the oracle in float64.
 *  - Losses (every step's objective, each eval example, their mean) and gradient norms: 1e-5
 *    relative. Measured: ≤ 3e-8 on losses, ≤ 1.1e-7 on norms. A float32 forward over ≤ 100 tokens
 *    and a 512-word vocabulary rounds at ~1e-7; 1e-5 leaves room for other summation orders
 *    (kernel variants) while a wrong step anywhere shows: running every step at the base lr (the
 *    bug fixed in 81f86a0) moves the losses by ~1e-1 relative, dropping weight decay by ~2e-4.
 *  - Adapter elements: 1e-3·lr absolute, a thousandth of one full Adam step. Measured: ≤ 3e-7
 *    (≤ 2e-5·lr). The constant-lr bug misses by ~6·lr, dropping clipping by ≥ 0.35·lr, dropping
 *    weight decay by ≥ 0.02·lr. Why this bound holds: Adam moves an element by
 *    lr·m̂/(√v̂ + eps), which ignores the relative error of g (float32 vs float64) when |g| ≫ eps;
 *    but where |g| is near 0 that error is amplified up to an O(lr) difference (B starts at 0, so
 *    B's first move is lr·sign(g)). The cases bound the amplification by making eps not negligible
 *    against the gradients: clipping fixes the global norm (every step is clipped, asserted below),
 *    so the typical |g| is clip/√(parameters): 0.05/√8192 ≈ 5.5e-4 in the first case, 1/√4096 ≈
 *    1.6e-2 in the second, with eps 1e-5 and 3e-4, i.e. 1/55 and 1/50 of it. An element with
 *    |g| ≲ eps then moves by about lr·g/eps, and a float32 gradient error δg ≈ 1e-6·|g|typical
 *    shifts its update by at most lr·δg/eps ≈ 5e-5·lr per step: under the bound even summed over
 *    every step. Step 0 is in warm-up (lr 0) in both cases, so B's sign-like first move comes
 *    after the moments have seen two gradients.
 */
const LOSS_RTOL = 1e-5;
const ADAPTER_ATOL_PER_LR = 1e-3;

function expectAgreement(c: Compared, trainCount: number): void {
  const { recipe, engine, oracle } = c;
  const total = recipe.epochs * Math.ceil(trainCount / (recipe.batchSize * recipe.gradientAccumulation));
  expect(oracle.totalSteps).toBe(total);
  expect(engine.losses).toHaveLength(total);
  const rel = (x: number, y: number) => Math.abs(x - y) / Math.abs(y);
  // the schedule both ran: 0 at step 0, up to the base lr at the end of warm-up, then down
  engine.lrs.forEach((lr, s) => expect(Math.abs(lr - oracle.lrs[s]!), `lr at step ${s}`).toBeLessThanOrEqual(1e-12 * recipe.optimizer.lr));
  expect(oracle.lrs[0]).toBe(0);
  expect(oracle.lrs[oracle.warmupSteps]).toBeCloseTo(recipe.optimizer.lr, 12);
  expect(oracle.lrs.at(-1)!).toBeLessThan(recipe.optimizer.lr / 2);
  // clipping is active: on every step here, which also fixes the gradients' scale (see above)
  expect(oracle.gradNorms.filter((n) => n > recipe.gradClip)).toHaveLength(total);
  engine.gradNorms.forEach((n, s) => expect(rel(n, oracle.gradNorms[s]!), `grad norm at step ${s}: ours ${n}, torch ${oracle.gradNorms[s]}`).toBeLessThan(LOSS_RTOL));
  engine.losses.forEach((l, s) => expect(rel(l, oracle.losses[s]!), `objective at step ${s}: ours ${l}, torch ${oracle.losses[s]}`).toBeLessThan(LOSS_RTOL));
  const atol = ADAPTER_ATOL_PER_LR * recipe.optimizer.lr;
  expect(c.moved, 'training moved the adapter far beyond the tolerance').toBeGreaterThan(100 * atol);
  expect(c.adapterMaxAbs, `largest adapter difference ${c.adapterWorst}`).toBeLessThan(atol);
  expect(engine.perExample).toHaveLength(oracle.evalPerExample.length);
  engine.perExample.forEach((l, i) => expect(rel(l, oracle.evalPerExample[i]!), `eval example ${i}: ours ${l}, torch ${oracle.evalPerExample[i]}`).toBeLessThan(LOSS_RTOL));
  const mean = oracle.evalPerExample.reduce((a, b) => a + b, 0) / oracle.evalPerExample.length;
  expect(rel(engine.evalLoss, mean)).toBeLessThan(LOSS_RTOL);
}

describe('train', () => {
  it('matches the PyTorch trainer step by step: batches of 2, accumulation 2, short last steps, warm-up steps then decay, weight decay, clipping', async () => {
    // 11 examples, 4 per step: steps of 4, 4 and 3 examples per epoch, 9 steps in all (3 of warm-up)
    const trainCount = 11;
    const c = await trainBoth(llama, {
      epochs: 3, batchSize: 2, gradientAccumulation: 2, warmupSteps: 3, maxSeqLen: 96, gradClip: 0.05,
      optimizer: { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-5, weightDecay: 0.1 },
      lora: { rank: 4, alpha: 8, dropout: 0, targets: [...ALL_TARGETS] },
    }, trainCount, 5);
    expect(c.oracle.warmupSteps).toBe(3);
    expectAgreement(c, trainCount);
  });

  it('matches the PyTorch trainer with warmupRatio (ceil of the share of all steps), batches of 3 and a one-example last step', async () => {
    // 7 examples, 3 per step: steps of 3, 3 and 1 example per epoch, 6 steps; warm-up ceil(0.25·6) = 2
    const trainCount = 7;
    const c = await trainBoth(llama, {
      epochs: 2, batchSize: 3, gradientAccumulation: 1, warmupRatio: 0.25, maxSeqLen: 96, gradClip: 1,
      optimizer: { lr: 2e-2, eps: 3e-4, weightDecay: 0.05 },
      lora: { rank: 2, alpha: 4, dropout: 0, targets: [...ALL_TARGETS] },
    }, trainCount, 9);
    expect(c.oracle.warmupSteps).toBe(2);
    expectAgreement(c, trainCount);
  });

  it('Qwen2 with the chatml template: matches the PyTorch trainer step by step (LoRA on q/k/v on top of the frozen biases, and every other projection)', async () => {
    // 9 examples, 4 per step: steps of 4, 4 and 1 per epoch, 6 steps (2 of warm-up)
    const trainCount = 9;
    const c = await trainBoth(qwen2, {
      chatTemplate: 'chatml', epochs: 2, batchSize: 2, gradientAccumulation: 2, warmupSteps: 2, maxSeqLen: 160, gradClip: 0.05,
      optimizer: { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-5, weightDecay: 0.1 },
      lora: { rank: 4, alpha: 8, dropout: 0, targets: [...ALL_TARGETS] },
    }, trainCount, 13);
    expect(c.oracle.warmupSteps).toBe(2);
    expectAgreement(c, trainCount);
  });
});

describe('train: activation recomputation', () => {
  /** Trains a fresh adapter on the tiny Llama (untied head, LoRA on all seven projections, dropout on). */
  async function trainWith(options: { activations?: 'keep' | 'recompute'; memoryBudget?: number }) {
    const model = LlamaModel.load(be, llama.config, llama.checkpoint.weights);
    const recipe = recipeSchema.parse({ epochs: 2, gradientAccumulation: 2, warmupSteps: 1, maxSeqLen: 48, lora: { rank: 4, dropout: 0.1, targets: [...ALL_TARGETS] }, optimizer: { lr: 1e-2 } });
    const lora = Lora.create(be, llama.config, recipe.lora, 5);
    const examples = benchSequences(5, 40, 3);
    const result = await trainModel({ model, lora, recipe, examples, seed: 11, ...options });
    const adapter = await lora.toAdapter('tiny');
    lora.free();
    model.free();
    return { result, adapter };
  }

  it('recomputing every layer in backward gives a bit-identical adapter and losses on the cpu', async () => {
    const kept = await trainWith({ activations: 'keep' });
    const again = await trainWith({ activations: 'recompute' });
    expect(kept.result.activations).toBe('keep');
    expect(again.result.activations).toBe('recompute');
    expect(again.result.losses).toEqual(kept.result.losses);
    expect(kept.result.losses[kept.result.losses.length - 1]).toBeLessThan(kept.result.losses[0]!); // it trained
    expect(adapterHash(again.adapter)).toBe(adapterHash(kept.adapter));
    const b = kept.adapter.weights.get(loraTensorName(0, 'down_proj', 'B'))!.data;
    expect(b.some((v) => v !== 0)).toBe(true);
  });

  it('chooses recomputation itself when keeping every activation would exceed the memory budget', async () => {
    const plan = { config: llama.config, seqLen: 40, lora: { rank: 4, dropout: 0.1, targets: [...ALL_TARGETS] }, weights: 'f32' as const, phase: 'train' as const };
    const keepBytes = estimateMemory({ ...plan, activations: 'keep' }).total;
    const roomy = await trainWith({ memoryBudget: keepBytes });
    const tight = await trainWith({ memoryBudget: keepBytes - 1 });
    expect(roomy.result.activations).toBe('keep');
    expect(tight.result.activations).toBe('recompute');
    expect(adapterHash(tight.adapter)).toBe(adapterHash(roomy.adapter));
  });
});
