/**
 * What a sealed round costs for a dataset carried over from the round before: evaluating its kept
 * adapter on the new evaluation set, against training it afresh and evaluating (what a validator
 * without the adapter cache does), on the same machine in one run. Also the size of one kept
 * adapter on disk.
 *
 *   npx tsx bench/carry-over.ts [preset=small] [datasetRows=128] [evalRows=32] [epochs=2]
 */
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateDataset } from '../src/dataset/index.js';
import { CpuBackend } from '../src/engine/backend/cpu/cpu-backend.js';
import { loadCheckpoint } from '../src/engine/checkpoint.js';
import { writePresetCheckpoint, type PresetName } from '../src/engine/presets.js';
import { computeIdentity } from '../src/engine/run.js';
import { AdapterCache } from '../src/evaluation/adapter-cache.js';
import { competitionKey, type LoadedCompetition } from '../src/evaluation/competition.js';
import { evaluateDataset } from '../src/evaluation/evaluate.js';
import { roundEvalRows, taskRows, toJsonl } from '../src/localnet/tasks.js';
import { deriveSeed, parseCompetition } from '../src/protocol/index.js';

const [preset = 'small', datasetRows = '128', evalRows = '32', epochs = '2'] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'flock-bench-carry-'));
writePresetCheckpoint(join(dir, 'model'), preset as PresetName, { seed: 11 });
const checkpoint = await loadCheckpoint(join(dir, 'model'));
const backend = new CpuBackend();
const REV = 'c'.repeat(40);

async function competitionOn(round: number): Promise<LoadedCompetition> {
  const path = join(dir, `eval-${round}.jsonl`);
  writeFileSync(path, toJsonl(roundEvalRows(Number(evalRows), round)));
  const set = await validateDataset(path);
  const parsed = parseCompetition({
    protocol: 2, id: '1', baseModel: { repo: 'flock/bench', revision: 'b'.repeat(40) },
    recipe: { epochs: Number(epochs), gradientAccumulation: 2, warmupSteps: 2, maxSeqLen: 160, optimizer: { lr: 1e-2 } },
  });
  if (!parsed.ok) throw new Error(parsed.reason);
  return {
    pointer: { competitionId: '1', repoId: 'flock/bench', revision: REV }, key: competitionKey('1', REV), competition: parsed.value,
    seed: deriveSeed('1', REV).u32, evalRows: set.rows, evalFingerprints: set.fingerprints, evalSetHash: set.identity, checkpoint, modelDir: join(dir, 'model'),
  };
}

const datasetPath = join(dir, 'data.jsonl');
writeFileSync(datasetPath, toJsonl(taskRows(Number(datasetRows), 101)));
const identity = (await validateDataset(datasetPath)).identity;
const [round1, round2] = [await competitionOn(1), await competitionOn(2)];
const cache = new AdapterCache({ dir: join(dir, 'adapters') });

const timed = async (c: LoadedCompetition, adapters?: AdapterCache) => {
  const started = performance.now();
  const r = await evaluateDataset({ competition: c, backend, datasetPath, identity, adapters });
  return { ...r, wall: (performance.now() - started) / 1000 };
};

const first = await timed(round1, cache); // round 1: trained, adapter kept
const kept = await timed(round2, cache); // round 2: the kept adapter on the new set
const fresh = await timed(round2); // round 2 without the cache: trained again
const same = kept.losses.every((l, i) => Object.is(l, fresh.losses[i]));
const entry = readdirSync(join(dir, 'adapters')).find((f) => !f.startsWith('.'))!;
const bytes = readdirSync(join(dir, 'adapters', entry)).reduce((a, f) => a + statSync(join(dir, 'adapters', entry, f)).size, 0);

console.log(`preset ${preset}, ${datasetRows} training rows × ${epochs} epoch(s), ${evalRows} evaluation rows, compute ${computeIdentity(backend).key}`);
console.log('| round 2 of a carried-over dataset | wall s | train s | eval s |');
console.log('| --- | ---: | ---: | ---: |');
console.log(`| train afresh + evaluate (no cache) | ${fresh.wall.toFixed(2)} | ${fresh.trainSeconds.toFixed(2)} | ${fresh.evalSeconds.toFixed(2)} |`);
console.log(`| kept adapter + evaluate | ${kept.wall.toFixed(2)} | ${kept.trainSeconds.toFixed(2)} | ${kept.evalSeconds.toFixed(2)} |`);
console.log(`speed-up ${(fresh.wall / kept.wall).toFixed(1)}×; losses bit-identical: ${same}; round 1 (train + evaluate + keep) ${first.wall.toFixed(2)} s; one kept adapter ${(bytes / 1024).toFixed(1)} KiB`);
backend.dispose();
if (!same) process.exit(1);
