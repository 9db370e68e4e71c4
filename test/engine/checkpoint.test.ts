import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointHash, expectedTensorShapes, inspectCheckpoint, loadCheckpoint } from '../../src/engine/checkpoint.js';
import { LLAMA_3_2_1B_CONFIG_JSON, PRESETS, QWEN2_5_1_5B_INSTRUCT_CONFIG_JSON, initPresetWeights, writePresetCheckpoint } from '../../src/engine/presets.js';
import { readSafetensorsHeader, readTensorF32, writeSafetensors, numberToBf16Bits } from '../../src/engine/safetensors.js';
import { byteLevelAlphabet, llama3StyleTokenizerJson, qwen2StyleTokenizerJson } from '../../src/engine/tokenizer.js';
import { FlockError } from '../../src/util/errors.js';

const root = mkdtempSync(join(tmpdir(), 'flock-ckpt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function rejection(p: Promise<unknown>): Promise<FlockError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(FlockError);
    return err as FlockError;
  }
  throw new Error('expected a FlockError');
}

/** Bit-identical arrays (fast, unlike a deep equality over every element). */
const sameBits = (a: Float32Array, b: Float32Array) =>
  a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

const bf16 = (x: Float32Array) => {
  const out = new Float32Array(x.length);
  new Uint32Array(out.buffer).set(Array.from(x, (v) => numberToBf16Bits(v) << 16));
  return out;
};

/**
 * The exact tensor layout of meta-llama/Llama-3.2-1B's model.safetensors (146 BF16 tensors, no
 * lm_head: embeddings are tied), written as a header plus a sparse data region of the real size.
 */
function writeLlama32Header(path: string, names: [string, number[]][]): number {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, shape] of names) {
    const size = shape.reduce((p, d) => p * d, 1) * 2;
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json]));
  truncateSync(path, 8 + json.length + offset); // sparse: no data blocks are written
  return offset;
}

function llama32Names(): [string, number[]][] {
  const names: [string, number[]][] = [['model.embed_tokens.weight', [128256, 2048]]];
  for (let i = 0; i < 16; i++) {
    const p = `model.layers.${i}`;
    names.push(
      [`${p}.input_layernorm.weight`, [2048]],
      [`${p}.mlp.down_proj.weight`, [2048, 8192]],
      [`${p}.mlp.gate_proj.weight`, [8192, 2048]],
      [`${p}.mlp.up_proj.weight`, [8192, 2048]],
      [`${p}.post_attention_layernorm.weight`, [2048]],
      [`${p}.self_attn.k_proj.weight`, [512, 2048]],
      [`${p}.self_attn.o_proj.weight`, [2048, 2048]],
      [`${p}.self_attn.q_proj.weight`, [2048, 2048]],
      [`${p}.self_attn.v_proj.weight`, [512, 2048]],
    );
  }
  names.push(['model.norm.weight', [2048]]);
  return names;
}

function llama3TokenizerJson() {
  const vocab: Record<string, number> = Object.fromEntries(byteLevelAlphabet().map((c, i) => [c, i]));
  vocab['ĠĠ'] = 256;
  return llama3StyleTokenizerJson(vocab, [['Ġ', 'Ġ']], 128000);
}

describe('Llama-3.2-1B layout (no weights)', () => {
  it('accepts its exact config.json, tensor names, shapes and BF16 dtype — single file and sharded', () => {
    const dir = join(root, 'llama-3.2-1b');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(LLAMA_3_2_1B_CONFIG_JSON));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(llama3TokenizerJson()));
    const dataBytes = writeLlama32Header(join(dir, 'model.safetensors'), llama32Names());
    expect(dataBytes).toBe(2_471_628_800); // 1 235 814 400 parameters × 2 bytes, as the real file

    const layout = inspectCheckpoint(dir);
    expect(layout.config).toEqual(PRESETS['llama-3.2-1b']);
    expect(layout.weights.names()).toHaveLength(146);
    expect(layout.weights.info('model.embed_tokens.weight')).toEqual({ shape: [128256, 2048], dtype: 'BF16' });
    expect(layout.weights.info('model.layers.15.self_attn.k_proj.weight')).toEqual({ shape: [512, 2048], dtype: 'BF16' });
    expect(layout.ignored).toEqual([]);
    expect(() => layout.weights.info('lm_head.weight')).toThrow('no model tensor "lm_head.weight"');
    const norm = layout.weights.get('model.norm.weight'); // reads 4 KB from the sparse region
    expect(norm.shape).toEqual([2048]);
    expect(norm.data.every((x) => x === 0)).toBe(true);

    // The same tensors split over two shards with an index, as HF writes large models.
    const sharded = join(root, 'llama-3.2-1b-sharded');
    mkdirSync(sharded);
    copyFileSync(join(dir, 'config.json'), join(sharded, 'config.json'));
    copyFileSync(join(dir, 'tokenizer.json'), join(sharded, 'tokenizer.json'));
    const all = llama32Names();
    const first = all.slice(0, 80);
    const second = all.slice(80);
    writeLlama32Header(join(sharded, 'model-00001-of-00002.safetensors'), first);
    writeLlama32Header(join(sharded, 'model-00002-of-00002.safetensors'), second);
    const weightMap = Object.fromEntries([
      ...first.map(([n]) => [n, 'model-00001-of-00002.safetensors']),
      ...second.map(([n]) => [n, 'model-00002-of-00002.safetensors']),
    ]);
    writeFileSync(join(sharded, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: dataBytes }, weight_map: weightMap }));
    const s = inspectCheckpoint(sharded);
    expect(s.files).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(s.weights.info('model.layers.15.mlp.down_proj.weight')).toEqual({ shape: [2048, 8192], dtype: 'BF16' });
    rmSync(dir, { recursive: true });
    rmSync(sharded, { recursive: true });
  });

  it('expects the Llama-3.2-1B tensor set', () => {
    const expected = expectedTensorShapes(PRESETS['llama-3.2-1b']);
    expect(new Map(llama32Names())).toEqual(expected);
  });
});

/**
 * Qwen/Qwen2.5-1.5B-Instruct's model.safetensors tensors (338 BF16 tensors in the file's sorted
 * order, no lm_head: tied), from the published model's layout: q/k/v carry biases, o_proj and the
 * MLP do not; 12 query heads of 128 over 2 KV heads.
 */
function qwen25Names(): [string, number[]][] {
  const names: [string, number[]][] = [['model.embed_tokens.weight', [151936, 1536]]];
  for (let i = 0; i < 28; i++) {
    const p = `model.layers.${i}`;
    names.push(
      [`${p}.input_layernorm.weight`, [1536]],
      [`${p}.mlp.down_proj.weight`, [1536, 8960]],
      [`${p}.mlp.gate_proj.weight`, [8960, 1536]],
      [`${p}.mlp.up_proj.weight`, [8960, 1536]],
      [`${p}.post_attention_layernorm.weight`, [1536]],
      [`${p}.self_attn.k_proj.bias`, [256]],
      [`${p}.self_attn.k_proj.weight`, [256, 1536]],
      [`${p}.self_attn.o_proj.weight`, [1536, 1536]],
      [`${p}.self_attn.q_proj.bias`, [1536]],
      [`${p}.self_attn.q_proj.weight`, [1536, 1536]],
      [`${p}.self_attn.v_proj.bias`, [256]],
      [`${p}.self_attn.v_proj.weight`, [256, 1536]],
    );
  }
  names.push(['model.norm.weight', [1536]]);
  return names;
}

describe('Qwen2.5-1.5B-Instruct layout (no weights)', () => {
  it('accepts its exact config.json, tensor names, shapes (biases included) and BF16 dtype', () => {
    const dir = join(root, 'qwen2.5-1.5b-instruct');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(QWEN2_5_1_5B_INSTRUCT_CONFIG_JSON));
    const vocab: Record<string, number> = { ...Object.fromEntries(byteLevelAlphabet().map((c, i) => [c, i])), 'ĠĠ': 256 };
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(qwen2StyleTokenizerJson(vocab, [['Ġ', 'Ġ']], 151643)));
    const dataBytes = writeLlama32Header(join(dir, 'model.safetensors'), qwen25Names());
    expect(dataBytes).toBe(3_087_428_608); // 1 543 714 304 parameters × 2 bytes, as the real file

    const layout = inspectCheckpoint(dir);
    expect(layout.config).toEqual(PRESETS['qwen2.5-1.5b-instruct']);
    expect(layout.weights.names()).toHaveLength(338);
    expect(layout.weights.info('model.layers.27.self_attn.q_proj.bias')).toEqual({ shape: [1536], dtype: 'BF16' });
    expect(layout.weights.info('model.layers.0.self_attn.v_proj.weight')).toEqual({ shape: [256, 1536], dtype: 'BF16' });
    expect(layout.ignored).toEqual([]);
    const bias = layout.weights.get('model.layers.3.self_attn.k_proj.bias'); // 512 bytes from the sparse region
    expect(bias.shape).toEqual([256]);
    expect(bias.data.every((x) => x === 0)).toBe(true);
    rmSync(dir, { recursive: true });
  });

  it('expects the Qwen2.5-1.5B-Instruct tensor set', () => {
    const expected = expectedTensorShapes(PRESETS['qwen2.5-1.5b-instruct']);
    expect(new Map(qwen25Names())).toEqual(expected);
    // the published parameter count, tied head
    expect([...expected.values()].reduce((n, shape) => n + shape.reduce((p, d) => p * d, 1), 0)).toBe(1_543_714_304);
  });
});

describe('loadCheckpoint', () => {
  it('loads a preset checkpoint: config, weights as written, tokenizer, stable hash', async () => {
    const dir = join(root, 'tiny');
    writePresetCheckpoint(dir, 'tiny', { seed: 7 });
    const ckpt = await loadCheckpoint(dir);
    expect(ckpt.config).toEqual(PRESETS.tiny);
    expect(ckpt.files).toEqual(['model.safetensors']);
    expect(ckpt.tokenizer.vocabSize).toBe(512);
    expect(ckpt.tokenizer.llama3!.eotId).toBe(265);
    const init = initPresetWeights(PRESETS.tiny, 7);
    for (const name of ckpt.weights.names()) {
      const t = ckpt.weights.get(name);
      expect(t.shape).toEqual(init.get(name)!.shape);
      expect(sameBits(t.data, bf16(init.get(name)!.data))).toBe(true);
    }
    expect(ckpt.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await checkpointHash(dir, ['model.safetensors'])).toBe(ckpt.hash);
    const copy = join(root, 'tiny-copy');
    cpSync(dir, copy, { recursive: true });
    expect((await loadCheckpoint(copy)).hash).toBe(ckpt.hash);
    writePresetCheckpoint(copy, 'tiny', { seed: 8, force: true });
    expect((await loadCheckpoint(copy)).hash).not.toBe(ckpt.hash);
  });

  it('loads a Qwen2 preset checkpoint: biases read from safetensors as written, untied lm head, ChatML tokenizer', async () => {
    const dir = join(root, 'qwen2-tiny');
    writePresetCheckpoint(dir, 'qwen2-tiny', { seed: 4 });
    const ckpt = await loadCheckpoint(dir);
    expect(ckpt.config).toEqual(PRESETS['qwen2-tiny']);
    expect(ckpt.tokenizer.chatml).toEqual({ imStart: 257, imEnd: 258 });
    expect(ckpt.tokenizer.llama3).toBeNull();
    const names = ckpt.weights.names();
    expect(names.filter((n) => n.endsWith('.bias'))).toEqual([0, 1].flatMap((l) => ['q', 'k', 'v'].map((m) => `model.layers.${l}.self_attn.${m}_proj.bias`)));
    expect(names).toContain('lm_head.weight');
    const init = initPresetWeights(PRESETS['qwen2-tiny'], 4);
    for (const name of names) expect(sameBits(ckpt.weights.get(name).data, bf16(init.get(name)!.data)), name).toBe(true);
    expect(ckpt.weights.info('model.layers.1.self_attn.k_proj.bias')).toEqual({ shape: [32], dtype: 'BF16' });
  });

  it('loads a sharded checkpoint with the same weights as the single file', async () => {
    const single = join(root, 'tiny-single');
    const sharded = join(root, 'tiny-sharded');
    writePresetCheckpoint(single, 'tiny', { seed: 3, dtype: 'F32' });
    const w = writePresetCheckpoint(sharded, 'tiny', { seed: 3, dtype: 'F32', maxShardBytes: 100_000 });
    expect(w.files.filter((f) => f.endsWith('.safetensors')).length).toBeGreaterThan(1);
    const a = await loadCheckpoint(single);
    const b = await loadCheckpoint(sharded);
    expect(b.files.length).toBeGreaterThan(1);
    const init = initPresetWeights(PRESETS.tiny, 3);
    for (const name of a.weights.names()) {
      expect(b.weights.get(name).shape).toEqual(a.weights.get(name).shape);
      expect(sameBits(b.weights.get(name).data, a.weights.get(name).data)).toBe(true);
      expect(sameBits(a.weights.get(name).data, init.get(name)!.data)).toBe(true); // F32 stores exactly
    }
  });

  it('reports missing and misshapen tensors, ignores extras', async () => {
    const dir = join(root, 'broken');
    writePresetCheckpoint(dir, 'tiny', { dtype: 'F32' });
    const file = join(dir, 'model.safetensors');
    const h = readSafetensorsHeader(file);
    const tensors = new Map([...h.tensors.keys()].map((n) => [n, { dtype: 'F32' as const, shape: h.tensors.get(n)!.shape, data: readTensorF32(file, n, h) }]));
    tensors.delete('model.layers.1.mlp.up_proj.weight');
    tensors.set('model.layers.0.self_attn.k_proj.weight', { dtype: 'F32', shape: [64, 64], data: new Float32Array(64 * 64) });
    tensors.set('lm_head.weight', { dtype: 'F32', shape: [512, 64], data: new Float32Array(512 * 64) });
    writeSafetensors(file, tensors);
    const err = await rejection(loadCheckpoint(dir));
    expect(err.message).toBe(`${dir}: the weights do not match config.json (2 problems)`);
    expect(err.details).toEqual([
      'model.layers.0.self_attn.k_proj.weight has shape [64, 64], config.json implies [32, 64]',
      'missing tensor model.layers.1.mlp.up_proj.weight [128, 64]',
    ]);
    tensors.set('model.layers.0.self_attn.k_proj.weight', { dtype: 'F32', shape: [32, 64], data: new Float32Array(32 * 64) });
    tensors.set('model.layers.1.mlp.up_proj.weight', { dtype: 'F32', shape: [128, 64], data: new Float32Array(128 * 64) });
    writeSafetensors(file, tensors);
    expect(inspectCheckpoint(dir).ignored).toEqual(['lm_head.weight']); // tied: lm_head is not used
  });

  it('rejects a truncated weights file, another architecture, a foreign tokenizer and missing files', async () => {
    const dir = join(root, 'bad');
    writePresetCheckpoint(dir, 'tiny');
    const weights = join(dir, 'model.safetensors');
    const good = readFileSync(weights);
    truncateSync(weights, statSync(weights).size - 10);
    expect((await rejection(loadCheckpoint(dir))).message).toContain('not a valid safetensors file: truncated');
    writeFileSync(weights, good);

    const config = readFileSync(join(dir, 'config.json'), 'utf8');
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...JSON.parse(config), model_type: 'mistral', architectures: ['MistralForCausalLM'] }));
    expect((await rejection(loadCheckpoint(dir))).message).toContain('model_type "mistral" is not supported');
    // a Qwen2 config over Llama weights: the q/k/v biases it implies are missing (2 layers × 3)
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...JSON.parse(config), model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'] }));
    const noBias = await rejection(loadCheckpoint(dir));
    expect(noBias.message).toContain('the weights do not match config.json (6 problems)');
    expect(noBias.details).toContain('missing tensor model.layers.1.self_attn.v_proj.bias [32]');
    writeFileSync(join(dir, 'config.json'), config);

    const tok = readFileSync(join(dir, 'tokenizer.json'), 'utf8');
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(llama3TokenizerJson())); // ids up to 128255
    expect((await rejection(loadCheckpoint(dir))).message).toContain('token ids up to 128255 but config.json vocab_size is 512');
    writeFileSync(join(dir, 'tokenizer.json'), tok);
    await loadCheckpoint(dir);

    rmSync(weights);
    writeFileSync(join(dir, 'pytorch_model.bin'), '');
    expect((await rejection(loadCheckpoint(dir))).hint).toContain('safetensors only');
    expect((await rejection(loadCheckpoint(join(root, 'nope')))).message).toContain('not a folder');
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'model.norm.weight': '../x.safetensors' } }));
    expect((await rejection(loadCheckpoint(dir))).message).toContain('is not a .safetensors file name in the folder');
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'model.norm.weight': 'gone.safetensors' } }));
    expect((await rejection(loadCheckpoint(dir))).message).toContain('shard listed in model.safetensors.index.json is missing');
  });
});
