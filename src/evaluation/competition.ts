/**
 * Loading a competition (docs/protocol.md): the owner's pointer → `competition.json`, the
 * evaluation set and the base model, all from the hub at pinned 40-hex revisions. Files land in
 * the Hugging Face cache, so a restarted validator loads a competition it has seen before without
 * the network (a full SHA is served from the cache).
 */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { readFile } from 'node:fs/promises';
import { DownloadCapExceededError, EntryNotFoundError, type HubClient } from '../hub/index.js';
import { loadCheckpoint, type Checkpoint } from '../engine/checkpoint.js';
import { validateDataset, type CanonicalRow, type DatasetFingerprints } from '../dataset/index.js';
import {
  COMPETITION_FILE, COMPETITION_FILE_MAX_BYTES, EVAL_FILE_MAX_BYTES, competitionRounds, roundsStepProblem, competitionSeed, parseCompetition,
  type Competition, type CompetitionPointer, type Round,
} from '../protocol/index.js';
import { FlockError, errorMessage } from '../util/errors.js';
import { sha256File } from '../util/sha256-file.js';
import type { Logger } from '../util/log.js';

/**
 * Key of a competition revision's results: the competition id *and* its revision. A new revision
 * (new evaluation set, recipe or base model, and so a new seed) must not reuse the results of the
 * old one, so whatever stores results keys them by this where it says `competitionKey`.
 */
export function competitionKey(id: string, revision: string): string {
  return `${id}@${revision}`;
}

/**
 * Key of a sealed round's results: the competition id, the round, and a hash over what decides an
 * evaluation in it (base model, recipe, scoring, limits and the round's set commitment). Every
 * revision that scores the same round with the same rules shares it — a revision that only opens
 * the next round or reveals nothing new keeps every result — while a new round, or a change to
 * the rules, starts afresh.
 */
export function sealedRoundKey(c: Competition, round: number): string {
  // what decides an evaluation: not the title, nor the open-set file name (unused with rounds)
  const { title: _title, rounds: _rounds, evalFile: _evalFile, ...rules } = c as Competition & { rounds?: unknown; title?: unknown };
  const r = competitionRounds(c)[round - 1];
  if (!r) throw new RangeError(`competition ${c.id} has no round ${round}`);
  const h = createHash('sha256').update(JSON.stringify([rules, round, r.evalSha256])).digest('hex');
  return `${c.id}@round-${round}:${h.slice(0, 32)}`;
}

/** The round a `sealedRoundKey` names, or null for any other key (`competitionKey`). */
export function sealedRoundOfKey(key: string): number | null {
  const m = /@round-(\d+):[0-9a-f]{32}$/.exec(key);
  return m ? Number(m[1]) : null;
}

export { EVAL_FILE_MAX_BYTES };

/** Everything needed to judge datasets in one competition revision. */
export interface LoadedCompetition {
  pointer: CompetitionPointer;
  /** The key of evaluations and rounds: `competitionKey(id, revision)`, or `sealedRoundKey` with sealed rounds. */
  key: string;
  competition: Competition;
  /** The training seed every validator derives (`competitionSeed(competition, revision).u32`). */
  seed: number;
  /** The evaluation set: the competition's `evalFile`, or with sealed rounds the round scored. */
  evalRows: CanonicalRow[];
  /**
   * What training rows must not match (contamination, scoring step 3): the evaluation set, or with
   * sealed rounds every revealed set up to the round scored.
   */
  evalFingerprints: DatasetFingerprints;
  /** Identity of the evaluation set (hash over its row hashes): the receipt's evalSetHash. */
  evalSetHash: string;
  /** Sealed rounds (null or absent: one open evaluation set). */
  round?: SealedRoundState | null;
  checkpoint: Checkpoint;
  /** Local folder of the base model snapshot. */
  modelDir: string;
}

/** Where a sealed competition stands at the revision loaded. */
export interface SealedRoundState {
  /** The round scored: the latest whose revealed set matched its commitment (1-based). */
  number: number;
  rounds: readonly Round[];
  /** Rounds whose revealed set was verified and is counted for contamination. */
  revealed: number[];
  /** Why a revealed set was refused (it did not match its commitment, or is not a valid set), one line per round. */
  refused: string[];
}

/** The competition cannot be used (bad competition.json, eval set or model): the owner must fix it. */
export class CompetitionError extends FlockError {
  override name = 'CompetitionError';
}

/** A sealed competition with no round revealed (and verified) yet: nothing can be scored until the owner reveals one. */
export class NoRoundRevealedError extends CompetitionError {
  override name = 'NoRoundRevealedError';
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

  const evalSets = competitionRounds(competition).length > 0
    ? await loadSealedRounds(hub, pointer, competition, where)
    : await loadOpenSet(hub, pointer, competition, where);

  const modelDir = await downloadModel(hub, competition.baseModel.repo, competition.baseModel.revision, log);
  const checkpoint = await loadCheckpoint(modelDir);
  const seed = competitionSeed(competition, pointer.revision).u32;
  const round = evalSets.round;
  log.info(`competition ${competition.id} loaded`, {
    revision: pointer.revision.slice(0, 12), evalRows: evalSets.evalRows.length, baseModel: competition.baseModel.repo, seed,
    ...(round ? { round: round.number, rounds: round.rounds.length } : {}),
  });
  for (const line of round?.refused ?? []) log.warning(line);
  return {
    pointer, key: round ? sealedRoundKey(competition, round.number) : competitionKey(competition.id, pointer.revision), competition, seed,
    ...evalSets, checkpoint, modelDir,
  };
}

type EvalSets = Pick<LoadedCompetition, 'evalRows' | 'evalFingerprints' | 'evalSetHash' | 'round'>;

/** The one evaluation set of a competition without rounds. */
async function loadOpenSet(hub: HubClient, pointer: CompetitionPointer, competition: Competition, where: string): Promise<EvalSets> {
  const evalPath = await hub.downloadFile({ repo: pointer.repoId, type: 'dataset', revision: pointer.revision, path: competition.evalFile, maxBytes: EVAL_FILE_MAX_BYTES });
  const evalSet = await validateDataset(evalPath, { maxFileBytes: EVAL_FILE_MAX_BYTES });
  if (evalSet.errorCount > 0 || evalSet.rows.length === 0) {
    throw new CompetitionError(`the evaluation set ${competition.evalFile} at ${where} is invalid (${evalSet.errorCount} problems${evalSet.rows.length === 0 ? ', no rows' : ''})`, {
      details: evalSet.errors.slice(0, 5),
    });
  }
  return { evalRows: evalSet.rows, evalFingerprints: evalSet.fingerprints, evalSetHash: evalSet.identity, round: null };
}

/**
 * The revealed sets of a sealed competition, each checked against the commitment published when
 * its round opened. The latest that matches is the one scored; one that does not match (or is not
 * a valid set) is refused with a reason and the round before it is scored instead.
 */
async function loadSealedRounds(hub: HubClient, pointer: CompetitionPointer, competition: Competition, where: string): Promise<EvalSets> {
  const rounds = competitionRounds(competition);
  // every verified set's fingerprints (contamination); the rows of the latest only (the one scored)
  const revealed: Array<{ round: number; fingerprints: DatasetFingerprints }> = [];
  let scored: { round: number; rows: CanonicalRow[]; identity: string; fingerprints: DatasetFingerprints } | null = null;
  const refused: string[] = [];
  for (let k = 1; k <= rounds.length; k++) {
    const file = rounds[k - 1]!.evalFile;
    if (file === undefined) continue;
    let path: string;
    try {
      path = await hub.downloadFile({ repo: pointer.repoId, type: 'dataset', revision: pointer.revision, path: file, maxBytes: EVAL_FILE_MAX_BYTES });
    } catch (err) {
      // the owner's fault (a file named but not there, or larger than validators read): that round
      // is refused; an outage is not, and passes through to be waited out
      if (!(err instanceof EntryNotFoundError || err instanceof DownloadCapExceededError)) throw err;
      refused.push(`round ${k}'s revealed evaluation set ${file} at ${where} cannot be read (${errorMessage(err)}): refused`);
      continue;
    }
    const sha256 = await sha256File(path); // evalSetCommitment of the file's bytes, streamed
    if (sha256 !== rounds[k - 1]!.evalSha256) {
      refused.push(`round ${k}'s revealed evaluation set ${file} at ${where} does not match the commitment published when the round opened (sha256 ${sha256.slice(0, 16)}…, committed ${rounds[k - 1]!.evalSha256.slice(0, 16)}…): refused`);
      continue;
    }
    const set = await validateDataset(path, { maxFileBytes: EVAL_FILE_MAX_BYTES });
    if (set.errorCount > 0 || set.rows.length === 0) {
      refused.push(`round ${k}'s revealed evaluation set ${file} at ${where} is invalid (${set.errorCount} problems${set.rows.length === 0 ? ', no rows' : ''}): refused`);
      continue;
    }
    scored = { round: k, rows: set.rows, identity: set.identity, fingerprints: set.fingerprints };
    revealed.push({ round: k, fingerprints: set.fingerprints });
  }
  if (!scored) {
    const first = rounds[0]!;
    const why = refused.length > 0 ? refused.join('; ') : `round 1's evaluation set is sealed until its window closes at block ${first.closes} and the owner reveals it`;
    throw new NoRoundRevealedError(`competition ${competition.id} has no revealed evaluation round to score yet: ${why}`, {
      hint: refused.length > 0 ? 'the subnet owner must reveal the file whose SHA-256 was committed (`flock owner round reveal`)' : 'validators start scoring once a round is revealed',
    });
  }
  // contamination counts rows of every set revealed so far: a later round's miner may have read them
  const union = revealed.length === 1 ? scored.fingerprints : concatFingerprints(revealed.map((r) => r.fingerprints));
  return {
    evalRows: scored.rows, evalFingerprints: union, evalSetHash: scored.identity,
    round: { number: scored.round, rounds, revealed: revealed.map((r) => r.round), refused },
  };
}

/** The fingerprints of several sets as one (rows after rows): what contamination checks against. */
function concatFingerprints(sets: readonly DatasetFingerprints[]): DatasetFingerprints {
  const concat = (arrays: Uint32Array[]) => {
    const out = new Uint32Array(arrays.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of arrays) {
      out.set(a, at);
      at += a.length;
    }
    return out;
  };
  return {
    identity: createHash('sha256').update(sets.map((f) => f.identity).join('\n')).digest('hex'),
    rows: sets.reduce((n, f) => n + f.rows, 0),
    exact: concat(sets.map((f) => f.exact)),
    bands: concat(sets.map((f) => f.bands)),
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

/** Competition revisions read back from the pointer's, at most, to check that its rounds only moved forward. */
export const ROUNDS_HISTORY_MAX_REVISIONS = 1000;

/**
 * Why the pointer's revision of a sealed competition cannot be accepted given the competition repo's
 * history, or null. Every earlier revision of the same competition, oldest first, must follow the
 * last one accepted (`roundsStepProblem`: rounds only added while sealed, or revealed, never moved,
 * swapped or re-sealed); one that does not (or does not parse) is skipped, as validators refuse it
 * when the pointer names it. The pointer's revision must follow the last accepted one before it.
 * Every validator reads the same history, so the verdict does not depend on what a validator saw
 * itself — a round-1 set swapped before its reveal is caught by one started after the swap too.
 *
 * `accepted` remembers revisions already found acceptable, with their rounds (revisions never
 * change): the walk stops at the first one it meets. A force-pushed history is what the hub now
 * says it is; validators that judged the rewritten revisions still refuse by their own memory.
 */
export async function roundsHistoryProblem(
  hub: HubClient, pointer: CompetitionPointer, competition: Competition, accepted: Map<string, readonly Round[]>,
): Promise<string | null> {
  const commits = await hub.listCommits({ repo: pointer.repoId, type: 'dataset', revision: pointer.revision, limit: ROUNDS_HISTORY_MAX_REVISIONS });
  const older: Array<{ sha: string; rounds: readonly Round[] | null }> = [];
  let base: readonly Round[] = [];
  let start = false; // the walk found where the rounds begin (or a revision already accepted)
  for (const c of commits) {
    if (c.sha === pointer.revision) continue;
    const known = accepted.get(c.sha);
    if (known) {
      base = known;
      start = true;
      break;
    }
    let text: string;
    try {
      text = await readFile(await hub.downloadFile({ repo: pointer.repoId, type: 'dataset', revision: c.sha, path: COMPETITION_FILE, maxBytes: COMPETITION_FILE_MAX_BYTES }), 'utf8');
    } catch (err) {
      if (!(err instanceof EntryNotFoundError || err instanceof DownloadCapExceededError)) throw err;
      start = true; // before the competition, or never usable
      break;
    }
    const parsed = parseCompetition(text);
    const rounds = parsed.ok ? competitionRounds(parsed.value) : null;
    // another competition's history, or the open competition the rounds started from
    if ((parsed.ok && parsed.value.id !== competition.id) || (rounds && rounds.length === 0)) {
      start = true;
      break;
    }
    older.push({ sha: c.sha, rounds });
  }
  // a history longer than the walk: the oldest revision read is taken as it is
  if (!start && commits.length >= ROUNDS_HISTORY_MAX_REVISIONS) {
    while (older.length > 0 && !base.length) base = older.pop()!.rounds ?? [];
  }
  for (const r of older.reverse()) {
    if (r.rounds && !roundsStepProblem(base, r.rounds)) {
      base = r.rounds;
      accepted.set(r.sha, r.rounds);
    }
  }
  const next = competitionRounds(competition);
  const problem = roundsStepProblem(base, next);
  if (problem) return `against the competition's history on the hub: ${problem}`;
  accepted.set(pointer.revision, next);
  return null;
}
