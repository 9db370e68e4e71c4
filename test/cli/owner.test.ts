/**
 * `flock owner publish --round-eval`, `flock owner round open` and `flock owner round reveal`
 * through the built CLI against a devnet and a local hub in this process: the JSON each prints,
 * the usage errors, a reveal refused before its window closes, and the reveal command `open`
 * prints, run as printed.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskRows, toJsonl } from '../../src/localnet/tasks.js';
import { parseCompetitionPointer } from '../../src/protocol/index.js';
import { NETUID, OWNER_TOKEN, runFlockAsync, startFixture, type Fixture } from '../miner/fixture.js';

const WINDOW = 30;

interface RoundJson {
  competitionId: string; round: number; opens: number; closes: number; windowBlocks: number; evalSha256: string;
  evalFile?: string; startedSealing?: boolean; pointer: string; block: number; revision: string;
}

describe('flock owner publish --round-eval / round open / round reveal', () => {
  let f: Fixture;
  let set1: string;
  let set2: string;
  let ownerArgs: string[];
  let round1: { opens: number; closes: number };
  let round2Closes = 0;
  let printedReveal: string[] = [];

  const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
  const onChain = async () => (await f.chain.getCommitment({ netuid: NETUID, hotkey: f.owner.address }))?.data;

  beforeAll(async () => {
    f = await startFixture();
    set1 = f.evalFile;
    set2 = join(f.root, 'eval-2.jsonl');
    writeFileSync(set2, toJsonl(taskRows(10, 2)));
    ownerArgs = ['--wallet.name', 'owner', '--hf-token', OWNER_TOKEN, ...f.cliArgs];
  });
  afterAll(async () => { await f?.close(); });

  it('refuses --eval with --round-eval, and --round-eval without --window (usage errors)', async () => {
    const [both, noWindow] = await Promise.all([
      runFlockAsync(['owner', 'publish', '--competition', f.competitionFile, '--eval', set1, '--round-eval', set1, '--window', '5', '--repo', 'flock/c', ...ownerArgs]),
      runFlockAsync(['owner', 'publish', '--competition', f.competitionFile, '--round-eval', set1, '--repo', 'flock/c', ...ownerArgs]),
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give exactly one of --eval FILE');
    expect(noWindow.code).toBe(2);
    expect(noWindow.stderr).toContain('--round-eval needs --window BLOCKS');
    expect(await onChain()).toBeUndefined();
  }, 60_000);

  it('publishes round 1 sealed and prints it as JSON', async () => {
    const before = f.dev.bestNumber();
    const r = await runFlockAsync(['owner', 'publish', '--competition', f.competitionFile, '--round-eval', set1, '--window', String(WINDOW), '--repo', 'flock/c',
      '--model', f.modelDir, '--json', ...ownerArgs]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { pointer: string; block: number; revision: string; competitionId: string; round: { round: number; opens: number; closes: number; windowBlocks: number; evalSha256: string } };
    expect(out.round).toEqual({ round: 1, opens: before + 1, closes: before + 1 + WINDOW, windowBlocks: WINDOW, evalSha256: sha256(set1) });
    expect(await onChain()).toBe(out.pointer);
    const pointer = parseCompetitionPointer(out.pointer);
    expect(pointer.ok && pointer.value.revision).toBe(out.revision);
    const files = (await f.ownerHub.listFiles({ repo: 'flock/c', type: 'dataset', revision: out.revision })).map((x) => x.path);
    expect(files.filter((p) => p.endsWith('.jsonl'))).toEqual([]);
    round1 = out.round;
  }, 60_000);

  it('opens round 2 and prints the window, the hash and the reveal command', async () => {
    const r = await runFlockAsync(['owner', 'round', 'open', '--eval', set2, '--window', String(WINDOW), ...ownerArgs]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('opened round 2 of competition 1 (only the SHA-256 of its evaluation set is on the hub)');
    expect(lines).toContain('  round      2');
    const opens = round1.closes;
    round2Closes = opens + WINDOW;
    expect(lines.find((l) => l.startsWith('  window'))).toMatch(new RegExp(`^  window {5}blocks ${opens}–${round2Closes - 1} \\(${WINDOW} blocks, ≈ 6 min at 12 s a block\\), opens in \\d+ blocks`));
    expect(lines).toContain(`  commitment sha256 ${sha256(set2)}`);
    expect(lines).toContain(`  pointer    ${await onChain()}`);
    const reminder = lines.findIndex((l) => l.startsWith(`keep ${set2} private and unchanged`));
    expect(lines[reminder]).toContain(`Once block ${round2Closes} is reached`);
    const command = lines[reminder + 1]!.trim();
    expect(command).toMatch(/^flock owner round reveal --eval \S+ --round 2 --netuid 1 /);
    expect(command).not.toContain(OWNER_TOKEN);
    printedReveal = command.split(' ').slice(1);
  }, 60_000);

  it('round list: round 1 open, round 2 announced, nothing to do yet (no wallet needed)', async () => {
    const placeArgs = f.cliArgs.slice(0, 6); // --netuid, --subtensor.chain_endpoint, --hub-url
    const r = await runFlockAsync(['owner', 'round', 'list', '--json', ...placeArgs]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { block: number; rounds: Array<{ round: number; opens: number; closes: number; evalSha256: string; state: string }>; next: string[] };
    expect(out.rounds.map((x) => [x.round, x.opens, x.closes, x.evalSha256])).toEqual([[1, round1.opens, round1.closes, sha256(set1)], [2, round1.closes, round2Closes, sha256(set2)]]);
    expect(out.rounds[0]!.state).toMatch(/^open: closes in \d+ block\(s\)/);
    expect(out.rounds[1]!.state).toMatch(/^announced: opens in \d+ block\(s\)$/);
    expect(out.next).toEqual([]);
    const text = await runFlockAsync(['owner', 'round', 'list', ...placeArgs]);
    expect(text.stdout).toContain(`  round 1 open: window closes at block ${round1.closes}`);
    expect(text.stdout).toMatch(new RegExp(`\\n2 +${round1.closes}–${round2Closes - 1} +${sha256(set2).slice(0, 16)}… +announced`));
  }, 60_000);

  it('refuses to reveal round 1 before its window closes, then reveals it as JSON', async () => {
    const early = await runFlockAsync(['owner', 'round', 'reveal', '--eval', set1, '--json', ...ownerArgs]);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain(`round 1's window is still open: it closes at block ${round1.closes}`);
    expect(early.stderr).toContain('revealing early lets miners fit the set');
    expect(early.stdout).toBe('');

    await f.dev.produceBlocks(round1.closes - f.dev.bestNumber());
    const r = await runFlockAsync(['owner', 'round', 'reveal', '--eval', set1, '--json', ...ownerArgs]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as RoundJson;
    expect(out).toMatchObject({ competitionId: '1', round: 1, opens: round1.opens, closes: round1.closes, windowBlocks: WINDOW, evalSha256: sha256(set1), evalFile: 'eval-round-1.jsonl' });
    expect(await onChain()).toBe(out.pointer);
  }, 60_000);

  it('reveals round 2 with the command open printed', async () => {
    await f.dev.produceBlocks(round2Closes - f.dev.bestNumber());
    const r = await runFlockAsync([...printedReveal, '--hf-token', OWNER_TOKEN]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('revealed round 2 of competition 1 as eval-round-2.jsonl (its SHA-256 matches the commitment)');
    expect(r.stdout).toContain('validators now score round 2');
    const pointer = parseCompetitionPointer((await onChain())!);
    expect(pointer.ok).toBe(true);
    if (!pointer.ok) return;
    const files = (await f.ownerHub.listFiles({ repo: 'flock/c', type: 'dataset', revision: pointer.value.revision })).map((x) => x.path).filter((p) => p.endsWith('.jsonl'));
    expect(files.sort()).toEqual(['eval-round-1.jsonl', 'eval-round-2.jsonl']);

    // every round revealed and none open: the list says so and what to do next
    const list = await runFlockAsync(['owner', 'round', 'list', ...f.cliArgs.slice(0, 6)]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/\n2 +\d+–\d+ +[0-9a-f]{16}… +revealed as eval-round-2\.jsonl · scored now\n/);
    expect(list.stdout).toContain('no round is open or announced: commitments take part in none; open one: flock owner round open --eval FILE --window BLOCKS');
  }, 60_000);
});
