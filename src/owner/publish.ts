/**
 * `flock owner publish`: validate a competition and its evaluation set, upload them (and the base
 * model when given as a folder) to the hub, and commit the competition pointer from the subnet
 * owner's hotkey. Validators read that pointer to find what to judge.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Chain, Signer } from '../chain/chain.js';
import { formatErrors, validateDataset } from '../dataset/index.js';
import type { HubClient } from '../hub/index.js';
import { COMPETITION_FILE, formatCompetitionPointer, parseCompetition, type Competition } from '../protocol/index.js';
import { FlockError } from '../util/errors.js';
import type { Logger } from '../util/log.js';

/** Where the base model comes from: a local folder to upload, or a repo at a pinned revision. */
export type ModelSource = { dir: string; repo?: string } | { repo: string; revision: string };

export interface PublishOptions {
  chain: Chain;
  /** A hub client with a write token for the repos. */
  hub: HubClient;
  netuid: number;
  /** The subnet owner's hotkey (signs the pointer). */
  owner: Signer & { address: string };
  /** competition.json as the owner wrote it (its baseModel is replaced when `model` is given). */
  competitionJson: unknown;
  evalPath: string;
  /** The competition dataset repo, `org/name`. */
  repo: string;
  model?: ModelSource;
  log: Logger;
}

export interface PublishResult {
  competition: Competition;
  revision: string;
  modelRevision: string;
  pointer: string;
  block: number;
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

/**
 * Publish a competition and point the subnet at it.
 *
 * @example
 * const r = await publishCompetition({ chain, hub, netuid: 1, owner, competitionJson, evalPath: 'eval.jsonl', repo: 'flock/competition-1', log });
 * console.log(r.pointer, r.block);
 */
export async function publishCompetition(o: PublishOptions): Promise<PublishResult> {
  const { chain, hub, netuid, log } = o;
  const input = { ...(o.competitionJson as Record<string, unknown>) };
  const info = await chain.subnetInfo({ netuid });
  if (info.ownerHotkey !== o.owner.address) {
    throw new FlockError(`hotkey ${o.owner.address} is not the owner of subnet ${netuid} (${info.ownerHotkey})`, { hint: "validators read the pointer from the owner hotkey's commitment only" });
  }
  const evalSet = await validateDataset(o.evalPath);
  if (evalSet.errorCount > 0 || evalSet.rows.length === 0) {
    throw new FlockError(`the evaluation set ${o.evalPath} is invalid${evalSet.rows.length === 0 && evalSet.errorCount === 0 ? ' (no rows)' : ''}`, { details: formatErrors(evalSet) });
  }
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
  const evalFile = typeof input['evalFile'] === 'string' ? input['evalFile'] : 'eval.jsonl';
  const parsed = parseCompetition(input);
  if (!parsed.ok) throw new FlockError(parsed.reason);
  const competition = parsed.value;
  await hub.resolveRevision({ repo: competition.baseModel.repo, type: 'model', revision: competition.baseModel.revision }).catch((err: unknown) => {
    throw new FlockError(`the base model ${competition.baseModel.repo}@${competition.baseModel.revision.slice(0, 12)} is not on the hub: ${(err as Error).message}`);
  });

  await hub.createRepo({ repo: o.repo, type: 'dataset', existOk: true });
  const revision = await hub.uploadFiles({
    repo: o.repo, type: 'dataset', message: `flock owner publish: competition ${competition.id}`,
    files: [
      { path: COMPETITION_FILE, content: `${JSON.stringify(input, null, 2)}\n` },
      { path: evalFile, content: await readFile(o.evalPath) },
    ],
  });
  const pointer = formatCompetitionPointer({ competitionId: competition.id, repoId: o.repo, revision });
  const tx = await chain.setCommitment({ netuid, data: pointer, signer: o.owner });
  log.info('competition published', { id: competition.id, repo: o.repo, revision, block: tx.blockNumber });
  return { competition, revision, modelRevision: competition.baseModel.revision, pointer, block: tx.blockNumber };
}
