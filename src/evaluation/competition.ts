/**
 * Loading a competition (docs/protocol.md): the owner's pointer → `competition.json`, the
 * evaluation set and the base model, all from the hub at pinned 40-hex revisions. Files land in
 * the Hugging Face cache, so a restarted validator loads a competition it has seen before without
 * the network (a full SHA is served from the cache).
 */
import { dirname } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { HubClient } from '../hub/index.js';
import { loadCheckpoint, type Checkpoint } from '../engine/checkpoint.js';
import { validateDataset, type CanonicalRow, type DatasetFingerprints } from '../dataset/index.js';
import {
  COMPETITION_FILE, COMPETITION_FILE_MAX_BYTES, deriveSeed, parseCompetition, type Competition, type CompetitionPointer,
} from '../protocol/index.js';
import { FlockError } from '../util/errors.js';
import type { Logger } from '../util/log.js';

/**
 * Key of a competition revision's results: the competition id *and* its revision. A new revision
 * (new evaluation set, recipe or base model, and so a new seed) must not reuse the results of the
 * old one, so whatever stores results keys them by this where it says `competitionKey`.
 */
export function competitionKey(id: string, revision: string): string {
  return `${id}@${revision}`;
}

/** Largest evaluation set we download. */
export const EVAL_FILE_MAX_BYTES = 256 * 1024 * 1024;

/** Everything needed to judge datasets in one competition revision. */
export interface LoadedCompetition {
  pointer: CompetitionPointer;
  /** `competitionKey(id, revision)`: the key of evaluations and rounds. */
  key: string;
  competition: Competition;
  /** The training seed every validator derives (`deriveSeed(id, revision).u32`). */
  seed: number;
  evalRows: CanonicalRow[];
  evalFingerprints: DatasetFingerprints;
  /** Identity of the evaluation set (hash over its row hashes): the receipt's evalSetHash. */
  evalSetHash: string;
  checkpoint: Checkpoint;
  /** Local folder of the base model snapshot. */
  modelDir: string;
}

/** The competition cannot be used (bad competition.json, eval set or model): the owner must fix it. */
export class CompetitionError extends FlockError {
  override name = 'CompetitionError';
}

/**
 * Download and check a competition at the pointer's revision.
 * Throws `CompetitionError` when the owner's files are wrong, hub errors when the hub fails.
 *
 * @example
 * const loaded = await loadCompetition(hub, pointer, log);
 * console.log(loaded.competition.recipe.epochs, loaded.evalRows.length);
 */
export async function loadCompetition(hub: HubClient, pointer: CompetitionPointer, log: Logger): Promise<LoadedCompetition> {
  const where = `${pointer.repoId}@${pointer.revision.slice(0, 12)}`;
  const file = await hub.downloadFile({ repo: pointer.repoId, type: 'dataset', revision: pointer.revision, path: COMPETITION_FILE, maxBytes: COMPETITION_FILE_MAX_BYTES });
  const parsed = parseCompetition(await readFile(file, 'utf8'));
  if (!parsed.ok) throw new CompetitionError(`the competition at ${where} is unusable: ${parsed.reason}`, { hint: 'the subnet owner must publish a valid competition.json' });
  const competition = parsed.value;
  if (competition.id !== pointer.competitionId) {
    throw new CompetitionError(`the pointer names competition "${pointer.competitionId}" but ${COMPETITION_FILE} at ${where} has id "${competition.id}"`);
  }

  const evalPath = await hub.downloadFile({ repo: pointer.repoId, type: 'dataset', revision: pointer.revision, path: competition.evalFile, maxBytes: EVAL_FILE_MAX_BYTES });
  const evalSet = await validateDataset(evalPath, { maxFileBytes: EVAL_FILE_MAX_BYTES });
  if (evalSet.errorCount > 0 || evalSet.rows.length === 0) {
    throw new CompetitionError(`the evaluation set ${competition.evalFile} at ${where} is invalid (${evalSet.errorCount} problems${evalSet.rows.length === 0 ? ', no rows' : ''})`, {
      details: evalSet.errors.slice(0, 5),
    });
  }

  const modelDir = await downloadModel(hub, competition.baseModel.repo, competition.baseModel.revision, log);
  const checkpoint = await loadCheckpoint(modelDir);
  const seed = deriveSeed(competition.id, pointer.revision).u32;
  log.info(`competition ${competition.id} loaded`, {
    revision: pointer.revision.slice(0, 12), evalRows: evalSet.rows.length, baseModel: competition.baseModel.repo, seed,
  });
  return {
    pointer, key: competitionKey(competition.id, pointer.revision), competition, seed,
    evalRows: evalSet.rows, evalFingerprints: evalSet.fingerprints, evalSetHash: evalSet.identity, checkpoint, modelDir,
  };
}

/** Files of a Llama checkpoint we need: config, tokenizer, weights (single or sharded). */
function isModelFile(path: string): boolean {
  return !path.includes('/') && (/^(config|tokenizer|tokenizer_config|generation_config)\.json$/.test(path) || path.endsWith('.safetensors') || path === 'model.safetensors.index.json');
}

/** Download a model snapshot into the cache; returns its folder. */
async function downloadModel(hub: HubClient, repo: string, revision: string, log: Logger): Promise<string> {
  // A snapshot seen before is complete on disk: config.json resolves from the cache without the network.
  let files: string[];
  try {
    files = (await hub.listFiles({ repo, type: 'model', revision })).map((f) => f.path).filter(isModelFile);
  } catch (err) {
    const cached = await hub.downloadFile({ repo, type: 'model', revision, path: 'config.json' }).catch(() => null);
    if (cached) return dirname(cached);
    throw err;
  }
  if (!files.includes('config.json')) throw new CompetitionError(`the base model ${repo}@${revision.slice(0, 12)} has no config.json`);
  let dir = '';
  // config.json last: its presence in the cache then means the whole snapshot is there
  for (const path of [...files.filter((f) => f !== 'config.json'), 'config.json']) {
    log.debug('downloading base model file', { repo, path });
    dir = dirname(await hub.downloadFile({ repo, type: 'model', revision, path }));
  }
  return dir;
}
