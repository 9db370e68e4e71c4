/**
 * `flock miner submit|status|score`: take a dataset to a commitment, see how the chain pays it,
 * and preview the validators' score locally.
 */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { BACKEND_KINDS, createBackend, PRECISIONS } from '../engine/backend/select.js';
import { activeCompetition, submitDataset } from '../miner/submit.js';
import { scoreDataset, type CommittedDataset } from '../miner/score.js';
import { readPublishedResults } from '../published/read.js';
import { BLOCK_SECONDS } from '../chain/subtensor/network.js';
import { approxDuration, commitmentRound, competitionSchedule, readActiveCompetition, roundRanges, type CommitmentRound } from '../published/schedule.js';
import { verdictsFor, type Verdict } from '../published/verdicts.js';
import { commitmentForCompetition, parseCompetitionPointer, type RoundSchedule } from '../protocol/index.js';
import { FlockError, UsageError } from '../util/errors.js';
import { printable } from '../util/terminal-text.js';
import { connectFromFlags, hubClientFromFlags, walletFromFlags } from './clients.js';
import { markLongRunning, type CommandContext } from './context.js';
import {
  addHubOptions, addJsonOption, addNetuidOption, addSubtensorOptions, addWalletOptions, flag, hubSchema, jsonSchema, nonNegativeInt, oneOf,
  parsePositiveInt, positiveInt, subtensorSchema, text, walletSchema,
} from './options.js';
import { action } from './run.js';

const submitSchema = z.object({
  ...walletSchema.shape, ...subtensorSchema.shape, ...hubSchema.shape, ...jsonSchema.shape,
  dataset: text, repo: text, netuid: nonNegativeInt, blockSeconds: positiveInt, private: flag,
});
const statusSchema = z.object({ ...walletSchema.shape, ...subtensorSchema.shape, ...hubSchema.shape, ...jsonSchema.shape, netuid: nonNegativeInt });
const scoreSchema = z.object({
  ...subtensorSchema.shape, ...hubSchema.shape, ...jsonSchema.shape,
  dataset: text, competition: text.optional(), backend: oneOf(BACKEND_KINDS), precision: oneOf(PRECISIONS).optional(), threads: positiveInt.optional(), netuid: nonNegativeInt.optional(),
});

function print(ctx: CommandContext<{ json: boolean }>, json: unknown, text: string): void {
  process.stdout.write(ctx.opts.json ? `${printable(JSON.stringify(json, null, 2), { json: true, newlines: true })}\n` : text);
}

async function submitCommand(ctx: CommandContext<z.output<typeof submitSchema>>): Promise<number> {
  const o = ctx.opts;
  const { netuid } = o;
  const hotkey = await (await walletFromFlags(o)).getHotkey();
  if (!hotkey.pair) throw new FlockError('the hotkey has no secret half', { hint: 'a miner signs its commitment with its hotkey: restore the full hotkey file' });
  const chain = await connectFromFlags(ctx);
  let stopped = false;
  const onSignal = () => { stopped = true; };
  process.once('SIGINT', onSignal);
  try {
    const r = await submitDataset({
      chain, hub: await hubClientFromFlags(ctx), netuid, hotkey, datasetPath: o.dataset, repo: o.repo, log: ctx.log,
      blockSeconds: o.blockSeconds, stopped: () => stopped, private: o.private,
      onCountdown: (left, target) => {
        const line = `waiting for the next epoch (block ${target}): ${left} block(s), about ${left * o.blockSeconds} s`;
        if (ctx.interactive) process.stderr.write(`\r${line}   `);
        else ctx.log.info(line);
      },
    });
    if (ctx.interactive) process.stderr.write('\n');
    print(ctx, r, `committed ${r.commitment}\n  uid ${r.uid}, block ${r.block}${r.uploaded ? '' : ' (data.jsonl was already at the head: no new upload)'}${r.retries ? `, after ${r.retries} epoch wait(s)` : ''}\n`);
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    await chain.close();
  }
}

async function statusCommand(ctx: CommandContext<z.output<typeof statusSchema>>): Promise<number> {
  const o = ctx.opts;
  const { netuid } = o;
  const hotkey = await (await walletFromFlags(o)).getHotkeyPub();
  const chain = await connectFromFlags(ctx);
  try {
    const mg = await chain.metagraph({ netuid });
    const uid = mg.hotkeys.indexOf(hotkey.address);
    if (uid < 0) throw new FlockError(`hotkey ${hotkey.address} is not registered on subnet ${netuid}`);
    const c = await chain.getCommitment({ netuid, hotkey: hotkey.address });
    const hub = await hubClientFromFlags(ctx);
    const [published, active] = await Promise.all([readPublishedResults({ chain, hub, netuid, metagraph: mg }), readActiveCompetition({ chain, hub, netuid })]);
    const verdicts = verdictsFor(hotkey.address, published);
    const block = mg.block.number;
    const status = {
      hotkey: hotkey.address, uid, block, commitment: c?.data ?? null, commitmentBlock: c?.block ?? null,
      incentive: mg.incentive[uid] ?? 0, emission: mg.emission[uid] ?? 0, consensus: mg.consensus[uid] ?? 0,
      competition: active.ok ? { id: active.pointer.competitionId, repoId: active.pointer.repoId, revision: active.pointer.revision, evalFile: active.competition.evalFile } : null,
      competitionProblem: active.ok ? null : active.reason,
      schedule: active.ok ? competitionSchedule(active.competition, block) : null,
      // the commitment text as validators read it: the first field of a multi-field commitment
      commitmentRound: active.ok && c ? commitmentRound(active.competition, { data: c.fields[0] ?? c.data, block: c.block }) : null,
      verdicts,
    };
    print(ctx, status, [
      `hotkey ${status.hotkey}: uid ${uid} on subnet ${netuid} (block ${block})`,
      `commitment: ${status.commitment === null ? '(none)' : printable(status.commitment)}${status.commitmentBlock !== null ? ` at block ${status.commitmentBlock}` : ''}`,
      `incentive ${status.incentive.toFixed(6)}, emission ${status.emission.toFixed(6)} per epoch`,
      '',
      ...formatCompetition(status),
      '',
      ...formatVerdicts(verdicts),
      '',
    ].join('\n'));
    return 0;
  } finally {
    await chain.close();
  }
}

/** The active competition as lines: its id, and with sealed rounds where they stand at `block` and where the hotkey's commitment takes part. */
export function formatCompetition(s: {
  block: number; competition: { id: string; repoId: string; revision: string; evalFile: string } | null; competitionProblem: string | null;
  schedule: RoundSchedule | null; commitmentRound: CommitmentRound | null;
}): string[] {
  if (!s.competition) return [`competition: ${printable(s.competitionProblem ?? 'unknown')}`];
  const c = s.competition;
  const head = `competition ${printable(c.id)} (${printable(c.repoId)} at ${c.revision.slice(0, 12)})`;
  const k = s.schedule;
  if (!k) return [`${head}: the evaluation set ${printable(c.evalFile)} is open (no sealed rounds)`];
  const lines = [`${head}: ${k.rounds} sealed round(s)`];
  const inBlocks = (n: number) => `in ${n} block${n === 1 ? '' : 's'}, ${approxDuration(n)} at ${BLOCK_SECONDS} s a block`;
  lines.push(k.open
    ? `  round ${k.open.round} open: window closes at block ${k.open.closes} (${inBlocks(k.open.blocksLeft)})`
    : '  no round open: a commitment made now takes part in no round');
  if (k.next) lines.push(`  next window: round ${k.next.round}, blocks ${k.next.opens}–${k.next.closes - 1} (opens ${inBlocks(k.next.opens - s.block)})`);
  else if (!k.open) lines.push('  no further window announced');
  if (k.awaitingReveal.length > 0) lines.push(`  waiting for their evaluation set's reveal: round${k.awaitingReveal.length === 1 ? '' : 's'} ${roundRanges(k.awaitingReveal)}`);
  lines.push(k.scoring === null ? '  validators score no round yet (none revealed)' : `  validators score round ${k.scoring} now (the latest revealed, when its file matches the hash committed for it)`);
  const r = s.commitmentRound;
  if (r) lines.push(`  this hotkey's commitment (block ${r.block}): ${commitmentRoundText(r, k)}`);
  return lines;
}

function commitmentRoundText(r: CommitmentRound, k: RoundSchedule): string {
  if (r.problem) return `takes part in no round: ${printable(r.problem)}`;
  if (r.round === null) {
    const when = k.open ? `round ${k.open.round} is open until block ${k.open.closes - 1}` : k.next ? `round ${k.next.round} opens at block ${k.next.opens}` : 'no window is announced yet';
    return `outside every round's window, it takes part in no round: commit again while a round is open (${when})`;
  }
  if (r.scoredNow) return `takes part from round ${r.round} (and the later ones): counted in round ${k.scoring}, scored now`;
  return `takes part from round ${r.round} (and the later ones): scored once round ${r.round}'s evaluation set is revealed`;
}

/** The validators' published verdicts as lines: a table of the readable ones, then why the others are not. */
function formatVerdicts(verdicts: readonly Verdict[]): string[] {
  if (verdicts.length === 0) return ['validators\' verdicts: no validator on this subnet publishes its results'];
  const lines = [`validators' verdicts (their signed published results; ${verdicts.filter((v) => v.ok).length} of ${verdicts.length} readable):`];
  const rows = verdicts.flatMap((v) => (v.ok ? [[
    `${v.validator.slice(0, 10)}…`, v.validatorUid === null ? '-' : String(v.validatorUid), String(v.round), String(v.block),
    v.evalLoss === null ? '-' : v.evalLoss.toFixed(5), v.baseLoss.toFixed(5), v.winRate.toFixed(3), v.weight.toFixed(4),
    v.weight > 0 ? '' : printable(`${v.stage ? `${v.stage}: ` : ''}${v.reason ?? ''}`),
  ]] : []));
  if (rows.length > 0) {
    const head = ['validator', 'uid', 'round', 'block', 'eval loss', 'base loss', 'win rate', 'weight', 'reason for zero'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
    lines.push(line(head), ...rows.map(line));
  }
  for (const v of verdicts) if (!v.ok) lines.push(`  ${v.validator.slice(0, 10)}… (uid ${v.validatorUid ?? '-'}): ${printable(v.reason)}`);
  return lines;
}

async function scoreCommand(ctx: CommandContext<z.output<typeof scoreSchema>>): Promise<number> {
  const o = ctx.opts;
  const hub = await hubClientFromFlags(ctx);
  let pointerText = o.competition;
  let committed: CommittedDataset[] = [];
  if (!pointerText || o.netuid !== undefined) {
    const { netuid } = o;
    if (netuid === undefined) throw new UsageError('--netuid is required');
    const chain = await connectFromFlags(ctx);
    try {
      const { pointer } = await activeCompetition(chain, hub, netuid);
      pointerText ??= JSON.stringify({ c: pointer.competitionId, r: pointer.repoId, v: pointer.revision });
      const mg = await chain.metagraph({ netuid });
      committed = (await chain.getAllCommitments({ netuid })).flatMap((c) => {
        const p = commitmentForCompetition(c.fields[0] ?? c.data, pointer.competitionId);
        const uid = mg.hotkeys.indexOf(c.hotkey);
        return p.ok && uid >= 0 ? [{ uid, block: c.block, repo: p.value.repoId, revision: p.value.revision }] : [];
      });
    } finally {
      await chain.close();
    }
  }
  const pointer = parseCompetitionPointer(pointerText.startsWith('{') ? pointerText : readFileSync(pointerText, 'utf8').trim());
  if (!pointer.ok) throw new UsageError(`--competition: ${pointer.reason}`);
  const backend = await createBackend(o.backend, ctx.log, { threads: o.threads, precision: o.precision });
  try {
    const r = await scoreDataset({
      hub, pointer: pointer.value, datasetPath: o.dataset, backend, log: ctx.log, committed,
      onProgress: (step, total) => {
        const width = 30;
        const done = Math.round((step / total) * width);
        const bar = `training [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${step}/${total}`;
        if (ctx.interactive) process.stderr.write(`\r${bar}${step === total ? '\n' : ''}`);
        else if (step === total || step % 25 === 0) ctx.log.info(bar);
      },
    });
    const verdicts = [
      r.contamination.zero ? `ZERO: ${r.contamination.contaminatedRows} of ${r.rows} rows match evaluation examples (over ${(r.contamination.max * 100).toFixed(1)}%)` : `contamination: ${r.contamination.contaminatedRows} of ${r.rows} rows (dropped before training; limit ${(r.contamination.max * 100).toFixed(1)}%)`,
      r.copies.length ? `ZERO if committed now: ${r.copies.map((c) => c.reason).join('; ')}` : 'copies: none of the committed datasets',
      r.beatsBase ? 'beats the base model' : 'ZERO: does not lower the base model loss enough (base hurdle)',
    ];
    print(ctx, r, [
      `competition ${r.competitionId}: ${r.rows} rows`,
      `base model eval loss ${r.baseLoss.toFixed(5)}; after training on this dataset ${r.evalLoss.toFixed(5)} (${(r.improvement * 100).toFixed(2)}% lower)`,
      ...verdicts, '',
    ].join('\n'));
    return 0;
  } finally {
    backend.dispose();
  }
}

export function register(program: Command): void {
  const group = program.command('miner').description('submit a dataset, see its status on chain, score it locally as validators will');

  const submit = group.command('submit').description('check a dataset, upload data.jsonl to the hub, commit repo:competition:sha on chain');
  submit.requiredOption('--dataset <file>', 'the dataset (JSONL chat rows)').requiredOption('--repo <org/name>', 'the hub dataset repo to upload to');
  addWalletOptions(submit);
  addSubtensorOptions(submit);
  addNetuidOption(submit);
  addHubOptions(submit);
  addJsonOption(submit);
  submit.addOption(new Option('--block-seconds <s>', 'seconds per block (countdown and polling)').default(12).argParser(parsePositiveInt('--block-seconds')));
  submit.addOption(new Option('--private', 'commit before publish: keep the repo private until the commitment is on chain, then make it public (nobody can copy the data first)'));
  markLongRunning(submit);
  submit.action(action(submitSchema, submitCommand));

  const status = group.command('status').description("the hotkey's uid, commitment and block, incentive and emission, the competition's sealed-round schedule and the round the commitment takes part from, and every validator's published verdict on it");
  addWalletOptions(status);
  addSubtensorOptions(status);
  addHubOptions(status);
  addNetuidOption(status);
  addJsonOption(status);
  status.action(action(statusSchema, statusCommand));

  const score = group.command('score').description("run the validators' evaluation locally: loss vs the base model, contamination and copy verdicts");
  score.requiredOption('--dataset <file>', 'the dataset (JSONL chat rows)')
    .addOption(new Option('--competition <pointer>', 'competition pointer JSON ({"c":…,"r":…,"v":…}) or a file holding it; default: the owner\'s pointer on chain (--netuid)'))
    .addOption(new Option('--backend <kind>', 'compute backend: cpu | webgpu | auto').default('cpu'))
    .addOption(new Option('--precision <p>', 'WebGPU compute precision: f32, or f16 (f16 matrix-product inputs, f32 accumulation; needs shader-f16)').choices([...PRECISIONS]))
    .addOption(new Option('--threads <n>', 'CPU threads (default: all cores)').argParser(parsePositiveInt('--threads')));
  addSubtensorOptions(score);
  addNetuidOption(score);
  addHubOptions(score);
  addJsonOption(score);
  markLongRunning(score);
  score.action(action(scoreSchema, scoreCommand));
}
