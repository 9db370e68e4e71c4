/**
 * Sealed evaluation rounds (docs/protocol.md, "Sealed rounds"). A protocol-2 competition may run
 * in rounds: each round has a submission window of blocks `[opens, closes)` and an evaluation set
 * nobody but the owner can read until the window has closed. When the round opens, competition.json
 * carries only the SHA-256 of the set's file (`evalSha256`); after the window closes the owner
 * uploads the file and names it (`evalFile`). Validators score the latest revealed round, checking
 * the file against the hash, so a set cannot be swapped after miners committed.
 *
 * A dataset takes part in the round whose window holds its commitment block and in every later
 * one (it carries over); a commitment outside every window takes part in none. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Zero } from './scoring.js';

/** Most rounds one competition.json may list (one a day for ~3 years). */
export const MAX_ROUNDS = 1000;

const HEX64 = /^[0-9a-f]{64}$/;
/** Largest block a window may name (subtensor's block numbers are u32). */
const MAX_BLOCK = 2 ** 32 - 1;

/** A plain file name in the competition repo's root (the same rule as `evalFile`). */
export const evalFileNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/, 'must be a plain file name in the repo root')
  .refine((f) => !f.includes('..'), 'must not contain ".."');

/** One round as competition.json lists it. */
export const roundSchema = z
  .object({
    /** First block of the submission window. */
    opens: z.number().int().min(0).max(MAX_BLOCK),
    /** First block after the window: commitments at blocks `opens ≤ b < closes` take part. */
    closes: z.number().int().min(1).max(MAX_BLOCK),
    /** SHA-256 (hex) of the evaluation set file's bytes, published when the round opens. */
    evalSha256: z.string().regex(HEX64, 'must be 64 lowercase hex characters (the SHA-256 of the evaluation file)'),
    /** The revealed evaluation set (absent while sealed). */
    evalFile: evalFileNameSchema.optional(),
  })
  .strict()
  .refine((r) => r.opens < r.closes, { message: 'closes must be after opens', path: ['closes'] });

export type Round = z.infer<typeof roundSchema>;

/** The rounds of a competition: at least one, windows in order and not overlapping, every set distinct. */
export const roundsSchema = z
  .array(roundSchema)
  .min(1)
  .max(MAX_ROUNDS)
  .superRefine((rounds, ctx) => {
    const files = new Set<string>();
    const hashes = new Set<string>();
    rounds.forEach((r, k) => {
      const prev = rounds[k - 1];
      if (prev && r.opens < prev.closes) {
        ctx.addIssue({ code: 'custom', path: [k, 'opens'], message: `round ${k + 1} opens at block ${r.opens}, before round ${k} closes (block ${prev.closes})` });
      }
      if (hashes.has(r.evalSha256)) ctx.addIssue({ code: 'custom', path: [k, 'evalSha256'], message: `round ${k + 1} reuses an earlier round's evaluation set` });
      hashes.add(r.evalSha256);
      if (r.evalFile !== undefined) {
        if (files.has(r.evalFile)) ctx.addIssue({ code: 'custom', path: [k, 'evalFile'], message: `round ${k + 1} names the file of an earlier round` });
        files.add(r.evalFile);
      }
    });
  });

/**
 * The commitment to an evaluation set: the SHA-256 (hex) of its file's bytes. The owner publishes
 * it when the round opens; anyone can check a revealed file against it (`sha256sum` gives the same).
 * A file of rows nobody outside the owner has seen cannot be guessed from it.
 *
 * @example
 * evalSetCommitment(readFileSync('eval-round-1.jsonl'))
 */
export function evalSetCommitment(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The round (1-based) whose window holds `block`, or null when none does. */
export function roundAt(rounds: readonly Round[], block: number): number | null {
  const k = rounds.findIndex((r) => r.opens <= block && block < r.closes);
  return k < 0 ? null : k + 1;
}

/** The latest round with a revealed evaluation set (1-based), or null while none is. */
export function latestRevealedRound(rounds: readonly Round[]): number | null {
  for (let k = rounds.length - 1; k >= 0; k--) if (rounds[k]!.evalFile !== undefined) return k + 1;
  return null;
}

/**
 * Whether a commitment takes part in round `scoring` (the round being scored): null when it does
 * (its window is that round's or an earlier one's), else the zero it gets. A commitment outside
 * every window is a commitment fault ("commit again while a round is open"); one in a later
 * round's window waits for that round's reveal.
 *
 * @example
 * roundVerdict({ commitmentBlock: 150, rounds, scoring: 1, currentBlock: 160 }); // null, or a Zero
 */
export function roundVerdict(p: { commitmentBlock: number; rounds: readonly Round[]; scoring: number; currentBlock?: number }): Zero | null {
  const k = roundAt(p.rounds, p.commitmentBlock);
  if (k === null) {
    return { stage: 'commitment', reason: `committed at block ${p.commitmentBlock}, outside every round's submission window (${windowsText(p.rounds)}); commit again while a round is open` };
  }
  if (k <= p.scoring) return null;
  const r = p.rounds[k - 1]!;
  const head = `takes part from round ${k} (committed at block ${p.commitmentBlock}); round ${p.scoring} is being scored`;
  if (p.currentBlock !== undefined && p.currentBlock >= r.closes) {
    // a reveal that does not come: say so, so miners know whom to ask
    return { stage: 'not_evaluated', reason: `${head}; round ${k}'s window closed at block ${r.closes}, ${p.currentBlock - r.closes} block(s) ago, and the owner has not revealed a set matching its commitment yet` };
  }
  return { stage: 'not_evaluated', reason: `${head}, round ${k}'s evaluation set is revealed after its window closes at block ${r.closes}` };
}

function windowsText(rounds: readonly Round[]): string {
  const shown = rounds.slice(-3).map((r) => `round ${rounds.indexOf(r) + 1}: blocks ${r.opens}–${r.closes - 1}`);
  return rounds.length > 3 ? `…, ${shown.join(', ')}` : shown.join(', ');
}

/**
 * Why a new competition revision's rounds cannot follow the ones seen before, or null when they
 * can: rounds are only ever added or revealed. Every earlier round must stay with the same window
 * and hash, and a revealed one stays revealed with the same file — otherwise the owner's pointer
 * went backwards (an older revision) or rewrote a round miners already committed against.
 */
export function roundsProblem(previous: readonly Round[], next: readonly Round[]): string | null {
  if (next.length < previous.length) return `it lists ${next.length} round(s) where the revision before listed ${previous.length}: rounds may only be added`;
  for (let k = 0; k < previous.length; k++) {
    const a = previous[k]!;
    const b = next[k]!;
    if (a.opens !== b.opens || a.closes !== b.closes) return `round ${k + 1}'s window changed from blocks ${a.opens}–${a.closes - 1} to ${b.opens}–${b.closes - 1}`;
    if (a.evalSha256 !== b.evalSha256) return `round ${k + 1}'s evaluation set commitment changed (${a.evalSha256.slice(0, 12)}… → ${b.evalSha256.slice(0, 12)}…)`;
    if (a.evalFile !== undefined && b.evalFile !== a.evalFile) return `round ${k + 1} was revealed as ${a.evalFile} and is now ${b.evalFile === undefined ? 'sealed again' : `named ${b.evalFile}`}`;
  }
  return null;
}

/**
 * Why `next` cannot be the revision published right after `previous`, or null: `roundsProblem`,
 * and every round new in `next` must be sealed — a round published already revealed was never
 * sealed, so miners could read its set while they committed for it.
 */
export function roundsStepProblem(previous: readonly Round[], next: readonly Round[]): string | null {
  const problem = roundsProblem(previous, next);
  if (problem) return problem;
  const k = next.findIndex((r, i) => i >= previous.length && r.evalFile !== undefined);
  return k < 0 ? null : `round ${k + 1} is published already revealed (${next[k]!.evalFile}): a round's set must be sealed when the round opens`;
}

/**
 * A round's state at `block`: `announced` (its window opens later), `open` (commitments land in
 * it), `sealed` (window closed, set not revealed yet) or `revealed`.
 */
export function roundStateAt(r: Round, block: number): 'announced' | 'open' | 'sealed' | 'revealed' {
  if (block < r.opens) return 'announced';
  if (block < r.closes) return 'open';
  return r.evalFile === undefined ? 'sealed' : 'revealed';
}

/** Where a competition's rounds stand at a block: what a miner needs to know to submit. */
export interface RoundSchedule {
  /** The round whose window is open (1-based), its window and blocks left; null when none is open. */
  open: { round: number; opens: number; closes: number; blocksLeft: number } | null;
  /** The next window not yet open, if one is announced. */
  next: { round: number; opens: number; closes: number } | null;
  /** Rounds whose window closed and whose set is not revealed yet. */
  awaitingReveal: number[];
  /** The round validators score now (latest revealed), or null. */
  scoring: number | null;
  rounds: number;
}

/** The schedule at `block`. */
export function roundSchedule(rounds: readonly Round[], block: number): RoundSchedule {
  const open = roundAt(rounds, block);
  const nextK = rounds.findIndex((r) => r.opens > block);
  return {
    open: open === null ? null : { round: open, opens: rounds[open - 1]!.opens, closes: rounds[open - 1]!.closes, blocksLeft: rounds[open - 1]!.closes - block },
    next: nextK < 0 ? null : { round: nextK + 1, opens: rounds[nextK]!.opens, closes: rounds[nextK]!.closes },
    awaitingReveal: rounds.flatMap((r, k) => (roundStateAt(r, block) === 'sealed' ? [k + 1] : [])),
    scoring: latestRevealedRound(rounds),
    rounds: rounds.length,
  };
}
