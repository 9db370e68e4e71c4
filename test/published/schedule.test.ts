/**
 * The active competition and its sealed-round schedule, read from a local hub and an owner's
 * pointer: a competition with rounds gives the schedule at any block and where a commitment takes
 * part; one without rounds gives no schedule; every broken source — no pointer, an unusable one, a
 * chain that does not answer, a missing repo, a huge or malformed competition.json, one whose id is
 * not the pointer's — is a reason, never a throw.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Chain, Commitment } from '../../src/chain/chain.js';
import { ChainConnectionError } from '../../src/chain/subtensor/errors.js';
import type { HubClient, HubServer } from '../../src/hub/index.js';
import {
  COMPETITION_FILE, COMPETITION_FILE_MAX_BYTES, formatCommitment, formatCompetitionPointer, MAX_ROUNDS, parseCompetition, type Competition, type CompetitionInput,
} from '../../src/protocol/index.js';
import {
  approxDuration, commitmentRound, competitionSchedule, readActiveCompetition, roundRanges,
} from '../../src/published/schedule.js';
import { startTestHub } from '../validator/subnet.js';

const OWNER = '5GrwvaDeOwner';
const hex = (c: string) => c.repeat(64);

/** A chain that holds only the owner's commitment (or none), or does not answer. */
function ownerChain(pointer: string | null, down = false): Chain {
  const commitment = (data: string): Commitment => ({ netuid: 1, hotkey: OWNER, block: 5, data, fields: [new TextEncoder().encode(data)] });
  return {
    subnetInfo: async () => {
      if (down) throw new ChainConnectionError('ws://chain.invalid', 'connection refused');
      return { ownerHotkey: OWNER };
    },
    getCommitment: async (p: { hotkey: string }) => (p.hotkey === OWNER && pointer !== null ? commitment(pointer) : undefined),
  } as unknown as Chain;
}

const base = { id: '1', baseModel: { repo: 'flock/tiny', revision: 'b'.repeat(40) } };
/** Round 1 revealed, round 2 closed and sealed, round 3 open over blocks 300–399, round 4 announced. */
const ROUNDS = [
  { opens: 100, closes: 200, evalSha256: hex('a'), evalFile: 'eval-1.jsonl' },
  { opens: 200, closes: 300, evalSha256: hex('b') },
  { opens: 300, closes: 400, evalSha256: hex('c') },
  { opens: 500, closes: 600, evalSha256: hex('d') },
];

function competition(input: CompetitionInput): Competition {
  const parsed = parseCompetition(input);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
}

describe('readActiveCompetition', () => {
  let root: string;
  let hub: HubServer;
  let ownerHub: HubClient;
  let reader: HubClient;
  const revisions: Record<string, string> = {};

  const publish = async (name: string, content: string) => {
    const repo = `flock/competition-${name}`;
    await ownerHub.createRepo({ repo, type: 'dataset', existOk: true });
    revisions[name] = await ownerHub.uploadFiles({ repo, type: 'dataset', files: [{ path: COMPETITION_FILE, content }] });
  };
  const pointerTo = (name: string, competitionId = '1') => formatCompetitionPointer({ competitionId, repoId: `flock/competition-${name}`, revision: revisions[name] ?? 'f'.repeat(40) });
  const read = (pointer: string | null, o: { down?: boolean; maxBytes?: number } = {}) => readActiveCompetition({ chain: ownerChain(pointer, o.down), hub: reader, netuid: 1, maxBytes: o.maxBytes });
  const reason = async (pointer: string | null, o: { down?: boolean; maxBytes?: number } = {}) => {
    const r = await read(pointer, o);
    expect(r.ok).toBe(false);
    return r.ok ? '' : r.reason;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'flock-schedule-'));
    const started = await startTestHub(root);
    hub = started.hub;
    ownerHub = started.ownerHub;
    reader = started.minerHub;
    await publish('rounds', JSON.stringify({ ...base, protocol: 2, rounds: ROUNDS }));
    await publish('open', JSON.stringify({ ...base, protocol: 1 }));
    // a title past the 64 KiB cap
    await publish('huge', JSON.stringify({ ...base, protocol: 2, title: 'x'.repeat(COMPETITION_FILE_MAX_BYTES + 1) }));
    await publish('overlapping', JSON.stringify({ ...base, protocol: 2, rounds: [ROUNDS[0], { ...ROUNDS[1], opens: 150 }] }));
    await publish('bad-hash', JSON.stringify({ ...base, protocol: 2, rounds: [{ opens: 1, closes: 2, evalSha256: '<script>' }] }));
    await publish('too-many', JSON.stringify({ ...base, protocol: 2, rounds: Array.from({ length: MAX_ROUNDS + 1 }, (_, k) => ({ opens: 2 * k, closes: 2 * k + 1, evalSha256: k.toString(16).padStart(64, '0') })) }));
    await publish('bad-many', JSON.stringify({ ...base, protocol: 2, rounds: [{ opens: 1, closes: 2, evalSha256: 'x' }, { opens: 9, closes: 3, evalSha256: hex('e') }] }));
    await publish('not-json', '{"protocol": 2, "rounds": [');
    await publish('rounds-not-list', JSON.stringify({ ...base, protocol: 2, rounds: { opens: 1 } }));
  }, 60_000);
  afterAll(async () => {
    await hub?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('reads the pointer and competition.json, and gives the schedule at any block', async () => {
    const r = await read(pointerTo('rounds'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.pointer).toEqual({ competitionId: '1', repoId: 'flock/competition-rounds', revision: revisions['rounds'] });
    expect(competitionSchedule(r.competition, 350)).toEqual({
      open: { round: 3, opens: 300, closes: 400, blocksLeft: 50 }, next: { round: 4, opens: 500, closes: 600 }, awaitingReveal: [2], scoring: 1, rounds: 4,
    });
    // between windows: nothing open, round 3 waits for its reveal too
    expect(competitionSchedule(r.competition, 450)).toMatchObject({ open: null, next: { round: 4 }, awaitingReveal: [2, 3], scoring: 1 });
    // before the first window
    expect(competitionSchedule(r.competition, 0)).toMatchObject({ open: null, next: { round: 1 }, awaitingReveal: [], scoring: 1 });
  });

  it('gives no schedule for a competition with one open evaluation set', async () => {
    const r = await read(pointerTo('open'));
    expect(r.ok && competitionSchedule(r.competition, 350)).toBeNull();
    expect(r.ok && commitmentRound(r.competition, { data: formatCommitment({ repoId: 'm/d', competitionId: '1', revision: 'c'.repeat(40) }), block: 350 })).toBeNull();
  });

  it('says why when the chain or the owner gives no usable pointer', async () => {
    expect(await reason(null)).toMatch(/owner of subnet 1 \(5GrwvaDeOwner\) has not published a competition/);
    expect(await reason('miners/x:1:abc')).toMatch(/the owner's competition pointer is unusable/);
    expect(await reason(pointerTo('rounds'), { down: true })).toMatch(/cannot be read from the chain: .*connection refused/);
    expect(await reason(pointerTo('rounds', '2'))).toMatch(/is competition "1", but the owner's pointer names "2"/);
  });

  it('says why when competition.json is missing, huge or malformed', async () => {
    expect(await reason(pointerTo('nowhere'))).toMatch(/competition\.json of flock\/competition-nowhere@ffffffffffff cannot be read/);
    expect(await reason(pointerTo('huge'))).toMatch(new RegExp(`cannot be read: .*larger than the ${COMPETITION_FILE_MAX_BYTES}-byte limit`));
    expect(await reason(pointerTo('overlapping'))).toMatch(/is unusable: competition\.json is invalid: rounds\.1\.opens: round 2 opens at block 150, before round 1 closes \(block 200\)/);
    expect(await reason(pointerTo('bad-hash'))).toMatch(/is unusable: .*rounds\.0\.evalSha256: .*64 lowercase hex/);
    expect(await reason(pointerTo('not-json'))).toMatch(/is unusable: competition\.json is not JSON/);
    expect(await reason(pointerTo('rounds-not-list'))).toMatch(/is unusable: .*rounds: /);
    // several problems: one line, each after the one before
    const many = await reason(pointerTo('bad-many'));
    expect(many).not.toContain('\n');
    expect(many).toMatch(/rounds\.0\.evalSha256: .*; rounds\.1\.closes: closes must be after opens/);
    // more rounds than allowed cannot fit the size cap; read past the cap, the file is still refused
    expect(await reason(pointerTo('too-many'))).toMatch(/cannot be read: .*byte limit/);
    expect(await reason(pointerTo('too-many'), { maxBytes: 10 * COMPETITION_FILE_MAX_BYTES })).toMatch(/is unusable: competition\.json is larger than/);
  });
});

describe('commitmentRound', () => {
  const c = competition({ ...base, protocol: 2, rounds: ROUNDS });
  const mine = formatCommitment({ repoId: 'miners/alice', competitionId: '1', revision: 'c'.repeat(40) });

  it('names the round whose window holds the commitment, and whether the round scored now counts it', () => {
    expect(commitmentRound(c, { data: mine, block: 150 })).toEqual({ block: 150, round: 1, scoredNow: true, problem: null });
    expect(commitmentRound(c, { data: mine, block: 199 })).toEqual({ block: 199, round: 1, scoredNow: true, problem: null });
    expect(commitmentRound(c, { data: mine, block: 200 })).toEqual({ block: 200, round: 2, scoredNow: false, problem: null });
    expect(commitmentRound(c, { data: mine, block: 399 })).toEqual({ block: 399, round: 3, scoredNow: false, problem: null });
  });

  it('says a commitment outside every window takes part in none', () => {
    for (const block of [0, 99, 400, 499, 600]) expect(commitmentRound(c, { data: mine, block })).toEqual({ block, round: null, scoredNow: false, problem: null });
  });

  it('says why a commitment for another competition, or none at all, takes part in no round', () => {
    const other = commitmentRound(c, { data: formatCommitment({ repoId: 'miners/alice', competitionId: '7', revision: 'c'.repeat(40) }), block: 150 });
    expect(other).toMatchObject({ round: 1, scoredNow: false, problem: expect.stringMatching(/for competition "7"; the active competition is "1"/) });
    expect(commitmentRound(c, { data: '<b>not a commitment', block: 150 })).toMatchObject({ scoredNow: false, problem: expect.any(String) });
  });
});

describe('approxDuration and roundRanges', () => {
  it('writes block counts as minutes, hours and days at 12 s a block', () => {
    expect(approxDuration(0)).toBe('≈ 0 min');
    expect(approxDuration(50)).toBe('≈ 10 min'); // 600 s
    expect(approxDuration(300)).toBe('≈ 1 h 0 min');
    expect(approxDuration(1234)).toBe(`≈ ${Math.floor((1234 * 12) / 3600)} h ${Math.round((1234 * 12) / 60) % 60} min`);
    expect(approxDuration(7200 * 3 + 300)).toBe('≈ 3 d 1 h'); // 7200 blocks a day
    expect(approxDuration(10, 6)).toBe('≈ 1 min');
  });

  it('folds consecutive rounds into ranges', () => {
    expect(roundRanges([])).toBe('');
    expect(roundRanges([4])).toBe('4');
    expect(roundRanges([1, 2, 3, 5, 7, 8])).toBe('1–3, 5, 7–8');
  });
});
