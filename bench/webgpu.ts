/**
 * WebGPU engine benchmark: LoRA training (recipe v1 shape: r4 on q,v, batch 1, one optimizer step
 * per 8 micro-steps) and evaluation throughput on a preset's shapes with random weights (no
 * download), beside the CPU backend where that is practical.
 *
 *   npx tsx bench/webgpu.ts [--preset small|llama-3.2-1b] [--seq 256] [--steps 8] [--backend webgpu|cpu|both] [--bf16]
 *                           [--precision f32|f16|both]
 *
 * WebGPU runs once per precision (default both: f32, then f16 — f16 matrix-product inputs, f32
 * accumulation). FLOCK_WEBGPU_MATMUL=subgroup-matrix adds the tensor-core kernel where the
 * adapter has one and it passes its self-check (the row's `compute` says which ran).
 *
 * Prints tokens/s for training and evaluation, the achieved TFLOP/s (matmul + attention FLOPs the
 * pass really does: LoRA training backpropagates through every frozen layer but computes no
 * frozen-weight gradients), and peak device memory held by the WebGPU buffer pool. Figures only,
 * no assertions. On lavapipe (a CPU) the numbers only show that it runs. With
 * FLOCK_WEBGPU_PROFILE=1 it also prints the GPU time of each kernel (timestamp queries).
 */
import type { Backend, Tensor } from '../src/engine/backend/backend.js';
import { CpuBackend } from '../src/engine/backend/cpu/cpu-backend.js';
import { createWebGpuBackend, WebGpuBackend } from '../src/engine/backend/webgpu/backend.js';
import { adapterName } from '../src/engine/backend/webgpu/device.js';
import { formatBytes } from '../src/engine/backend/webgpu/runtime.js';
import type { LlamaConfig } from '../src/engine/config.js';
import { LlamaModel, type LlamaWeights } from '../src/engine/llama.js';
import { Lora } from '../src/engine/lora.js';
import { PRESETS } from '../src/engine/presets.js';
import { deriveKey, Stream, STREAM_DROPOUT } from '../src/engine/prng.js';
import { errorMessage } from '../src/util/errors.js';
import type { Precision } from '../src/engine/backend/webgpu/precision.js';
import { computeIdentity } from '../src/engine/run.js';
import { createLogger } from '../src/util/log.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const presetName = arg('preset', 'small') as 'small' | 'llama-3.2-1b';
const T = Number(arg('seq', '256'));
const steps = Number(arg('steps', '8'));
const which = arg('backend', 'both');
const bf16 = process.argv.includes('--bf16');
const precisions = (arg('precision', 'both') === 'both' ? ['f32', 'f16'] : [arg('precision', 'f32')]) as Precision[];
const ACCUMULATION = 8;

const config: LlamaConfig = { ...PRESETS[presetName], maxPositionEmbeddings: Math.max(T, 64) };

/** Random weights made tensor by tensor (never the whole model on the host); bf16 on WebGPU if asked. */
function randomWeights(be: Backend): LlamaWeights {
  const s = new Stream(1);
  const make = (shape: number[], std: number, constant?: number): Tensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = constant ?? (s.next() * 2 - 1) * std * 1.732;
    if (bf16 && be instanceof WebGpuBackend && constant === undefined) {
      const bits = new Uint16Array(n);
      const u = new Uint32Array(data.buffer);
      for (let i = 0; i < n; i++) bits[i] = u[i]! >>> 16;
      return be.fromBf16(bits, shape);
    }
    return be.fromArray(data, shape);
  };
  const { hiddenSize: H, intermediateSize: F, numHeads: NH, numKvHeads: KV, headDim: D, vocabSize: V } = config;
  const std = 0.02;
  const embed = make([V, H], std);
  const layers = Array.from({ length: config.numLayers }, () => ({
    inputNorm: make([H], 0, 1), q: make([NH * D, H], std), k: make([KV * D, H], std), v: make([KV * D, H], std),
    o: make([H, NH * D], std), postNorm: make([H], 0, 1), gate: make([F, H], std), up: make([F, H], std), down: make([H, F], std),
  }));
  return { embed, layers, norm: make([H], 0, 1), lmHead: config.tieWordEmbeddings ? embed : make([V, H], std) };
}

/** FLOPs of one forward pass over T tokens: every linear layer, attention's two products (causal half). */
function forwardFlops(): { linear: number; attention: number } {
  const { hiddenSize: H, intermediateSize: F, numHeads: NH, numKvHeads: KV, headDim: D, vocabSize: V, numLayers: L } = config;
  const perLayer = H * NH * D + 2 * H * KV * D + NH * D * H + 3 * H * F;
  const linear = 2 * T * (L * perLayer + V * H);
  const attention = L * 2 * 2 * NH * D * (T * (T + 1)) / 2;
  return { linear, attention };
}

async function bench(be: Backend, label: string): Promise<void> {
  const t0 = performance.now();
  const model = new LlamaModel(be, config, randomWeights(be));
  const lora = Lora.create(be, config, { rank: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'v_proj'] }, 7);
  const params = lora.parameters();
  const moments = params.map(({ param }) => ({ m: be.zeros(param.shape), v: be.zeros(param.shape) }));
  const s = new Stream(3);
  const ids = Int32Array.from({ length: T }, () => s.nextInt(Math.min(config.vocabSize, 256)));
  const labels = Int32Array.from({ length: T }, (_, t) => (t < T - 1 ? ids[t + 1]! : -100));
  const dl = Float32Array.from(labels, (v) => (v >= 0 ? 1 / ((T - 1) * ACCUMULATION) : 0));
  const setup = (performance.now() - t0) / 1000;

  const trainStep = async (step: number) => {
    const acts = model.forward(ids, labels, { lora, train: true, dropoutKey: deriveKey(1, STREAM_DROPOUT, step) });
    await be.read(acts.losses); // a real loop reads the loss every micro-step
    model.backward(acts, dl);
    model.release(acts);
    if (step % ACCUMULATION === 0) {
      params.forEach(({ param, grad }, i) => be.adamwUpdate(param, grad, moments[i]!.m, moments[i]!.v, { lr: 2e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: step / ACCUMULATION }));
      lora.zeroGrad();
    }
  };
  await trainStep(1); // warm-up: compiles pipelines, fills the buffer pool
  const buffersBefore = be instanceof WebGpuBackend ? be.memory().buffersCreated : 0;
  let start = performance.now();
  for (let i = 0; i < steps; i++) await trainStep(i + 2);
  const trainSeconds = (performance.now() - start) / 1000;

  const evalStep = async () => {
    const acts = model.forward(ids, labels, { lora });
    await be.read(acts.losses);
    model.release(acts);
  };
  await evalStep();
  start = performance.now();
  for (let i = 0; i < steps; i++) await evalStep();
  const evalSeconds = (performance.now() - start) / 1000;

  const f = forwardFlops();
  const trainFlops = 2 * f.linear + 3 * f.attention; // forward + input gradients through frozen layers + attention backward
  const evalFlops = f.linear + f.attention;
  const mem = be instanceof WebGpuBackend ? be.memory() : null;
  const row = {
    backend: label,
    preset: presetName,
    seq: T,
    trainTokensPerSecond: Math.round((steps * T) / trainSeconds),
    evalTokensPerSecond: Math.round((steps * T) / evalSeconds),
    trainTflops: Number(((steps * trainFlops) / trainSeconds / 1e12).toFixed(4)),
    evalTflops: Number(((steps * evalFlops) / evalSeconds / 1e12).toFixed(4)),
    peakGpuMemory: mem ? formatBytes(mem.peakAllocated) : undefined,
    // device allocations after the warm-up step (the pool should make this 0 for training)
    gpuBuffersCreatedAfterWarmup: mem ? mem.buffersCreated - buffersBefore : undefined,
    peakRss: formatBytes(process.resourceUsage().maxRSS * 1024),
    setupSeconds: Number(setup.toFixed(1)),
    compute: computeIdentity(be).key,
  };
  console.log(JSON.stringify(row));
  const kernels = be instanceof WebGpuBackend ? await be.runtime.profile() : null;
  if (kernels) {
    // FLOCK_WEBGPU_PROFILE=1: GPU time per kernel over the whole run (warm-up, train and eval)
    const total = kernels.reduce((a, k) => a + k.ms, 0);
    for (const k of kernels.slice(0, 15)) console.log(`#   ${k.key.padEnd(34)} ${k.ms.toFixed(1).padStart(10)} ms ${(100 * k.ms / total).toFixed(1).padStart(5)}% ${k.calls} calls`);
  }
  for (const { m, v } of moments) { be.free(m); be.free(v); }
  lora.free();
  model.free();
}

console.log(`# preset ${presetName}, sequence ${T}, ${steps} timed steps, LoRA r4 on q,v${bf16 ? ', frozen weights bf16 on webgpu' : ''}`);
for (const precision of which === 'webgpu' || which === 'both' ? precisions : []) {
  let gpu: WebGpuBackend | undefined;
  try {
    gpu = await createWebGpuBackend(createLogger({ level: 'warning' }), { precision });
    console.log(`# webgpu adapter: ${adapterName(gpu.adapter)}, shader-f16 ${gpu.adapter.shaderF16}, max binding ${formatBytes(gpu.adapter.maxStorageBufferBindingSize)}, subgroup-matrix configs ${JSON.stringify(gpu.adapter.subgroupMatrixConfigs)}`);
    await bench(gpu, `webgpu ${gpu.precision}`);
  } catch (err) {
    console.log(`# webgpu ${precision}: ${errorMessage(err)}`);
  } finally {
    gpu?.dispose();
  }
}
if (which === 'cpu' || which === 'both') {
  const cpu = new CpuBackend();
  try {
    await bench(cpu, `cpu (${cpu.threads} threads)`);
  } finally {
    cpu.dispose();
  }
}
