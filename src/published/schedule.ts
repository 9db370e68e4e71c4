/**
 * The active competition and its sealed-round schedule, read from public sources only: the owner's
 * pointer on chain and competition.json at the pointer's revision on the hub (size-capped) — never
 * an evaluation file. Every failure is a reason, not a throw, so a caller prints the rest anyway.
 */
import { BLOCK_SECONDS } from '../chain/subtensor/network.js';
import { readFile } from 'node:fs/promises';
import type { Chain } from '../chain/chain.js';
import type { HubClient } from '../hub/index.js';
import {
  COMPETITION_FILE, COMPETITION_FILE_MAX_BYTES, commitmentForCompetition, competitionRounds, latestRevealedRound, parseCompetition, parseCompetitionPointer, roundAt,
  roundSchedule, type Competition, type CompetitionPointer, type RoundSchedule,
} from '../protocol/index.js';
import { errorMessage } from '../util/errors.js';


/** The competition the owner's pointer names, or why it cannot be read. */
export type ActiveCompetition =
  | { ok: true; pointer: CompetitionPointer; competition: Competition }
  | { ok: false; reason: string };

/**
 * The owner's competition pointer and competition.json, capped at `maxBytes`
 * (default `COMPETITION_FILE_MAX_BYTES`).
 *
 * @example
 * const c = await readActiveCompetition({ chain, hub, netuid: 1 });
 * if (c.ok) console.log(competitionSchedule(c.competition, block));
 */
export async function readActiveCompetition(o: { chain: Chain; hub: HubClient; netuid: number; maxBytes?: number }): Promise<ActiveCompetition> {
  let raw: Awaited<ReturnType<Chain['getCommitment']>>;
  let owner: string;
  try {
    owner = (await o.chain.subnetInfo({ netuid: o.netuid })).ownerHotkey;
    raw = await o.chain.getCommitment({ netuid: o.netuid, hotkey: owner });
  } catch (err) {
    return { ok: false, reason: `the owner's competition pointer cannot be read from the chain: ${errorMessage(err)}` };
  }
  if (!raw) return { ok: false, reason: `the owner of subnet ${o.netuid} (${owner}) has not published a competition` };
  const pointer = parseCompetitionPointer(raw.fields[0] ?? raw.data);
  if (!pointer.ok) return { ok: false, reason: `the owner's competition pointer is unusable: ${pointer.reason}` };
  const { repoId, revision } = pointer.value;
  const at = `${COMPETITION_FILE} of ${repoId}@${revision.slice(0, 12)}`;
  let text: string;
  try {
    const file = await o.hub.downloadFile({ repo: repoId, type: 'dataset', revision, path: COMPETITION_FILE, maxBytes: o.maxBytes ?? COMPETITION_FILE_MAX_BYTES });
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, reason: `${at} cannot be read: ${errorMessage(err)}` };
  }
  const parsed = parseCompetition(text);
  if (!parsed.ok) return { ok: false, reason: `${at} is unusable: ${oneLine(parsed.reason)}` };
  if (parsed.value.id !== pointer.value.competitionId) {
    return { ok: false, reason: `${at} is competition "${parsed.value.id}", but the owner's pointer names "${pointer.value.competitionId}"` };
  }
  return { ok: true, pointer: pointer.value, competition: parsed.value };
}

/** A reason listing one problem a line, as one line. */
function oneLine(reason: string): string {
  return reason.replace(/:\n/g, ': ').replace(/\n/g, '; ');
}

/** The rounds' schedule at `block`, or null when the competition has no sealed rounds (one open evaluation set). */
export function competitionSchedule(competition: Competition, block: number): RoundSchedule | null {
  const rounds = competitionRounds(competition);
  return rounds.length === 0 ? null : roundSchedule(rounds, block);
}

/** Where one miner's commitment stands in the rounds. */
export interface CommitmentRound {
  /** The commitment's block. */
  block: number;
  /** The round it takes part from (1-based; it carries over to later ones), or null: outside every window, it takes part in none. */
  round: number | null;
  /** Whether the round validators score now counts it. */
  scoredNow: boolean;
  /** Why it takes part in no round of this competition whatever its block (it does not parse, or names another competition); null otherwise. */
  problem: string | null;
}

/**
 * Where a commitment (its text and block) stands in a competition's rounds, or null when the
 * competition has no sealed rounds.
 */
export function commitmentRound(competition: Competition, commitment: { data: string | Uint8Array; block: number }): CommitmentRound | null {
  const rounds = competitionRounds(competition);
  if (rounds.length === 0) return null;
  const parsed = commitmentForCompetition(commitment.data, competition.id);
  const round = roundAt(rounds, commitment.block);
  const scoring = latestRevealedRound(rounds);
  return {
    block: commitment.block, round,
    scoredNow: parsed.ok && round !== null && scoring !== null && round <= scoring,
    problem: parsed.ok ? null : parsed.reason,
  };
}

/** About how long `blocks` blocks take at `blockSeconds` each: "≈ 40 min", "≈ 3 h 20 min", "≈ 2 d 5 h". */
export function approxDuration(blocks: number, blockSeconds = BLOCK_SECONDS): string {
  const minutes = Math.round((Math.max(0, blocks) * blockSeconds) / 60);
  if (minutes < 60) return `≈ ${minutes} min`;
  if (minutes < 48 * 60) return `≈ ${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  const hours = Math.round(minutes / 60);
  return `≈ ${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** Round numbers as ranges: [1, 2, 3, 5] → "1–3, 5". */
export function roundRanges(rounds: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < rounds.length; ) {
    let j = i;
    while (j + 1 < rounds.length && rounds[j + 1] === rounds[j]! + 1) j++;
    parts.push(j === i ? String(rounds[i]) : `${rounds[i]}–${rounds[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}
