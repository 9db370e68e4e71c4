/**
 * Engine I/O throughput: safetensors write/read (BF16 ⇄ F32), checkpoint hashing, tokenizer
 * encode, and the recipe v1 chat template. Prints figures; asserts nothing.
 *
 *   npx tsx bench/engine-io.ts [--mb 256]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointHash } from '../src/engine/checkpoint.js';
import { byteLevelTokenizerJson, writePresetCheckpoint } from '../src/engine/presets.js';
import { readSafetensorsHeader, readTensorF32, writeSafetensors } from '../src/engine/safetensors.js';
import { encodeChat } from '../src/engine/template.js';
import { byteLevelAlphabet, llama3StyleTokenizerJson, tokenizerFromJson } from '../src/engine/tokenizer.js';

const mbArg = process.argv.indexOf('--mb');
const MB = mbArg > 0 ? Number(process.argv[mbArg + 1]) : 256;
const dir = mkdtempSync(join(tmpdir(), 'flock-bench-io-'));

function time<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const r = fn();
  return [r, (performance.now() - t0) / 1000];
}

try {
  // One f32 tensor of MB megabytes (as f32), stored BF16 and F32.
  const n = (MB * 1024 * 1024) / 4;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i) * 0.05;
  for (const dtype of ['BF16', 'F32'] as const) {
    const path = join(dir, `${dtype}.safetensors`);
    const [, w] = time(() => writeSafetensors(path, new Map([['w', { dtype, shape: [n / 1024, 1024], data }]])));
    const header = readSafetensorsHeader(path);
    const fileMb = header.fileSize / 1024 / 1024;
    const out = new Float32Array(n);
    readTensorF32(path, 'w', header, out); // warm the page cache
    const [, r] = time(() => readTensorF32(path, 'w', header, out));
    console.log(`safetensors ${dtype}: write ${(fileMb / w).toFixed(0)} MB/s of file, read→f32 ${(MB / r).toFixed(0)} MB/s of f32 (${n.toLocaleString('en-US')} values, file ${fileMb.toFixed(0)} MB)`);
  }

  // Streamed SHA-256 of a file, as checkpoint hashing does.
  const model = join(dir, 'small');
  writePresetCheckpoint(model, 'small');
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) await checkpointHash(model, ['model.safetensors']);
  console.log(`checkpoint hash (small preset, ${(readSafetensorsHeader(join(model, 'model.safetensors')).fileSize / 1e6).toFixed(1)} MB): ${((performance.now() - t0) / 5).toFixed(1)} ms`);

  // Tokenizers: the preset byte-level one (fast path) and a Llama 3 layout BPE through the library.
  const text = 'The quick brown fox jumps over the lazy dog. 12345, héllo wörld!\n'.repeat(4000);
  const bytes = Buffer.byteLength(text);
  const byteTok = tokenizerFromJson(byteLevelTokenizerJson());
  const [ids, e1] = time(() => byteTok.encode(text));
  console.log(`tokenizer byte-level: encode ${(bytes / 1e6 / e1).toFixed(1)} MB/s (${ids.length} ids)`);
  const vocab: Record<string, number> = Object.fromEntries(byteLevelAlphabet().map((c, i) => [c, i]));
  const merges: [string, string][] = [['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['Ġ', 'q'], ['u', 'i'], ['o', 'w'], ['Ġ', 'f'], ['o', 'x']];
  let next = 256;
  for (const [a, b] of merges) vocab[a + b] = next++;
  const bpe = tokenizerFromJson(llama3StyleTokenizerJson(vocab, merges, 128000));
  const [ids2, e2] = time(() => bpe.encode(text));
  console.log(`tokenizer Llama 3 layout BPE (@huggingface/tokenizers): encode ${(bytes / 1e6 / e2).toFixed(2)} MB/s (${ids2.length} ids)`);

  // The chat template over typical rows.
  const row = { system: 'You are helpful.', conversations: [
    { role: 'user' as const, content: 'Explain LoRA in two sentences. '.repeat(4) },
    { role: 'assistant' as const, content: 'LoRA adds a low-rank update to frozen weights. '.repeat(8) },
  ] };
  const rows = 2000;
  const [, e3] = time(() => { for (let i = 0; i < rows; i++) encodeChat(row, byteTok, 512); });
  console.log(`encodeChat (byte-level, ~${encodeChat(row, byteTok, 512).ids.length} tokens/row): ${(rows / e3).toFixed(0)} rows/s`);
  const [, e4] = time(() => { for (let i = 0; i < rows; i++) encodeChat(row, bpe, 512); });
  console.log(`encodeChat (Llama 3 layout BPE): ${(rows / e4).toFixed(0)} rows/s`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
