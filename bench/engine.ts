/**
 * Engine benchmark: recipe v1 LoRA training and evaluation on the `small` preset (seq 256, batch 1,
 * accumulation 8), tokens/s and peak RSS — side by side with the plain-PyTorch reference
 * (test/engine/oracle/llama_torch.py, float32, same thread count) when python3-torch is present.
 *
 *   npx tsx bench/engine.ts [--steps N] [--threads N] [--no-torch]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchmarkEngine, benchSequences } from '../src/engine/benchmark.js';
import { writePresetCheckpoint } from '../src/engine/presets.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const steps = flag('--steps', 2);
const threads = flag('--threads', availableParallelism());
const seqLen = 256, accumulation = 8, evalSequences = 8;

const ours = await benchmarkEngine({ preset: 'small', seqLen, accumulation, steps, evalSequences, threads });
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
console.log(`flock engine (cpu, ${ours.threads} threads): train ${ours.trainTokensPerSecond.toFixed(0)} tok/s, eval ${ours.evalTokensPerSecond.toFixed(0)} tok/s, peak RSS ${mib(ours.peakRssBytes)}, ${mib(ours.peakRssBytes - ours.baselineRssBytes)} above the ${mib(ours.baselineRssBytes)} before loading (weights+activations+optimizer ${mib(ours.modelBytes)})`);

/** Debian's python3 (where python3-torch lives) ahead of any other python3 on PATH; FLOCK_PYTHON overrides. */
const PYTHON = process.env['FLOCK_PYTHON'] ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const hasTorch = !args.includes('--no-torch') && spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!hasTorch) console.log('PyTorch: not run (python3 with torch not found; apt-get install python3-torch)');
else {
  const dir = mkdtempSync(join(tmpdir(), 'flock-bench-'));
  try {
    writePresetCheckpoint(join(dir, 'model'), 'small', { seed: 0, dtype: 'F32' });
    const seq = (e: { ids: Int32Array; labels: Int32Array }) => ({ ids: Array.from(e.ids), labels: Array.from(e.labels) });
    writeFileSync(join(dir, 'request.json'), JSON.stringify({
      sequences: benchSequences(steps * accumulation, seqLen, 1).map(seq),
      evalSequences: benchSequences(evalSequences, seqLen, 2).map(seq),
      lora: { rank: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'v_proj'] },
      accumulation, threads,
    }));
    const oracle = fileURLToPath(new URL('../test/engine/oracle/llama_torch.py', import.meta.url));
    const r = spawnSync(PYTHON, [oracle, 'bench', join(dir, 'model'), join(dir, 'request.json')], { encoding: 'utf8' });
    if (r.status !== 0) console.log(`PyTorch: failed: ${r.stderr}`);
    else {
      const t = JSON.parse(r.stdout) as { trainTokensPerSecond: number; evalTokensPerSecond: number; torch: string };
      console.log(`PyTorch ${t.torch} (${threads} threads): train ${t.trainTokensPerSecond.toFixed(0)} tok/s, eval ${t.evalTokensPerSecond.toFixed(0)} tok/s`);
      console.log(`ratio flock/PyTorch: train ${(ours.trainTokensPerSecond / t.trainTokensPerSecond).toFixed(2)}×, eval ${(ours.evalTokensPerSecond / t.evalTokensPerSecond).toFixed(2)}×`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
