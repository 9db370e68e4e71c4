import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  adapterConfigJson, loadAdapter, loraTensorName, projectionDims, saveAdapter, type Adapter, type LoraTarget,
} from '../../src/engine/adapter.js';
import { PRESETS } from '../../src/engine/presets.js';
import { readSafetensorsHeader, writeSafetensors, numberToBf16Bits, type TensorToWrite } from '../../src/engine/safetensors.js';
import { errorOf } from '../helpers/errors.js';

const root = mkdtempSync(join(tmpdir(), 'flock-adapter-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const cfg = PRESETS.tiny;

function makeAdapter(targets: LoraTarget[] = ['q_proj', 'v_proj'], r = 4): Adapter {
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  let k = 0;
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    for (const m of targets) {
      const { inFeatures, outFeatures } = projectionDims(cfg, m);
      weights.set(loraTensorName(layer, m, 'A'), { shape: [r, inFeatures], data: new Float32Array(r * inFeatures).map(() => Math.sin(k++)) });
      weights.set(loraTensorName(layer, m, 'B'), { shape: [outFeatures, r], data: new Float32Array(outFeatures * r).map(() => Math.cos(k++)) });
    }
  }
  return { r, alpha: 8, dropout: 0.1, targetModules: targets, baseModel: 'meta-llama/Llama-3.2-1B', weights };
}

describe('PEFT adapters', () => {
  it('names tensors as PEFT does', () => {
    expect(loraTensorName(3, 'q_proj', 'A')).toBe('model.layers.3.self_attn.q_proj.lora_A.weight');
    expect(loraTensorName(0, 'down_proj', 'B')).toBe('model.layers.0.mlp.down_proj.lora_B.weight');
    expect(projectionDims(PRESETS['llama-3.2-1b'], 'v_proj')).toEqual({ inFeatures: 2048, outFeatures: 512 });
  });

  it('round-trips exactly in PEFT layout', () => {
    const dir = join(root, 'rt');
    const a = makeAdapter();
    saveAdapter(dir, a, cfg);
    const json = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    expect(json).toMatchObject({
      peft_type: 'LORA', r: 4, lora_alpha: 8, lora_dropout: 0.1, target_modules: ['q_proj', 'v_proj'], bias: 'none',
      task_type: 'CAUSAL_LM', fan_in_fan_out: false, base_model_name_or_path: 'meta-llama/Llama-3.2-1B', use_rslora: false, use_dora: false,
    });
    const header = readSafetensorsHeader(join(dir, 'adapter_model.safetensors'));
    expect(header.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')).toMatchObject({ dtype: 'F32', shape: [4, 64] });
    expect(header.tensors.get('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight')).toMatchObject({ dtype: 'F32', shape: [32, 4] });
    expect(header.tensors.size).toBe(8);

    const b = loadAdapter(dir, cfg);
    expect({ ...b, weights: undefined }).toEqual({ ...a, weights: undefined });
    expect([...b.weights.keys()].sort()).toEqual([...a.weights.keys()].sort());
    for (const [name, t] of a.weights) {
      expect(b.weights.get(name)!.shape).toEqual(t.shape);
      expect(Buffer.from(b.weights.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer))).toBe(true);
    }
  });

  it('loads an adapter written by PEFT (extra config fields, BF16 tensors, full names)', () => {
    const dir = join(root, 'peft');
    mkdirSync(dir);
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...adapterConfigJson({ ...makeAdapter(['q_proj']), baseModel: 'x' }), some_future_field: 1, r: 2 }));
    const tensors = new Map<string, TensorToWrite>();
    for (let layer = 0; layer < 2; layer++) {
      tensors.set(`base_model.model.model.layers.${layer}.self_attn.q_proj.lora_A.weight`, { dtype: 'BF16', shape: [2, 64], data: new Float32Array(128).fill(0.1) });
      tensors.set(`base_model.model.model.layers.${layer}.self_attn.q_proj.lora_B.weight`, { dtype: 'BF16', shape: [64, 2], data: new Float32Array(128) });
    }
    writeSafetensors(join(dir, 'adapter_model.safetensors'), tensors);
    const a = loadAdapter(dir, cfg);
    expect(a.r).toBe(2);
    expect(a.targetModules).toEqual(['q_proj']);
    expect(a.weights.get('model.layers.1.self_attn.q_proj.lora_A.weight')!.data[0]).toBe(new Float32Array(new Uint32Array([numberToBf16Bits(0.1) << 16]).buffer)[0]);
  });

  it('rejects adapters that do not fit the base model or the format', () => {
    const wrongShape = makeAdapter();
    wrongShape.weights.set(loraTensorName(0, 'q_proj', 'A'), { shape: [4, 32], data: new Float32Array(128) });
    saveAdapter(join(root, 'wrong'), wrongShape); // fine without a base model
    const err = errorOf(() => loadAdapter(join(root, 'wrong'), cfg));
    expect(err.message).toBe(`${join(root, 'wrong')}: the adapter is not valid for this base model (1 problem)`);
    expect(err.details).toEqual(['tensor "model.layers.0.self_attn.q_proj.lora_A.weight" has shape [4, 32], the base model needs [4, 64]']);

    const missingB = makeAdapter();
    missingB.weights.delete(loraTensorName(1, 'v_proj', 'B'));
    expect(errorOf(() => saveAdapter(join(root, 'm'), missingB)).details).toEqual(['layer 1 v_proj has lora_A without lora_B']);
    expect(errorOf(() => saveAdapter(join(root, 'm'), missingB, cfg)).details).toContain('layer 1 v_proj has lora_A without lora_B');

    const wrongRank = makeAdapter(['q_proj'], 4);
    wrongRank.r = 8;
    expect(errorOf(() => saveAdapter(join(root, 'r'), wrongRank)).details[0]).toContain('lora_A needs [r, in] with r = 8');

    const untargeted = makeAdapter(['q_proj', 'k_proj']);
    untargeted.targetModules = ['q_proj'];
    expect(errorOf(() => saveAdapter(join(root, 'u'), untargeted)).details[0]).toContain('adapts k_proj, which is not in target_modules');

    const tooFewLayers = makeAdapter();
    for (const m of ['q_proj', 'v_proj'] as const) for (const w of ['A', 'B'] as const) tooFewLayers.weights.delete(loraTensorName(1, m, w));
    expect(errorOf(() => saveAdapter(join(root, 'l'), tooFewLayers, cfg)).details).toEqual(['missing LoRA weights for layer 1 q_proj', 'missing LoRA weights for layer 1 v_proj']);

    const dir = join(root, 'dora');
    saveAdapter(dir, makeAdapter());
    const json = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...json, use_dora: true }));
    const dora = errorOf(() => loadAdapter(dir));
    expect(dora.message).toContain('not a LoRA adapter config the engine supports');
    expect(dora.details[0]).toMatch(/^use_dora:/);
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...json, peft_type: 'IA3' }));
    expect(errorOf(() => loadAdapter(dir)).details[0]).toMatch(/^peft_type:/);
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...json, target_modules: 'all-linear' }));
    expect(errorOf(() => loadAdapter(dir)).details[0]).toMatch(/^target_modules:/);
    expect(errorOf(() => loadAdapter(join(root, 'none'))).message).toContain('no adapter_config.json');
  });
});
