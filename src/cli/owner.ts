/**
 * `flock owner publish` (a competition: files on the hub, pointer on chain) and
 * `flock owner round open|reveal` (sealed evaluation rounds: a set's hash when its round opens, the
 * set itself after the round's window closed).
 */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { BLOCK_SECONDS, redactEndpoint } from '../chain/subtensor/network.js';
import { parseModelSource, publishCompetition, type OwnerKey } from '../owner/publish.js';
import { approxBlockTime, openRound, revealRound, type RoundCommandResult } from '../owner/rounds.js';
import { competitionRounds, roundStateAt, type Round } from '../protocol/index.js';
import { competitionSchedule, readActiveCompetition } from '../published/schedule.js';
import { printable } from '../util/terminal-text.js';
import { formatCompetition } from './miner.js';
import { FlockError, UsageError } from '../util/errors.js';
import { connectFromFlags, hubClientFromFlags, walletFromFlags } from './clients.js';
import type { CommandContext } from './context.js';
import {
  addHubOptions, addJsonOption, addNetuidOption, addSubtensorOptions, addWalletOptions, hubSchema, jsonSchema, nonNegativeInt,
  parsePositiveInt, positiveInt, subtensorSchema, text, walletSchema,
} from './options.js';
import { action } from './run.js';

const commonSchema = z.object({ ...walletSchema.shape, ...subtensorSchema.shape, ...hubSchema.shape, ...jsonSchema.shape, netuid: nonNegativeInt });
type CommonOptions = z.output<typeof commonSchema>;

const publishSchema = z.object({
  ...commonSchema.shape,
  competition: text, eval: text.optional(), roundEval: text.optional(), window: positiveInt.optional(), repo: text, model: text.optional(),
});
const openSchema = z.object({ ...commonSchema.shape, eval: text, window: positiveInt });
const revealSchema = z.object({ ...commonSchema.shape, eval: text, round: positiveInt.optional() });
const listSchema = z.object({ ...subtensorSchema.shape, ...hubSchema.shape, ...jsonSchema.shape, netuid: nonNegativeInt });

/** One round's state at `block`, for people: what the owner (and everyone) sees of it. */
function roundState(r: Round, k: number, block: number, scoring: number | null): string {
  switch (roundStateAt(r, block)) {
    case 'announced': return `announced: opens in ${r.opens - block} block(s)`;
    case 'open': return `open: closes in ${r.closes - block} block(s) (${approxBlockTime(r.closes - block)})`;
    case 'sealed': return `sealed, window closed ${block - r.closes} block(s) ago: reveal it`;
    case 'revealed': return `revealed as ${r.evalFile}${k === scoring ? ' · scored now' : ''}`;
  }
}

/** `flock owner round list`: every round of the competition the owner's pointer names, and what to do next. */
async function listCommand(ctx: CommandContext<z.output<typeof listSchema>>): Promise<number> {
  const o = ctx.opts;
  const chain = await connectFromFlags(ctx);
  try {
    const hub = await hubClientFromFlags(ctx);
    const [active, current] = await Promise.all([readActiveCompetition({ chain, hub, netuid: o.netuid }), chain.currentBlock()]);
    if (!active.ok) throw new FlockError(`the competition of subnet ${o.netuid} cannot be read: ${active.reason}`);
    const block = current.number;
    const rounds = competitionRounds(active.competition);
    const schedule = competitionSchedule(active.competition, block);
    const list = rounds.map((r, i) => ({ round: i + 1, ...r, state: roundState(r, i + 1, block, schedule?.scoring ?? null) }));
    const next: string[] = [];
    for (const k of schedule?.awaitingReveal ?? []) next.push(`reveal round ${k}: flock owner round reveal --eval <round ${k}'s file> --round ${k}`);
    if (schedule && !schedule.next) {
      next.push(schedule.open
        ? `announce round ${rounds.length + 1} before block ${schedule.open.closes} so it opens back to back: flock owner round open --eval FILE --window BLOCKS`
        : `no round is open or announced: commitments take part in none; open one: flock owner round open --eval FILE --window BLOCKS`);
    }
    const json = { block, competition: { id: active.competition.id, ...active.pointer }, schedule, rounds: list, next };
    if (o.json) {
      process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      return 0;
    }
    const lines = formatCompetition({
      block, competition: { id: active.competition.id, repoId: active.pointer.repoId, revision: active.pointer.revision, evalFile: active.competition.evalFile },
      competitionProblem: null, schedule, commitmentRound: null,
    });
    if (list.length > 0) {
      lines.push('', 'round  window (blocks)  set sha256         state');
      for (const r of list) lines.push(`${String(r.round).padEnd(5)}  ${`${r.opens}–${r.closes - 1}`.padEnd(15)}  ${r.evalSha256.slice(0, 16)}…  ${printable(r.state)}`);
    }
    if (next.length > 0) lines.push('', 'next:', ...next.map((l) => `  ${l}`));
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await chain.close();
  }
}

async function ownerKey(o: CommonOptions): Promise<OwnerKey> {
  const owner = await (await walletFromFlags(o)).getHotkey();
  if (!owner.pair) throw new FlockError('the owner hotkey has no secret half');
  return owner;
}

/** A word as a shell reads it: quoted unless it is plain. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The flags that say where a later owner command runs: the ones given on this command line (never a token). */
function placeFlags(ctx: CommandContext<CommonOptions>): string[] {
  const o = ctx.opts;
  const flags = ['--netuid', String(o.netuid)];
  for (const key of ['wallet.name', 'wallet.hotkey', 'wallet.path'] as const) if (ctx.source(key) === 'cli') flags.push(`--${key}`, o[key]);
  if (ctx.source('subtensor.chain_endpoint') === 'cli' && o['subtensor.chain_endpoint']) flags.push('--subtensor.chain_endpoint', redactEndpoint(o['subtensor.chain_endpoint']));
  else if (ctx.source('subtensor.network') === 'cli') flags.push('--subtensor.network', redactEndpoint(o['subtensor.network']));
  if (ctx.source('hubUrl') === 'cli') flags.push('--hub-url', redactEndpoint(o.hubUrl));
  return flags;
}

function revealCommand(ctx: CommandContext<CommonOptions>, evalPath: string, round: number): string {
  return ['flock', 'owner', 'round', 'reveal', '--eval', evalPath, '--round', String(round), ...placeFlags(ctx)].map(shellWord).join(' ');
}

/** A round's lines: its window (blocks and wall time at 12 s a block) and its commitment. */
function roundLines(r: { round: number; opens: number; closes: number; evalSha256: string }, pointerBlock: number): string[] {
  const length = r.closes - r.opens;
  const startsIn = r.opens - pointerBlock;
  return [
    `  round      ${r.round}`,
    `  window     blocks ${r.opens}–${r.closes - 1} (${length} blocks, ${approxBlockTime(length)} at ${BLOCK_SECONDS} s a block)${startsIn > 1 ? `, opens in ${startsIn} blocks (${approxBlockTime(startsIn)})` : ''}`,
    `  commitment sha256 ${r.evalSha256}`,
  ];
}

function keepReminder(ctx: CommandContext<CommonOptions>, evalPath: string, r: { round: number; closes: number }): string[] {
  return [
    `keep ${evalPath} private and unchanged: its SHA-256 is the commitment. Once block ${r.closes} is reached (the window's last block is ${r.closes - 1}), reveal it with`,
    `  ${revealCommand(ctx, evalPath, r.round)}`,
  ];
}

function roundJson(r: RoundCommandResult): Record<string, unknown> {
  return {
    competitionId: r.competition.id, round: r.round, opens: r.opens, closes: r.closes, windowBlocks: r.closes - r.opens, evalSha256: r.evalSha256,
    ...(r.evalFile !== undefined ? { evalFile: r.evalFile } : {}), ...(r.startedSealing !== undefined ? { startedSealing: r.startedSealing } : {}),
    pointer: r.pointer, block: r.block, revision: r.revision,
  };
}

async function publishCommand(ctx: CommandContext<z.output<typeof publishSchema>>): Promise<number> {
  const o = ctx.opts;
  const { netuid } = o;
  if ((o.eval === undefined) === (o.roundEval === undefined)) {
    throw new UsageError('give exactly one of --eval FILE (a public evaluation set) and --round-eval FILE --window BLOCKS (a sealed round 1)');
  }
  if (o.roundEval !== undefined && o.window === undefined) throw new UsageError('--round-eval needs --window BLOCKS: how long round 1 stays open for commitments');
  if (o.eval !== undefined && o.window !== undefined) throw new UsageError('--window goes with --round-eval (a sealed round), not --eval');
  let competitionJson: unknown;
  try {
    competitionJson = JSON.parse(readFileSync(o.competition, 'utf8'));
  } catch (err) {
    throw new FlockError(`cannot read ${o.competition}: ${(err as Error).message}`);
  }
  const model = o.model ? await parseModelSource(o.model) : undefined;
  const owner = await ownerKey(o);
  const chain = await connectFromFlags(ctx);
  try {
    const hub = await hubClientFromFlags(ctx);
    const common = { chain, hub, netuid, owner, competitionJson, repo: o.repo, model, log: ctx.log };
    const r = o.roundEval !== undefined
      ? await publishCompetition({ ...common, sealed: { evalPath: o.roundEval, windowBlocks: o.window! } })
      : await publishCompetition({ ...common, evalPath: o.eval! });
    const round: Round | undefined = r.round;
    if (o.json) {
      const json = {
        pointer: r.pointer, block: r.block, revision: r.revision, competitionId: r.competition.id, baseModel: r.competition.baseModel,
        ...(round ? { round: { round: 1, opens: round.opens, closes: round.closes, windowBlocks: round.closes - round.opens, evalSha256: round.evalSha256 } } : {}),
      };
      process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      return 0;
    }
    const lines = [
      `published competition ${r.competition.id}${round ? ' with round 1 sealed (only the SHA-256 of its evaluation set is on the hub)' : ''}`,
      `  pointer    ${r.pointer}`,
      `  block      ${r.block}`,
      `  base model ${r.competition.baseModel.repo}@${r.modelRevision}`,
    ];
    if (round) lines.push(...roundLines({ round: 1, ...round }, r.block), ...keepReminder(ctx, o.roundEval!, { round: 1, closes: round.closes }));
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await chain.close();
  }
}

async function openCommand(ctx: CommandContext<z.output<typeof openSchema>>): Promise<number> {
  const o = ctx.opts;
  const owner = await ownerKey(o);
  const chain = await connectFromFlags(ctx);
  try {
    const hub = await hubClientFromFlags(ctx);
    const r = await openRound({ chain, hub, netuid: o.netuid, owner, evalPath: o.eval, windowBlocks: o.window, log: ctx.log });
    if (o.json) {
      process.stdout.write(`${JSON.stringify(roundJson(r), null, 2)}\n`);
      return 0;
    }
    const lines = [
      `opened round ${r.round} of competition ${r.competition.id} (only the SHA-256 of its evaluation set is on the hub)`,
      ...(r.startedSealing ? ['  the competition had one public evaluation set: from this round on it runs in sealed rounds, and only commitments made in a round\'s window take part'] : []),
      ...roundLines(r, r.block),
      `  pointer    ${r.pointer}`,
      `  block      ${r.block}`,
      ...keepReminder(ctx, o.eval, r),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await chain.close();
  }
}

async function revealCommandAction(ctx: CommandContext<z.output<typeof revealSchema>>): Promise<number> {
  const o = ctx.opts;
  const owner = await ownerKey(o);
  const chain = await connectFromFlags(ctx);
  try {
    const hub = await hubClientFromFlags(ctx);
    const r = await revealRound({ chain, hub, netuid: o.netuid, owner, evalPath: o.eval, round: o.round, log: ctx.log });
    if (o.json) {
      process.stdout.write(`${JSON.stringify(roundJson(r), null, 2)}\n`);
      return 0;
    }
    const lines = [
      `revealed round ${r.round} of competition ${r.competition.id} as ${r.evalFile} (its SHA-256 matches the commitment)`,
      ...roundLines(r, r.block),
      `  pointer    ${r.pointer}`,
      `  block      ${r.block}`,
      `validators now score round ${r.round}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await chain.close();
  }
}

/** The flags every owner command takes. */
function addCommonOptions(cmd: Command): void {
  addWalletOptions(cmd);
  addSubtensorOptions(cmd);
  addNetuidOption(cmd);
  addHubOptions(cmd);
  addJsonOption(cmd);
}

export function register(program: Command): void {
  const group = program.command('owner').description('subnet owner tools: publish a competition, open and reveal sealed rounds');
  const publish = group.command('publish').description('validate and upload competition.json + the eval set, or only its hash as a sealed round 1 (+ a model folder); commit the pointer from the owner hotkey');
  publish
    .requiredOption('--competition <file>', 'competition.json')
    .option('--eval <file>', 'the evaluation set (JSONL chat rows), uploaded for everyone to read')
    .option('--round-eval <file>', 'instead of --eval: round 1\'s evaluation set, sealed (only its SHA-256 is published; protocol 2)')
    .addOption(new Option('--window <blocks>', 'with --round-eval: blocks round 1 stays open for commitments (7200 ≈ 1 day)').argParser(parsePositiveInt('--window')))
    .requiredOption('--repo <org/name>', 'the hub dataset repo for the competition files')
    .addOption(new Option('--model <dir|repo@rev>', "base model: a folder to upload (to competition.json's baseModel.repo) or REPO@40-hex-REVISION"));
  addCommonOptions(publish);
  publish.action(action(publishSchema, publishCommand));

  const round = group.command('round').description('sealed evaluation rounds of the published competition (protocol 2)');
  const open = round.command('open').description('open the next round: publish only the SHA-256 of its evaluation set, the window starting at the next block or when the last one closes');
  open
    .requiredOption('--eval <file>', "the round's evaluation set (kept private until its reveal)")
    .addOption(new Option('--window <blocks>', 'blocks the round stays open for commitments (7200 ≈ 1 day)').argParser(parsePositiveInt('--window')).makeOptionMandatory());
  addCommonOptions(open);
  open.action(action(openSchema, openCommand));

  const reveal = round.command('reveal').description("after a round's window closed: upload its evaluation set (it must match the committed SHA-256) and point the subnet at it");
  reveal
    .requiredOption('--eval <file>', "the round's evaluation set, byte for byte the file opened with")
    .addOption(new Option('--round <n>', 'the round to reveal (default: the earliest unrevealed round whose window has closed)').argParser(parsePositiveInt('--round')));
  addCommonOptions(reveal);
  reveal.action(action(revealSchema, revealCommandAction));

  const list = round.command('list').description('every round of the competition the owner\'s pointer names: windows, hashes, state, and what to do next (no wallet needed)');
  addSubtensorOptions(list);
  addNetuidOption(list);
  addHubOptions(list);
  addJsonOption(list);
  list.action(action(listSchema, listCommand));
}
