/**
 * `flock owner publish`: validate a competition and its evaluation set, upload them (and the base
 * model when given as a folder) to the hub, and commit the competition pointer from the subnet
 * owner's hotkey. Validators read that pointer to find what to judge.
 *
 * Sealed mode (protocol 2, docs/protocol.md "Sealed rounds"): instead of the evaluation set, only
 * its SHA-256 is published, as round 1 of `rounds`; the file is revealed after the round's window
 * closes (rounds.ts). The helpers every owner command shares — the owner check, reading the
 * current revision, writing the next one — are here too.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Chain, Signer } from '../chain/chain.js';
import { formatErrors, validateDataset } from '../dataset/index.js';
import type { HubClient, UploadFile } from '../hub/index.js';
import {
  COMPETITION_FILE, EVAL_FILE_MAX_BYTES, COMPETITION_FILE_MAX_BYTES, competitionRounds, evalSetCommitment, formatCompetitionPointer, parseCompetition,
  parseCompetitionPointer, roundsProblem, type Competition, type CompetitionPointer, type Round,
} from '../protocol/index.js';
import { FlockError } from '../util/errors.js';
import type { Logger } from '../util/log.js';

/** Where the base model comes from: a local folder to upload, or a repo at a pinned revision. */
export type ModelSource = { dir: string; repo?: string } | { repo: string; revision: string };

/** The subnet owner's hotkey (signs the pointer). */
export type OwnerKey = Signer & { address: string };

/** Round 1 of a sealed competition: the set whose hash is published, and its window's length. */
export interface SealedSet {
  evalPath: string;
  /** Blocks the submission window stays open (round 1 opens at the next block). */
  windowBlocks: number;
}

interface PublishCommon {
  chain: Chain;
  /** A hub client with a write token for the repos. */
  hub: HubClient;
  netuid: number;
  owner: OwnerKey;
  /** competition.json as the owner wrote it (its baseModel is replaced when `model` is given). */
  competitionJson: unknown;
  /** The competition dataset repo, `org/name`. */
  repo: string;
  model?: ModelSource;
  log: Logger;
}

/** An open evaluation set (`evalPath`, uploaded), or a sealed round 1 (`sealed`, only its hash uploaded). */
export type PublishOptions = PublishCommon & ({ evalPath: string; sealed?: undefined } | { sealed: SealedSet; evalPath?: undefined });

export interface PublishResult {
  competition: Competition;
  revision: string;
  modelRevision: string;
  pointer: string;
  block: number;
  /** Sealed mode: round 1 as published (its set not on the hub). */
  round?: Round;
}

/** Parse `--model`: an existing folder, or `REPO@REV` with a 40-hex revision. */
export async function parseModelSource(value: string): Promise<ModelSource> {
  const isDir = await stat(value).then((s) => s.isDirectory(), () => false);
  if (isDir) return { dir: value };
  const m = /^([^@\s]+)@([0-9a-f]{40})$/.exec(value);
  if (!m) throw new FlockError(`--model must be a model folder or REPO@REVISION (40-hex), got "${value}"`);
  return { repo: m[1]!, revision: m[2]! };
}

/** Files of a model folder that validators download (config, tokenizer, weights). */
function isModelFile(name: string): boolean {
  return /^(config|tokenizer|tokenizer_config|generation_config)\.json$/.test(name) || name.endsWith('.safetensors') || name === 'model.safetensors.index.json';
}

async function uploadModel(hub: HubClient, dir: string, repo: string): Promise<string> {
  const names = (await readdir(dir)).filter(isModelFile);
  if (!names.includes('config.json')) throw new FlockError(`${dir} has no config.json: not a model folder`);
  await hub.createRepo({ repo, type: 'model', existOk: true });
  return hub.uploadFiles({ repo, type: 'model', files: names.map((n) => ({ path: n, file: join(dir, n) })), message: 'flock owner publish: base model' });
}

/** Refuse any hotkey but the subnet's owner: validators read the pointer from the owner hotkey's commitment only. */
export async function requireSubnetOwner(chain: Chain, netuid: number, owner: OwnerKey): Promise<void> {
  const info = await chain.subnetInfo({ netuid });
  if (info.ownerHotkey !== owner.address) {
    throw new FlockError(`hotkey ${owner.address} is not the owner of subnet ${netuid} (${info.ownerHotkey})`, { hint: "validators read the pointer from the owner hotkey's commitment only" });
  }
}

/** Refuse an evaluation set that is not valid, has no rows, or is larger than validators download. */
export async function checkEvalSet(path: string): Promise<void> {
  const set = await validateDataset(path, { maxFileBytes: EVAL_FILE_MAX_BYTES });
  if (set.errorCount > 0 || set.rows.length === 0) {
    throw new FlockError(`the evaluation set ${path} is invalid${set.rows.length === 0 && set.errorCount === 0 ? ' (no rows)' : ''}`, { details: formatErrors(set) });
  }
}

/** A checked evaluation set's bytes and their commitment (`evalSetCommitment`). */
export async function readEvalSet(path: string): Promise<{ bytes: Buffer; sha256: string }> {
  await checkEvalSet(path);
  const bytes = await readFile(path);
  return { bytes, sha256: evalSetCommitment(bytes) };
}

/** The competition the owner's pointer names now: the pointer, its block, competition.json as written (`raw`) and parsed. */
export interface CurrentCompetition {
  pointer: CompetitionPointer;
  /** Block of the owner's commitment. */
  block: number;
  raw: Record<string, unknown>;
  competition: Competition;
}

/**
 * Read the competition the subnet owner's pointer names: null when the owner has committed
 * nothing; a FlockError when the pointer or its competition.json is unusable.
 */
export async function readCurrentCompetition(o: { chain: Chain; hub: HubClient; netuid: number; ownerHotkey: string }): Promise<CurrentCompetition | null> {
  const commitment = await o.chain.getCommitment({ netuid: o.netuid, hotkey: o.ownerHotkey });
  if (!commitment) return null;
  const parsedPointer = parseCompetitionPointer(commitment.fields[0] ?? commitment.data);
  if (!parsedPointer.ok) throw new FlockError(`the owner's commitment on subnet ${o.netuid} is not a competition pointer: ${parsedPointer.reason}`, { hint: 'publish the competition first: flock owner publish' });
  const pointer = parsedPointer.value;
  const where = `${pointer.repoId}@${pointer.revision.slice(0, 12)}`;
  const file = await o.hub.downloadFile({ repo: pointer.repoId, type: 'dataset', revision: pointer.revision, path: COMPETITION_FILE, maxBytes: COMPETITION_FILE_MAX_BYTES });
  const text = await readFile(file, 'utf8');
  const parsed = parseCompetition(text);
  if (!parsed.ok) throw new FlockError(`the competition at ${where} is unusable: ${parsed.reason}`, { hint: 'publish a valid competition.json: flock owner publish' });
  if (parsed.value.id !== pointer.competitionId) {
    throw new FlockError(`the pointer names competition "${pointer.competitionId}" but ${COMPETITION_FILE} at ${where} has id "${parsed.value.id}"`, { hint: 'publish the competition again: flock owner publish' });
  }
  return { pointer, block: commitment.block, raw: JSON.parse(text) as Record<string, unknown>, competition: parsed.value };
}

/**
 * Check the next revision's competition.json before anything is uploaded: it must parse, and its
 * rounds must follow the current revision's (`roundsProblem`), or validators would refuse it.
 */
export function checkNextRevision(current: Competition | null, next: Record<string, unknown>): Competition {
  const parsed = parseCompetition(next);
  if (!parsed.ok) throw new FlockError(parsed.reason);
  if (current && current.id === parsed.value.id) {
    const problem = roundsProblem(competitionRounds(current), competitionRounds(parsed.value));
    if (problem) {
      throw new FlockError(`validators would refuse this revision of competition ${current.id}: ${problem}`, {
        hint: 'rounds are only ever added (flock owner round open) or revealed (flock owner round reveal); to start over, publish under a new competition id',
      });
    }
  }
  return parsed.value;
}

/**
 * Write a competition revision and point the subnet at it: competition.json (and any other files)
 * in one hub commit, then the pointer committed from the owner hotkey.
 */
export async function commitRevision(o: {
  chain: Chain; hub: HubClient; netuid: number; owner: OwnerKey; repo: string; competition: Competition; raw: Record<string, unknown>;
  files?: UploadFile[]; message: string;
}): Promise<{ revision: string; pointer: string; block: number }> {
  const revision = await o.hub.uploadFiles({
    repo: o.repo, type: 'dataset', message: o.message,
    files: [{ path: COMPETITION_FILE, content: `${JSON.stringify(o.raw, null, 2)}\n` }, ...(o.files ?? [])],
  });
  const pointer = formatCompetitionPointer({ competitionId: o.competition.id, repoId: o.repo, revision });
  const tx = await o.chain.setCommitment({ netuid: o.netuid, data: pointer, signer: o.owner });
  return { revision, pointer, block: tx.blockNumber };
}

/**
 * Publish a competition and point the subnet at it.
 *
 * @example
 * const r = await publishCompetition({ chain, hub, netuid: 1, owner, competitionJson, evalPath: 'eval.jsonl', repo: 'flock/competition-1', log });
 * console.log(r.pointer, r.block);
 * // sealed: only the SHA-256 of round-1.jsonl is published, the window 7200 blocks from the next block
 * await publishCompetition({ ...same, evalPath: undefined, sealed: { evalPath: 'round-1.jsonl', windowBlocks: 7200 } });
 */
export async function publishCompetition(o: PublishOptions): Promise<PublishResult> {
  const { chain, hub, netuid, log } = o;
  const input = { ...(o.competitionJson as Record<string, unknown>) };
  if ((o.evalPath === undefined) === (o.sealed === undefined)) throw new FlockError('publish needs exactly one of an evaluation set and a sealed round 1');
  if (o.sealed) {
    if (input['protocol'] !== 2) {
      throw new FlockError(`sealed rounds need a protocol-2 competition; competition.json says "protocol": ${JSON.stringify(input['protocol'])}`, { hint: 'set "protocol": 2, or publish the set openly with --eval' });
    }
    if (input['rounds'] !== undefined) {
      throw new FlockError('competition.json already lists rounds: publishing sealed opens round 1 itself', { hint: 'remove "rounds" from competition.json; add later rounds with flock owner round open' });
    }
    if (!Number.isInteger(o.sealed.windowBlocks) || o.sealed.windowBlocks < 1) throw new FlockError(`the window must be a positive number of blocks, got ${o.sealed.windowBlocks}`);
  }
  await requireSubnetOwner(chain, netuid, o.owner);
  const evalPath = o.sealed ? o.sealed.evalPath : o.evalPath!;
  const evalSet = await readEvalSet(evalPath);
  // model folder: upload first so competition.json can pin its revision
  if (o.model && 'dir' in o.model) {
    const repo = o.model.repo ?? (input['baseModel'] as { repo?: string } | undefined)?.repo;
    if (!repo) throw new FlockError('competition.json names no baseModel.repo to upload the model folder to');
    const revision = await uploadModel(hub, o.model.dir, repo);
    log.info('uploaded the base model', { repo, revision });
    input['baseModel'] = { repo, revision };
  } else if (o.model) {
    input['baseModel'] = { repo: o.model.repo, revision: o.model.revision };
  }
  if (o.sealed) {
    // the window starts at the next block: the pointer to it lands then at the earliest
    const opens = (await chain.currentBlock()).number + 1;
    input['rounds'] = [{ opens, closes: opens + o.sealed.windowBlocks, evalSha256: evalSet.sha256 }];
  }
  const evalFile = typeof input['evalFile'] === 'string' ? input['evalFile'] : 'eval.jsonl';
  const current = await readCurrentCompetition({ chain, hub, netuid, ownerHotkey: o.owner.address }).catch((err: unknown) => {
    log.debug('the current competition pointer is unreadable; publishing over it', { err: String(err) });
    return null;
  });
  const competition = checkNextRevision(current?.competition ?? null, input);
  await hub.resolveRevision({ repo: competition.baseModel.repo, type: 'model', revision: competition.baseModel.revision }).catch((err: unknown) => {
    throw new FlockError(`the base model ${competition.baseModel.repo}@${competition.baseModel.revision.slice(0, 12)} is not on the hub: ${(err as Error).message}`);
  });

  await hub.createRepo({ repo: o.repo, type: 'dataset', existOk: true });
  const written = await commitRevision({
    chain, hub, netuid, owner: o.owner, repo: o.repo, competition, raw: input,
    message: `flock owner publish: competition ${competition.id}${o.sealed ? ' (round 1 sealed)' : ''}`,
    files: o.sealed ? [] : [{ path: evalFile, content: evalSet.bytes }],
  });
  const round = competitionRounds(competition)[0];
  log.info('competition published', {
    id: competition.id, repo: o.repo, revision: written.revision, block: written.block,
    ...(o.sealed && round ? { round: 1, opens: round.opens, closes: round.closes, evalSha256: round.evalSha256 } : {}),
  });
  return { competition, revision: written.revision, modelRevision: competition.baseModel.revision, pointer: written.pointer, block: written.block, ...(o.sealed && round ? { round } : {}) };
}
