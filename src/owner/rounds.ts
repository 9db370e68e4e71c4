/**
 * `flock owner round open|reveal`: the owner's side of sealed evaluation rounds (docs/protocol.md,
 * "Sealed rounds"). Each command reads the competition the owner's pointer names, writes the next
 * revision of competition.json (checked as validators will check it) in one hub commit, and points
 * the subnet at it — the same path as `publishCompetition`.
 *
 * - open: a new round whose set is published only as its SHA-256; its window starts at the next
 *   block, or back to back when the last window is still open, so no block falls between windows.
 * - reveal: after a round's window closed, the file whose hash was committed, as
 *   `eval-round-<N>.jsonl`; validators then score that round.
 */
import { BLOCK_SECONDS } from '../chain/subtensor/network.js';
import { readFile } from 'node:fs/promises';
import type { Chain } from '../chain/chain.js';
import type { HubClient } from '../hub/index.js';
import { competitionRounds, evalSetCommitment, type Competition, type Round } from '../protocol/index.js';
import { FlockError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import {
  checkEvalSet, checkNextRevision, commitRevision, readCurrentCompetition, readEvalSet, requireSubnetOwner, type CurrentCompetition, type OwnerKey,
} from './publish.js';


interface RoundCommon {
  chain: Chain;
  /** A hub client with a write token for the competition repo. */
  hub: HubClient;
  netuid: number;
  owner: OwnerKey;
  /** The round's evaluation set (JSONL chat rows). */
  evalPath: string;
  log: Logger;
}

export interface OpenRoundOptions extends RoundCommon {
  /** Blocks the submission window stays open. */
  windowBlocks: number;
}

export interface RevealRoundOptions extends RoundCommon {
  /** The round to reveal (1-based); default the earliest unrevealed round whose window has closed. */
  round?: number;
}

/** What a round command did. */
export interface RoundCommandResult {
  competition: Competition;
  /** The round opened or revealed (1-based). */
  round: number;
  opens: number;
  closes: number;
  evalSha256: string;
  /** Reveal: the file the set was uploaded as. */
  evalFile?: string;
  /** Open: the competition had one open evaluation set and runs in sealed rounds from this one on. */
  startedSealing?: boolean;
  /** The chain's block when the command checked the schedule. */
  checkedAtBlock: number;
  revision: string;
  pointer: string;
  /** Block of the pointer's commitment. */
  block: number;
}

/**
 * Roughly how long `blocks` blocks take at 12 s each, for people: "≈ 1 d 2 h", "≈ 2 h 24 min", "≈ 12 min".
 *
 * @example
 * approxBlockTime(7200); // "≈ 1 d"
 */
export function approxBlockTime(blocks: number, blockSeconds = BLOCK_SECONDS): string {
  const s = Math.max(0, blocks) * blockSeconds;
  if (s < 60) return `≈ ${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `≈ ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `≈ ${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
  const days = Math.floor(hours / 24);
  return `≈ ${days} d${hours % 24 ? ` ${hours % 24} h` : ''}`;
}

/** The revealed file's name for round `n`. */
export function roundEvalFileName(n: number): string {
  return `eval-round-${n}.jsonl`;
}

/** The owner's current competition, required to exist and to be protocol 2. */
async function currentSealable(o: RoundCommon): Promise<CurrentCompetition> {
  await requireSubnetOwner(o.chain, o.netuid, o.owner);
  const current = await readCurrentCompetition({ chain: o.chain, hub: o.hub, netuid: o.netuid, ownerHotkey: o.owner.address });
  if (!current) throw new FlockError(`the owner of subnet ${o.netuid} has not published a competition yet`, { hint: 'publish it first: flock owner publish --round-eval FILE --window BLOCKS' });
  if (current.competition.protocol !== 2) {
    throw new FlockError(`competition ${current.competition.id} is protocol ${current.competition.protocol}: sealed rounds need protocol 2`, {
      hint: 'publish a protocol-2 competition.json ("protocol": 2) with flock owner publish --round-eval FILE --window BLOCKS',
    });
  }
  return current;
}

/**
 * Open the next sealed round: validate and hash the set, and publish only the hash with the
 * round's window. An open protocol-2 competition (one public set) becomes sealed with this as round 1.
 *
 * @example
 * const r = await openRound({ chain, hub, netuid: 1, owner, evalPath: 'eval-2.jsonl', windowBlocks: 7200, log });
 * console.log(`round ${r.round}: blocks ${r.opens}–${r.closes - 1}, sha256 ${r.evalSha256}`);
 */
export async function openRound(o: OpenRoundOptions): Promise<RoundCommandResult> {
  const { chain, log } = o;
  if (!Number.isInteger(o.windowBlocks) || o.windowBlocks < 1) throw new FlockError(`the window must be a positive number of blocks, got ${o.windowBlocks}`);
  const current = await currentSealable(o);
  const { competition: before, pointer } = current;
  const set = await readEvalSet(o.evalPath);
  const rounds = competitionRounds(before);
  const reused = rounds.findIndex((r) => r.evalSha256 === set.sha256);
  if (reused >= 0) {
    throw new FlockError(`${o.evalPath} is round ${reused + 1}'s evaluation set (sha256 ${set.sha256.slice(0, 16)}…): every round needs a set of its own`, {
      hint: 'write a new evaluation set for this round',
    });
  }
  const now = (await chain.currentBlock()).number;
  const last = rounds.at(-1);
  // back to back while the last window is open: a commitment between two windows would take part in none
  const opens = Math.max(now + 1, last?.closes ?? 0);
  const round: Round = { opens, closes: opens + o.windowBlocks, evalSha256: set.sha256 };
  const raw = { ...current.raw, rounds: [...rounds, round] };
  const competition = checkNextRevision(before, raw);
  const n = rounds.length + 1;
  const written = await commitRevision({
    chain, hub: o.hub, netuid: o.netuid, owner: o.owner, repo: pointer.repoId, competition, raw,
    message: `flock owner round open: round ${n} of competition ${competition.id} (sealed)`,
  });
  if (rounds.length === 0) {
    log.warning(`competition ${competition.id} had one open evaluation set; from this revision on it runs in sealed rounds, this one being round 1`, {
      detail: `validators have no round to score until round 1 is revealed after block ${round.closes - 1}, and only commitments made in a round's window take part: miners who committed before block ${round.opens} must commit again`,
    });
  }
  log.info(`round ${n} opened`, { id: competition.id, opens: round.opens, closes: round.closes, evalSha256: round.evalSha256, revision: written.revision, block: written.block });
  return { competition, round: n, ...round, startedSealing: rounds.length === 0, checkedAtBlock: now, ...written };
}

/** The round to reveal: the one asked for, else the earliest unrevealed one whose window closed (else the earliest unrevealed). */
function roundToReveal(rounds: readonly Round[], asked: number | undefined, now: number, id: string): number {
  if (asked !== undefined) {
    if (!Number.isInteger(asked) || asked < 1 || asked > rounds.length) {
      throw new FlockError(`competition ${id} has no round ${asked}: it has rounds 1–${rounds.length}`);
    }
    return asked;
  }
  const closed = rounds.findIndex((r) => r.evalFile === undefined && r.closes <= now);
  if (closed >= 0) return closed + 1;
  const sealed = rounds.findIndex((r) => r.evalFile === undefined);
  if (sealed >= 0) return sealed + 1; // its window is still open: refused below with when it closes
  throw new FlockError(`every round of competition ${id} is revealed (${rounds.length})`, { hint: 'open the next one: flock owner round open --eval FILE --window BLOCKS' });
}

/**
 * Reveal a round's evaluation set after its window closed: the file must be the one whose SHA-256
 * was committed. It is uploaded as `eval-round-<N>.jsonl` with competition.json naming it, in one
 * hub commit, and the pointer follows.
 *
 * @example
 * const r = await revealRound({ chain, hub, netuid: 1, owner, evalPath: 'eval-1.jsonl', log });
 * console.log(`round ${r.round} revealed as ${r.evalFile}`);
 */
export async function revealRound(o: RevealRoundOptions): Promise<RoundCommandResult> {
  const { chain, log } = o;
  const current = await currentSealable(o);
  const { competition: before, pointer } = current;
  const rounds = competitionRounds(before);
  if (rounds.length === 0) {
    throw new FlockError(`competition ${before.id} has no sealed rounds: its evaluation set ${before.evalFile} is public already`, {
      hint: 'open a sealed round first: flock owner round open --eval FILE --window BLOCKS',
    });
  }
  const now = (await chain.currentBlock()).number;
  const n = roundToReveal(rounds, o.round, now, before.id);
  const r = rounds[n - 1]!;
  if (r.evalFile !== undefined) {
    throw new FlockError(`round ${n} of competition ${before.id} is already revealed as ${r.evalFile}`, {
      hint: rounds.some((x) => x.evalFile === undefined) ? 'reveal another round with --round N' : 'open the next round: flock owner round open --eval FILE --window BLOCKS',
    });
  }
  if (now < r.closes) {
    const left = r.closes - now;
    throw new FlockError(`round ${n}'s window is still open: it closes at block ${r.closes}, now block ${now} (${left} block${left === 1 ? '' : 's'} left, ${approxBlockTime(left)})`, {
      hint: `revealing early lets miners fit the set while they can still commit; run this again at block ${r.closes} or later`,
    });
  }
  const bytes = await readFile(o.evalPath);
  const sha256 = evalSetCommitment(bytes);
  if (sha256 !== r.evalSha256) {
    throw new FlockError(`${o.evalPath} is not the file committed for round ${n}: its sha256 is ${sha256}, round ${n} committed ${r.evalSha256}`, {
      hint: 'reveal the exact file whose SHA-256 was published when the round opened (sha256sum prints it); validators refuse any other',
    });
  }
  await checkEvalSet(o.evalPath);
  const earlier = rounds.slice(0, n - 1).flatMap((x, k) => (x.evalFile === undefined ? [k + 1] : []));
  if (earlier.length > 0) {
    log.warning(`round(s) ${earlier.join(', ')} are not revealed yet: validators score the latest revealed round, so they will not be scored once round ${n} is`);
  }
  const evalFile = roundEvalFileName(n);
  const raw = { ...current.raw, rounds: rounds.map((x, k) => (k === n - 1 ? { ...x, evalFile } : x)) };
  const competition = checkNextRevision(before, raw);
  const written = await commitRevision({
    chain, hub: o.hub, netuid: o.netuid, owner: o.owner, repo: pointer.repoId, competition, raw,
    files: [{ path: evalFile, content: bytes }],
    message: `flock owner round reveal: round ${n} of competition ${competition.id}`,
  });
  log.info(`round ${n} revealed`, { id: competition.id, evalFile, evalSha256: r.evalSha256, revision: written.revision, block: written.block });
  return { competition, round: n, opens: r.opens, closes: r.closes, evalSha256: r.evalSha256, evalFile, checkedAtBlock: now, ...written };
}
