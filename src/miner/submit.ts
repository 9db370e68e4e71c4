/**
 * `flock miner submit`: dataset → hub → chain. Check the dataset exactly as validators will
 * (structure and the competition's byte limit), check the hotkey is registered, read the active
 * competition from the owner's pointer, upload data.jsonl (no new commit when the same content is
 * already at the head), commit `repo:competition:sha`, and wait for inclusion. When the chain's
 * commitment space for the epoch is used up (`SpaceLimitExceeded`), wait for the next epoch with
 * a visible countdown and retry.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Chain, Signer } from '../chain/chain.js';
import { SpaceLimitExceededError } from '../chain/index.js';
import { formatErrors, validateDataset } from '../dataset/index.js';
import { EntryNotFoundError, RepoNotFoundError, RevisionNotFoundError, type HubClient } from '../hub/index.js';
import {
  COMPETITION_FILE, COMPETITION_FILE_MAX_BYTES, competitionRounds, formatCommitment, roundSchedule, parseCompetition, parseCompetitionPointer, utf8Length, COMMITMENT_MAX_BYTES,
  type Competition, type CompetitionPointer,
} from '../protocol/index.js';
import { errorMessage, FlockError } from '../util/errors.js';
import type { Logger } from '../util/log.js';

/** The file validators read at the root of a miner's dataset repo. */
export const DATASET_FILE = 'data.jsonl';

export interface SubmitOptions {
  chain: Chain;
  /** A hub client with a write token for `repo`. */
  hub: HubClient;
  netuid: number;
  /** The miner's registered hotkey (signs the commitment). */
  hotkey: Signer & { address: string };
  datasetPath: string;
  /** The dataset repo, `owner/name`. */
  repo: string;
  log: Logger;
  /** Seconds per block, for the countdown (finney 12). */
  blockSeconds?: number;
  /** How often to poll the chain while waiting for the next epoch (default: one block). */
  pollMs?: number;
  /** Give up after this many refused attempts (default 5). */
  maxAttempts?: number;
  /** Called on each countdown tick (blocks left); the CLI draws it, tests observe it. */
  onCountdown?: (blocksLeft: number, nextEpochBlock: number) => void;
  /** Stop waiting when this returns true (Ctrl-C). */
  stopped?: () => boolean;
  /**
   * Commit before publish: keep the repo private until the commitment is on chain, then make it
   * public, so nobody can copy the data and commit it first (protocol 2 gives a dataset
   * `publishWindowBlocks` after its commitment to become readable).
   */
  private?: boolean;
}

export interface SubmitResult {
  uid: number;
  competitionId: string;
  revision: string;
  /** False when the content was already at the head of the repo (no new commit). */
  uploaded: boolean;
  commitment: string;
  block: number;
  /** With `private`: the repo was made public after the commitment landed. */
  published?: boolean;
  /** Attempts refused by the commitment space limit before this one landed. */
  retries: number;
}

/** The dataset is not valid: the validators would reject it. */
export class InvalidDatasetError extends FlockError {
  override name = 'InvalidDatasetError';
}

/** The owner's competition pointer, and the competition it names. */
export async function activeCompetition(chain: Chain, hub: HubClient, netuid: number): Promise<{ pointer: CompetitionPointer; competition: Competition }> {
  const info = await chain.subnetInfo({ netuid });
  const raw = await chain.getCommitment({ netuid, hotkey: info.ownerHotkey });
  if (!raw) throw new FlockError(`the owner of subnet ${netuid} (${info.ownerHotkey}) has not published a competition`, { hint: 'wait for the owner to run `flock owner publish`' });
  const pointer = parseCompetitionPointer(raw.fields[0] ?? raw.data);
  if (!pointer.ok) throw new FlockError(`the owner's competition pointer is unusable: ${pointer.reason}`);
  const file = await hub.downloadFile({ repo: pointer.value.repoId, type: 'dataset', revision: pointer.value.revision, path: COMPETITION_FILE, maxBytes: COMPETITION_FILE_MAX_BYTES });
  const parsed = parseCompetition(await readFile(file, 'utf8'));
  if (!parsed.ok) throw new FlockError(`the active competition is unusable: ${parsed.reason}`);
  return { pointer: pointer.value, competition: parsed.value };
}

/** Refuse a dataset the validators would reject (structure, byte limit); returns its row count. */
export async function checkDatasetForCompetition(path: string, competition: Competition): Promise<{ rows: number; identity: string }> {
  const size = (await stat(path)).size;
  if (size > competition.limits.maxBytes) {
    throw new InvalidDatasetError(`${path} is ${size} bytes; competition ${competition.id} accepts at most ${competition.limits.maxBytes}`, { hint: 'remove rows until it fits' });
  }
  // the same limits the validator's intake applies
  const v = await validateDataset(path, { maxFileBytes: competition.limits.maxBytes, maxRows: competition.limits.maxRows });
  if (v.errorCount > 0) {
    throw new InvalidDatasetError(`${path} has ${v.errorCount} problem(s); validators would score it 0`, { details: formatErrors(v), hint: 'fix them (see `flock dataset check`) and submit again' });
  }
  if (v.rows.length === 0) throw new InvalidDatasetError(`${path} has no rows`);
  return { rows: v.rows.length, identity: v.identity };
}

/** git's blob id of some content (what the hub lists as a file's `oid`). */
function gitBlobOid(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/** The head SHA when data.jsonl there already has this content; undefined otherwise. */
async function headWithSameContent(hub: HubClient, repo: string, content: Buffer): Promise<string | undefined> {
  try {
    const head = await hub.resolveRevision({ repo, type: 'dataset', revision: 'main' });
    const file = (await hub.listFiles({ repo, type: 'dataset', revision: head })).find((f) => f.path === DATASET_FILE);
    if (!file) return undefined;
    const same = file.lfs ? file.lfs.oid === createHash('sha256').update(content).digest('hex') : file.oid === gitBlobOid(content);
    return same ? head : undefined;
  } catch (err) {
    if (err instanceof RepoNotFoundError || err instanceof RevisionNotFoundError || err instanceof EntryNotFoundError) return undefined;
    throw err;
  }
}

/**
 * Upload data.jsonl unless the head already holds it; returns the revision and whether a commit was
 * made. `private`: the repo is created private, or made private before the upload.
 */
export async function uploadDataset(hub: HubClient, repo: string, path: string, options: { private?: boolean; log?: Logger } = {}): Promise<{ revision: string; uploaded: boolean }> {
  const content = await readFile(path);
  if (options.private) await makePrivate(hub, repo, options.log);
  const existing = await headWithSameContent(hub, repo, content);
  if (existing) return { revision: existing, uploaded: false };
  await hub.createRepo({ repo, type: 'dataset', existOk: true });
  const revision = await hub.uploadFiles({ repo, type: 'dataset', files: [{ path: DATASET_FILE, content }], message: 'flock miner submit: data.jsonl' });
  return { revision, uploaded: true };
}

/** Create `repo` private, or make an existing public one private (its earlier commits were public). */
async function makePrivate(hub: HubClient, repo: string, log?: Logger): Promise<void> {
  try {
    if (await hub.isPrivate({ repo, type: 'dataset' })) return;
    log?.warning(`${repo} is public: making it private before the upload (what it held before was visible; a new repo name is safer)`);
    await hub.setVisibility({ repo, type: 'dataset', private: true });
  } catch (err) {
    if (!(err instanceof RepoNotFoundError)) throw err;
    await hub.createRepo({ repo, type: 'dataset', private: true });
  }
}

/** True for the chain's per-epoch commitment space refusal. */
export function isSpaceLimitExceeded(err: unknown): boolean {
  return err instanceof SpaceLimitExceededError;
}

/** Wait until the chain passes the next epoch boundary, reporting the blocks left. */
async function waitForNextEpoch(o: SubmitOptions): Promise<void> {
  const info = await o.chain.subnetInfo({ netuid: o.netuid });
  const target = info.nextEpochBlock + 1;
  const poll = o.pollMs ?? (o.blockSeconds ?? 12) * 1000;
  for (;;) {
    const now = (await o.chain.currentBlock()).number;
    if (now >= target) return;
    if (o.stopped?.()) throw new FlockError('stopped while waiting for the next epoch');
    o.onCountdown?.(target - now, target);
    await new Promise((r) => setTimeout(r, poll));
  }
}

/**
 * With sealed rounds, a commitment takes part only if it lands inside a round's window: refuse to
 * submit when none will be open at the next block (it would score 0 in every round), and warn when
 * the open one closes within a few blocks.
 */
async function requireOpenRound(chain: Chain, competition: Competition, log: Logger): Promise<void> {
  const rounds = competitionRounds(competition);
  if (rounds.length === 0) return;
  const next = (await chain.currentBlock()).number + 1;
  const schedule = roundSchedule(rounds, next);
  if (!schedule.open) {
    const when = schedule.next ? `the next, round ${schedule.next.round}, opens at block ${schedule.next.opens} (in ${schedule.next.opens - next + 1} blocks)` : 'no later round is announced';
    throw new FlockError(`no round of competition ${competition.id} is open for submissions at block ${next}: ${when}; a commitment now would take part in no round`, {
      hint: 'submit while a round is open (`flock miner status` shows the schedule)',
    });
  }
  if (schedule.open.blocksLeft <= 3) log.warning(`round ${schedule.open.round}'s window closes at block ${schedule.open.closes}: a commitment landing later takes part in no round`);
}

/**
 * Submit a dataset: check, upload, commit (retrying after the epoch when the space limit refuses).
 *
 * @example
 * const r = await submitDataset({ chain, hub, netuid: 1, hotkey, datasetPath: 'data.jsonl', repo: 'alice/ds', log });
 * console.log(r.commitment, r.block);
 */
export async function submitDataset(o: SubmitOptions): Promise<SubmitResult> {
  const { chain, hub, netuid, log } = o;
  const { competition } = await activeCompetition(chain, hub, netuid);
  const checked = await checkDatasetForCompetition(o.datasetPath, competition);
  log.info(`dataset is valid`, { rows: checked.rows, identity: checked.identity.slice(0, 12), competition: competition.id });
  const uid = await chain.uidOf({ netuid, hotkey: o.hotkey.address });
  if (uid === undefined) throw new FlockError(`hotkey ${o.hotkey.address} is not registered on subnet ${netuid}`, { hint: `register it first: btcli subnets register --netuid ${netuid}` });
  await requireOpenRound(chain, competition, log);

  const { revision, uploaded } = await uploadDataset(hub, o.repo, o.datasetPath, { private: o.private, log });
  log.info(uploaded ? `uploaded ${DATASET_FILE}` : `${DATASET_FILE} is already at the head: no new commit`, { repo: o.repo, revision });
  const commitment = formatCommitment({ repoId: o.repo, competitionId: competition.id, revision });
  if (utf8Length(commitment) > COMMITMENT_MAX_BYTES) throw new FlockError(`the commitment "${commitment}" is longer than ${COMMITMENT_MAX_BYTES} bytes`, { hint: 'use a shorter repo name' });

  const maxAttempts = o.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      const tx = await chain.setCommitment({ netuid, data: commitment, signer: o.hotkey });
      const result: SubmitResult = { uid, competitionId: competition.id, revision, uploaded, commitment, block: tx.blockNumber, retries: attempt - 1 };
      if (!o.private) return result;
      // the commitment is on chain: the earlier block is ours, the data may be seen now
      try {
        await hub.setVisibility({ repo: o.repo, type: 'dataset', private: false });
      } catch (err) {
        const window = 'publishWindowBlocks' in competition.scoring ? competition.scoring.publishWindowBlocks : 0;
        throw new FlockError(`committed at block ${tx.blockNumber}, but making ${o.repo} public failed: ${errorMessage(err)}`, {
          hint: `make it public on the hub (the repo's Settings → visibility; do not submit again: a new commitment loses this block) before block ${tx.blockNumber + window}: validators score a dataset they cannot read 0 after that`,
        });
      }
      log.info(`${o.repo} is public now that its commitment is on chain`, { block: tx.blockNumber });
      return { ...result, published: true };
    } catch (err) {
      if (!isSpaceLimitExceeded(err) || attempt >= maxAttempts) throw err;
      log.warning('the chain refused the commitment: this hotkey used its commitment space for the epoch; waiting for the next epoch', { attempt });
      await waitForNextEpoch(o);
    }
  }
}
