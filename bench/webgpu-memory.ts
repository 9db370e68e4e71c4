/**
 * Peak device memory of LoRA training on the WebGPU backend at real sizes, on paper: memory.ts's
 * estimate of the buffer pool's peak (`peakAllocated`), whose rules test/engine/memory.test.ts
 * checks against measured peaks on lavapipe. No GPU needed.
 *
 *   npx tsx bench/webgpu-memory.ts                          # the two real recipes below
 *   npx tsx bench/webgpu-memory.ts --preset small --seq 256 --rank 8 --targets q_proj,v_proj
 *
 * The real recipes: Llama-3.2-1B with recipe v1 (512 tokens, r4 on q_proj/v_proj, dropout 0.1;
 * batch 1 × accumulation 8, which does not change the peak: one sequence at a time) against 8 GiB,
 * and Qwen2.5-1.5B-Instruct at 2 048 tokens with r16 on all seven projections against 24 GiB.
 * Each in every weight storage (f32; bf16 as a bf16 checkpoint is kept at f32 precision; f16 at
 * f16 precision) with every activation kept and with each layer recomputed in backward, then
 * evaluation. Prints one JSON line per row, sizes in GiB.
 */
import { estimateMemory, type MemoryEstimate, type WeightStorage } from '../src/engine/memory.js';
import { PRESETS, type PresetName } from '../src/engine/presets.js';
import { RECIPE_V1 } from '../src/protocol/recipe.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const GiB = 2 ** 30;
const ALL = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

interface Recipe {
  preset: PresetName;
  seqLen: number;
  lora: { rank: number; dropout: number; targets: string[] };
  /** The device size it must fit in, bytes. */
  budget?: number;
}

const custom = arg('preset');
const recipes: Recipe[] = custom
  ? [{
    preset: custom as PresetName,
    seqLen: Number(arg('seq') ?? 512),
    lora: { rank: Number(arg('rank') ?? 4), dropout: 0.1, targets: (arg('targets') ?? 'q_proj,v_proj').split(',') },
  }]
  : [
    { preset: 'llama-3.2-1b', seqLen: RECIPE_V1.maxSeqLen, lora: { ...RECIPE_V1.lora, targets: [...RECIPE_V1.lora.targets] }, budget: 8 * GiB },
    { preset: 'qwen2.5-1.5b-instruct', seqLen: 2048, lora: { rank: 16, dropout: 0.1, targets: ALL }, budget: 24 * GiB },
  ];

const gib = (b: number) => Number((b / GiB).toFixed(2));
const row = (e: MemoryEstimate) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, gib(v)]));

for (const r of recipes) {
  const config = PRESETS[r.preset];
  if (!config) throw new Error(`unknown preset ${r.preset}`);
  console.log(`# ${r.preset}, ${r.seqLen} tokens, LoRA r${r.lora.rank} on ${r.lora.targets.join(',')}: peak device memory (WebGPU pool), GiB${r.budget ? `, against ${gib(r.budget)} GiB` : ''}`);
  for (const weights of ['f32', 'bf16', 'f16'] as WeightStorage[]) {
    for (const phase of ['keep', 'recompute', 'eval'] as const) {
      const e = estimateMemory({ config, seqLen: r.seqLen, lora: r.lora, weights, phase: phase === 'eval' ? 'eval' : 'train', ...(phase === 'eval' ? {} : { activations: phase }) });
      console.log(JSON.stringify({
        preset: r.preset, seq: r.seqLen, weights, run: phase === 'eval' ? 'evaluation' : `training, activations ${phase}`,
        ...row(e), ...(r.budget ? { fits: e.total <= r.budget } : {}),
      }));
    }
  }
}
