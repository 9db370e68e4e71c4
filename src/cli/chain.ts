/**
 * `flock chain metagraph|subnet|commitments`: what a subnet looks like right now — a readable table, or
 * `--json` for scripts.
 */
import { Command } from 'commander';
import { z } from 'zod';
import type { Commitment, Metagraph } from '../chain/chain.js';
import { printable } from '../util/terminal-text.js';
import { connectFromFlags } from './clients.js';
import { addJsonOption, addNetuidOption, addSubtensorOptions, flag, jsonSchema, nonNegativeInt, subtensorSchema } from './options.js';
import { action } from './run.js';
import type { CommandContext } from './context.js';

/** Options of `chain subnet` and `chain commitments` (a missing --netuid: "--netuid is required"). */
const chainSchema = z.object({ ...subtensorSchema.shape, ...jsonSchema.shape, netuid: nonNegativeInt });
type ChainOptions = z.output<typeof chainSchema>;
const metagraphSchema = chainSchema.extend({ full: flag });

/** Lay out rows as aligned columns (numbers right-aligned). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^-?[\d.]+$/.test(r[i]!) || r[i] === ''));
  const line = (cells: string[]) => cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)].join('\n');
}

function short(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}

/** The metagraph as a table. */
export function formatMetagraph(mg: Metagraph, full = false): string {
  const f = (x: number, d = 4) => x.toFixed(d);
  const rows = mg.uids.map((uid) => [
    String(uid), full ? mg.hotkeys[uid]! : short(mg.hotkeys[uid]!), full ? mg.coldkeys[uid]! : short(mg.coldkeys[uid]!),
    f(mg.stake[uid]!, 2), mg.validatorPermit[uid] ? '*' : '', mg.active[uid] ? 'yes' : 'no',
    f(mg.incentive[uid]!), f(mg.consensus[uid]!), f(mg.dividends[uid]!), f(mg.validatorTrust[uid]!), f(mg.emission[uid]!, 6),
    String(mg.lastUpdate[uid]), String(mg.blockAtRegistration[uid]),
  ]);
  const head = `subnet ${mg.netuid} at block ${mg.block.number} (${mg.block.hash}): ${mg.n} neurons`;
  if (mg.n === 0) return head;
  return `${head}\n${table(['UID', 'HOTKEY', 'COLDKEY', 'STAKE', 'VPERMIT', 'ACTIVE', 'INCENTIVE', 'CONSENSUS', 'DIVIDENDS', 'VTRUST', 'EMISSION', 'UPDATED', 'REGISTERED'], rows)}`;
}

/** Commitments as a table, with uids where the hotkey is registered (their text escaped: `printable`). */
export function formatCommitments(netuid: number, block: number, commitments: Commitment[], uidOf: Map<string, number>): string {
  const head = `subnet ${netuid} at block ${block}: ${commitments.length} commitment${commitments.length === 1 ? '' : 's'}`;
  if (commitments.length === 0) return head;
  const rows = commitments.map((c) => [String(uidOf.get(c.hotkey) ?? '-'), c.hotkey, String(c.block), printable(c.data)]);
  return `${head}\n${table(['UID', 'HOTKEY', 'BLOCK', 'DATA'], rows)}`;
}

async function metagraph(ctx: CommandContext<z.output<typeof metagraphSchema>>): Promise<number> {
  const { netuid } = ctx.opts;
  const chain = await connectFromFlags(ctx);
  try {
    const mg = await chain.metagraph({ netuid });
    if (ctx.opts.json) process.stdout.write(`${JSON.stringify(mg, null, 2)}\n`);
    else process.stdout.write(`${formatMetagraph(mg, ctx.opts.full)}\n`);
    return 0;
  } finally {
    await chain.close();
  }
}

async function subnet(ctx: CommandContext<ChainOptions>): Promise<number> {
  const { netuid } = ctx.opts;
  const chain = await connectFromFlags(ctx);
  try {
    const info = await chain.subnetInfo({ netuid });
    if (ctx.opts.json) {
      process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    } else {
      const rows: [string, string][] = [
        ['block', `${info.block.number}`], ['neurons', `${info.n} / ${info.maxAllowedUids}`], ['tempo', `${info.tempo}`],
        ['last epoch', `${info.lastEpochBlock}`], ['next epoch', `${info.nextEpochBlock} (in ${info.nextEpochBlock - info.block.number} blocks)`],
        ['weights rate limit', `${info.weightsRateLimit} blocks`], ['weights version key', `${info.weightsVersionKey}`],
        ['min allowed weights', `${info.minAllowedWeights}`], ['max weight', info.maxWeightLimit.toFixed(4)],
        ['commit-reveal', info.commitRevealEnabled ? `on (reveal after ${info.revealPeriodEpochs} epoch(s))` : 'off'],
        ['owner hotkey', info.ownerHotkey], ['owner coldkey', info.ownerColdkey], ['registration burn', `${info.burn} TAO`],
      ];
      process.stdout.write(`subnet ${netuid}\n${rows.map(([k, v]) => `  ${k.padEnd(20)} ${v}`).join('\n')}\n`);
    }
    return 0;
  } finally {
    await chain.close();
  }
}

async function commitments(ctx: CommandContext<ChainOptions>): Promise<number> {
  const { netuid } = ctx.opts;
  const chain = await connectFromFlags(ctx);
  try {
    const [block, all, mg] = await Promise.all([chain.currentBlock(), chain.getAllCommitments({ netuid }), chain.metagraph({ netuid })]);
    const uidOf = new Map(mg.hotkeys.map((h, uid) => [h, uid]));
    if (ctx.opts.json) {
      const out = all.map((c) => ({ netuid: c.netuid, uid: uidOf.get(c.hotkey) ?? null, hotkey: c.hotkey, block: c.block, data: c.data, fields: c.fields.map((f) => Buffer.from(f).toString('hex')) }));
      process.stdout.write(`${printable(JSON.stringify({ netuid, block: block.number, commitments: out }, null, 2), { json: true, newlines: true })}\n`);
    } else {
      process.stdout.write(`${formatCommitments(netuid, block.number, all, uidOf)}\n`);
    }
    return 0;
  } finally {
    await chain.close();
  }
}

/** Register `flock chain`. */
export function register(program: Command): void {
  const group = program.command('chain').description('read the chain: a subnet\'s metagraph, parameters and commitments');

  const mg = group.command('metagraph').description('the metagraph of a subnet: uids, keys, stake, permits, incentive, consensus, dividends, emission')
    .option('--full', 'show whole addresses', false);
  addJsonOption(addNetuidOption(addSubtensorOptions(mg))).action(action(metagraphSchema, metagraph));

  const sn = group.command('subnet').description("a subnet's parameters: tempo and epochs, weight rules, commit-reveal, owner");
  addJsonOption(addNetuidOption(addSubtensorOptions(sn))).action(action(chainSchema, subnet));

  const cm = group.command('commitments').description('every commitment on a subnet, with the block it was stored at');
  addJsonOption(addNetuidOption(addSubtensorOptions(cm))).action(action(chainSchema, commitments));
}
