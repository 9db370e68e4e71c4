/**
 * `flock audit --validator HOTKEY [--uid N]`: check a validator's published results by re-running
 * them (src/audit/audit.ts). Exit 0 when every re-run matches, 1 on any mismatch, with what differed.
 */
import { Command, Option } from 'commander';
import { z } from 'zod';
import { auditResults, DEFAULT_AUDIT_TOLERANCE, type AuditReport } from '../audit/audit.js';
import { BACKEND_KINDS, createBackend, parseBackendKind, PRECISIONS } from '../engine/backend/select.js';
import { readPublishedResults } from '../published/read.js';
import { FlockError, UsageError } from '../util/errors.js';
import { printable } from '../util/terminal-text.js';
import { connectFromFlags, hubClientFromFlags } from './clients.js';
import { markLongRunning, type CommandContext } from './context.js';
import {
  addHubOptions, addJsonOption, addNetuidOption, addSubtensorOptions, expandHome, hubSchema, jsonSchema, nonNegativeInt, oneOf,
  parsePositiveInt, positiveInt, subtensorSchema, text, textList,
} from './options.js';
import { action } from './run.js';

const auditSchema = z.object({
  ...subtensorSchema.shape, ...hubSchema.shape, ...jsonSchema.shape,
  netuid: nonNegativeInt, validator: text, uid: textList.optional(), revision: text.optional(), tolerance: z.coerce.number().positive(),
  backend: oneOf(BACKEND_KINDS), precision: oneOf(PRECISIONS).optional(), threads: positiveInt.optional(), cacheDir: text.optional(),
});

function formatReport(r: AuditReport): string {
  const lines = [
    `validator ${r.validator}: round ${r.round} (weights at block ${r.block})`,
    `published with ${r.publishedCompute}`,
    `re-run with    ${r.compute}${r.sameCompute ? ' (the same: losses must be bit-identical)' : ` (another: per-example losses within ${r.tolerance} × max(1, |loss|))`}`,
    '',
  ];
  for (const e of r.evaluations) {
    const loss = e.publishedEvalLoss === null ? '' : ` eval loss published ${e.publishedEvalLoss.toFixed(6)}${e.recomputedEvalLoss === null ? '' : `, recomputed ${e.recomputedEvalLoss.toFixed(6)}`}`;
    const diff = Number.isNaN(e.maxAbsDiff) ? '' : `, max |Δ| ${e.maxAbsDiff.toExponential(2)}`;
    lines.push(`${e.verdict === 'identical' || e.verdict === 'within_tolerance' ? 'ok      ' : 'MISMATCH'} ${e.label}: ${e.verdict.replace('_', ' ')}${loss}${diff} (${e.seconds.toFixed(1)} s)`);
    for (const d of e.details) lines.push(`           ${printable(d)}`);
  }
  const bad = r.evaluations.filter((e) => !(e.verdict === 'identical' || e.verdict === 'within_tolerance')).length;
  lines.push('', r.ok ? `all ${r.evaluations.length} evaluation(s) match` : `${bad} of ${r.evaluations.length} evaluation(s) do not match`);
  return `${lines.join('\n')}\n`;
}

async function auditCommand(ctx: CommandContext<z.output<typeof auditSchema>>): Promise<number> {
  const o = ctx.opts;
  const uids = o.uid?.flatMap((u) => u.split(',')).map((u) => {
    const n = Number(u);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--uid must be a non-negative integer, got ${JSON.stringify(u)}`);
    return n;
  });
  const hub = await hubClientFromFlags(ctx, { cacheDir: o.cacheDir ? expandHome(o.cacheDir) : undefined });
  const chain = await connectFromFlags(ctx);
  let results;
  try {
    results = await readPublishedResults({ chain, hub, netuid: o.netuid, hotkeys: [o.validator], revision: o.revision });
  } finally {
    await chain.close();
  }
  const r = results[0]!;
  if (!r.ok) throw new FlockError(`the results of validator ${o.validator} cannot be audited: ${r.reason}`, { hint: 'check the hotkey (SS58) and --netuid; a validator publishes only after it has scored a round' });
  ctx.log.info(`auditing ${r.repoId}@${r.revision.slice(0, 12)}: round ${r.signed.document.round}, signature verified`);
  const backend = await createBackend(o.backend, ctx.log, { threads: o.threads, precision: o.precision });
  try {
    const report = await auditResults({
      document: r.signed.document, backend, hub, log: ctx.log, uids, tolerance: o.tolerance, onProgress: (m) => ctx.log.info(m),
    });
    if (o.json) process.stdout.write(`${printable(JSON.stringify({ repoId: r.repoId, revision: r.revision, ...report }, null, 2), { json: true, newlines: true })}\n`);
    else process.stdout.write(formatReport(report));
    return report.ok ? 0 : 1;
  } finally {
    backend.dispose();
  }
}

export function register(program: Command): void {
  const cmd = program.command('audit').description("re-run a validator's published evaluations and check its losses (exit 1 on any mismatch)");
  addSubtensorOptions(cmd);
  addNetuidOption(cmd);
  addHubOptions(cmd);
  addJsonOption(cmd);
  cmd
    .addOption(new Option('--validator <hotkey>', 'the validator\'s hotkey (SS58): its commitment points to its results').makeOptionMandatory())
    .addOption(new Option('--uid <n...>', 'audit only these uids (the base model is always re-run)'))
    .addOption(new Option('--revision <sha>', 'a revision of the results repo (default: the latest)'))
    .addOption(new Option('--tolerance <x>', 'allowed |Δloss| / max(1, |loss|) per example when the compute identity differs').default(DEFAULT_AUDIT_TOLERANCE))
    .addOption(new Option('--backend <kind>', 'compute backend: cpu | webgpu | auto').default('cpu').argParser((v) => parseBackendKind(v)))
    .addOption(new Option('--precision <p>', 'WebGPU compute precision: f32, or f16 (f16 matrix-product inputs, f32 accumulation; needs shader-f16)').choices([...PRECISIONS]))
    .addOption(new Option('--threads <n>', 'CPU backend threads (default: all cores)').argParser(parsePositiveInt('--threads')))
    .addOption(new Option('--cache-dir <dir>', 'Hugging Face cache folder (default $HF_HUB_CACHE or ~/.cache/huggingface/hub)'));
  markLongRunning(cmd);
  cmd.action(action(auditSchema, auditCommand));
}
