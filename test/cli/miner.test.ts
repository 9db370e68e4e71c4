/**
 * The competition section of `flock miner status` (`formatCompetition`): with sealed rounds, the
 * open round and when its window closes (blocks and time at 12 s a block), the next window, the
 * rounds waiting for their reveal, the round scored now, and where the hotkey's commitment takes
 * part; without rounds one line; an unreadable competition one line with its reason, made printable.
 */
import { describe, expect, it } from 'vitest';
import { formatCompetition } from '../../src/cli/miner.js';
import { formatCommitment, parseCompetition, type Competition } from '../../src/protocol/index.js';
import { commitmentRound, competitionSchedule } from '../../src/published/schedule.js';

const hex = (c: string) => c.repeat(64);
const ROUNDS = [
  { opens: 100, closes: 200, evalSha256: hex('a'), evalFile: 'eval-1.jsonl' },
  { opens: 200, closes: 300, evalSha256: hex('b') },
  { opens: 300, closes: 400, evalSha256: hex('c') },
  { opens: 500, closes: 600, evalSha256: hex('d') },
];
const POINTER = { id: '1', repoId: 'flock/comp', revision: 'e'.repeat(40), evalFile: 'eval.jsonl' };

function competition(rounds: unknown[] | undefined): Competition {
  const parsed = parseCompetition({ protocol: 2, id: '1', baseModel: { repo: 'flock/tiny', revision: 'b'.repeat(40) }, ...(rounds ? { rounds } : {}) });
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
}

/** The section as `miner status` prints it at `block`, for a commitment at `committed` (none: null). */
function section(c: Competition, block: number, committed: number | null, competitionId = '1'): string[] {
  const data = formatCommitment({ repoId: 'miners/alice', competitionId, revision: 'c'.repeat(40) });
  return formatCompetition({
    block, competition: POINTER, competitionProblem: null, schedule: competitionSchedule(c, block),
    commitmentRound: committed === null ? null : commitmentRound(c, { data, block: committed }),
  });
}

describe('formatCompetition', () => {
  const sealed = competition(ROUNDS);

  it('shows the open round, when it closes, the next window, the rounds awaiting a reveal and the round scored now', () => {
    const lines = section(sealed, 350, 320);
    expect(lines[0]).toBe('competition 1 (flock/comp at eeeeeeeeeeee): 4 sealed round(s)');
    // 50 blocks × 12 s = 10 min; round 4 opens 150 blocks later = 30 min
    expect(lines).toContain('  round 3 open: window closes at block 400 (in 50 blocks, ≈ 10 min at 12 s a block)');
    expect(lines).toContain('  next window: round 4, blocks 500–599 (opens in 150 blocks, ≈ 30 min at 12 s a block)');
    expect(lines).toContain("  waiting for their evaluation set's reveal: round 2");
    expect(lines).toContain('  validators score round 1 now (the latest revealed, when its file matches the hash committed for it)');
    expect(lines.at(-1)).toBe("  this hotkey's commitment (block 320): takes part from round 3 (and the later ones): scored once round 3's evaluation set is revealed");
  });

  it('says a commitment in the revealed round is scored now, and one outside every window must be committed again', () => {
    expect(section(sealed, 350, 150).at(-1)).toBe("  this hotkey's commitment (block 150): takes part from round 1 (and the later ones): counted in round 1, scored now");
    expect(section(sealed, 350, 50).at(-1)).toMatch(/\(block 50\): outside every round's window, it takes part in no round: commit again while a round is open \(round 3 is open until block 399\)$/);
    expect(section(sealed, 450, 420).at(-1)).toMatch(/\(block 420\): outside every round's window.*\(round 4 opens at block 500\)$/);
    expect(section(sealed, 350, null).some((l) => l.includes('commitment'))).toBe(false);
    expect(section(sealed, 350, 320, '7').at(-1)).toMatch(/takes part in no round: the commitment is for competition "7"; the active competition is "1"/);
  });

  it('between windows says nothing is open; after the last window, that none is announced', () => {
    const between = section(sealed, 450, null);
    expect(between).toContain('  no round open: a commitment made now takes part in no round');
    expect(between).toContain("  waiting for their evaluation set's reveal: rounds 2–3");
    const after = section(sealed, 700, null);
    expect(after).toContain('  no further window announced');
    expect(after).toContain("  waiting for their evaluation set's reveal: rounds 2–4");
  });

  it('says when no round is revealed yet', () => {
    const unrevealed = competition(ROUNDS.map(({ evalFile: _, ...r }) => r));
    expect(section(unrevealed, 150, 150)).toContain('  validators score no round yet (none revealed)');
    expect(section(unrevealed, 150, 150).at(-1)).toMatch(/takes part from round 1 .*scored once round 1's evaluation set is revealed/);
  });

  it('without rounds says the evaluation set is open, in one line', () => {
    expect(section(competition(undefined), 350, 320)).toEqual(['competition 1 (flock/comp at eeeeeeeeeeee): the evaluation set eval.jsonl is open (no sealed rounds)']);
  });

  it('an unreadable competition is one line with its reason, control characters made visible', () => {
    const lines = formatCompetition({ block: 1, competition: null, competitionProblem: 'competition.json is invalid:\nrounds: \u001b[2J<b>bad</b>', schedule: null, commitmentRound: null });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^competition: competition\.json is invalid:/);
    expect(lines[0]).not.toContain('\u001b');
    expect(lines[0]).not.toContain('\n');
  });
});
