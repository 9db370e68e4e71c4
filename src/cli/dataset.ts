/**
 * `flock dataset …`: the miner's dataset toolkit — check, stats, dedupe, convert, compare,
 * contamination. Exit codes: 0 valid / done, 1 invalid input (or, for `contamination`, over the
 * limit), 2 usage error. `--json` prints one JSON object on stdout.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { FlockError, UsageError } from '../util/errors.js';
import {
  CONVERT_FORMATS, canonicalJson, contamination, convertRow, formatErrors, MAX_ERRORS_KEPT, nearClusters,
  nearDuplicatesOfEarlier, readJsonlRows, scanDataset, twoWayOverlap, writeJsonlAtomic,
  type DatasetLimits, type DatasetScan,
} from '../dataset/index.js';
import {
  contaminationVerdict, DEFAULT_SCORING_CONSTANTS, DEFAULT_SCORING_CONSTANTS_V2, judgeCopy, parseCompetition, PROTOCOL_VERSION,
  PROTOCOL_VERSIONS, type CopyRules, type ProtocolVersion,
} from '../protocol/index.js';
import { checkRow } from '../dataset/schema.js';
import { addJsonOption, flag, jsonSchema, oneOf, parsePositiveInt, positiveInt, text } from './options.js';
import { action } from './run.js';
import type { CommandContext } from './context.js';

/** The copy rule's constants of each protocol version, when no competition.json is given. */
const DEFAULT_COPY_RULES: Record<ProtocolVersion, CopyRules> = { 1: DEFAULT_SCORING_CONSTANTS, 2: DEFAULT_SCORING_CONSTANTS_V2 };

/** Options of every reading command: `withLimits` and `--json`. */
const readSchema = z.object({
  ...jsonSchema.shape, maxRows: positiveInt.optional(), maxBytes: positiveInt.optional(), maxLineBytes: positiveInt.optional(),
});
type ReadOptions = z.output<typeof readSchema>;
const dedupeSchema = readSchema.extend({ output: text, near: flag });
const convertSchema = readSchema.extend({ from: oneOf(CONVERT_FORMATS), output: text, skipInvalid: flag });
const contaminationSchema = readSchema.extend({
  eval: text, maxFraction: z.number({ error: 'must be a number between 0 and 1' }).min(0, { error: 'must be a number between 0 and 1' }).max(1, { error: 'must be a number between 0 and 1' }),
});
const compareSchema = readSchema.extend({
  protocol: z.union(PROTOCOL_VERSIONS.map((v) => z.literal(v)), { error: `must be one of ${PROTOCOL_VERSIONS.join(', ')}` }),
  competition: text.optional(),
});

export function register(program: Command): void {
  const dataset = program.command('dataset').description('check, inspect, convert and de-duplicate JSONL chat datasets');

  withLimits(addJsonOption(dataset.command('check')
    .description('validate a dataset and summarise it (exit 0 valid, 1 invalid, 2 usage error)')
    .argument('<file>', 'JSONL dataset')))
    .action(action(readSchema, checkCommand));

  withLimits(addJsonOption(dataset.command('stats')
    .description('distributions of turns and lengths, and duplicate clusters')
    .argument('<file>', 'JSONL dataset')))
    .action(action(readSchema, statsCommand));

  withLimits(addJsonOption(dataset.command('dedupe')
    .description('remove exact (and with --near, near) duplicate rows; writes canonical rows')
    .argument('<in>', 'JSONL dataset')
    .requiredOption('-o, --output <file>', 'where to write the de-duplicated dataset')
    .option('--near', 'also remove rows that nearly duplicate an earlier row', false)))
    .action(action(dedupeSchema, dedupeCommand));

  withLimits(addJsonOption(dataset.command('convert')
    .description('convert ShareGPT, Alpaca or OpenAI chat rows into our format')
    .argument('<in>', 'JSONL file in the source format')
    .addOption(new Option('--from <format>', 'source format').choices([...CONVERT_FORMATS]).makeOptionMandatory())
    .requiredOption('-o, --output <file>', 'where to write the converted dataset')
    .option('--skip-invalid', 'write the rows that convert and report the others (default: write nothing on any error)', false)))
    .action(action(convertSchema, convertCommand));

  withLimits(addJsonOption(dataset.command('compare')
    .description("the overlap of A and B both ways (A's rows found in B; B's rows held by A) and scoring step 4's verdict: is A, committed later, a copy of B?")
    .argument('<a>', 'JSONL dataset A (the later one)')
    .argument('<b>', 'JSONL dataset B (the earlier one)')
    .addOption(new Option('--protocol <n>', `judge with this protocol version's default constants (${PROTOCOL_VERSIONS.join(' or ')})`).default(PROTOCOL_VERSION).argParser(parseProtocol))
    .option('--competition <file>', "judge with a competition.json's protocol and constants instead")))
    .action(action(compareSchema, compareCommand));

  withLimits(addJsonOption(dataset.command('contamination')
    .description('rows of DATA that exactly or nearly duplicate an evaluation example (scoring step 3); exit 1 when over --max-fraction')
    .argument('<data>', 'JSONL dataset')
    .requiredOption('--eval <file>', 'the evaluation set (JSONL, same row format)')
    .addOption(new Option('--max-fraction <f>', 'largest contaminated fraction accepted').default(DEFAULT_SCORING_CONSTANTS.contaminationMax).argParser(parseFraction))))
    .action(action(contaminationSchema, contaminationCommand));
}

function withLimits(cmd: Command): Command {
  return cmd
    .option('--max-rows <n>', 'ignore rows past this many (the first rows are kept)', parsePositiveInt('--max-rows'))
    .option('--max-bytes <n>', 'refuse files larger than this many bytes (default 4 GiB)', parsePositiveInt('--max-bytes'))
    .option('--max-line-bytes <n>', 'refuse lines longer than this many bytes (default 4 MiB)', parsePositiveInt('--max-line-bytes'));
}

function parseFraction(v: string): number {
  const f = Number(v);
  if (!/^\d*\.?\d+$/.test(v) || !(f >= 0 && f <= 1)) throw new InvalidArgumentError(`--max-fraction must be a number between 0 and 1, got "${v}"`);
  return f;
}

function parseProtocol(v: string): ProtocolVersion {
  const p = PROTOCOL_VERSIONS.find((x) => String(x) === v);
  if (p === undefined) throw new InvalidArgumentError(`--protocol must be one of ${PROTOCOL_VERSIONS.join(', ')}, got "${v}"`);
  return p;
}

function limitsOf(opts: ReadOptions): Partial<DatasetLimits> {
  return { maxRows: opts.maxRows, maxFileBytes: opts.maxBytes, maxLineBytes: opts.maxLineBytes };
}

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

const num = (n: number) => n.toLocaleString('en-US');
const pct = (f: number) => `${(f * 100).toFixed(f > 0 && f < 0.001 ? 3 : 1)}%`;

/** Rows of a scan that repeat an earlier row exactly: [line, line of the first copy]. */
function exactDuplicates(scan: DatasetScan): { line: number; firstLine: number; index: number }[] {
  const out: { line: number; firstLine: number; index: number }[] = [];
  for (const group of scan.hashes.duplicateGroups()) {
    for (const i of group.slice(1)) out.push({ line: scan.rowLines[i]!, firstLine: scan.rowLines[group[0]!]!, index: i });
  }
  return out.sort((a, b) => a.line - b.line);
}

/** Scan a file; when it is invalid, print the errors (or the JSON) and return null. */
async function scanValid(ctx: CommandContext<ReadOptions>, file: string, what = 'dataset'): Promise<DatasetScan | null> {
  const scan = await scanDataset(file, { limits: limitsOf(ctx.opts) });
  if (scan.valid) return scan;
  if (ctx.opts.json) {
    printJson({ file, valid: false, errorCount: scan.errorCount, errors: scan.errors });
    return null;
  }
  throw invalidError(scan, what);
}

function invalidError(scan: Pick<DatasetScan, 'path' | 'errors' | 'errorCount'>, what = 'dataset'): FlockError {
  return new FlockError(`${scan.path} is not a valid ${what}: ${num(scan.errorCount)} error${scan.errorCount === 1 ? '' : 's'}${scan.errorCount > MAX_ERRORS_KEPT ? ` (the first ${MAX_ERRORS_KEPT} shown)` : ''}`, {
    details: formatErrors(scan),
    hint: 'each row is {"system"?: string, "conversations": [{"role": "user"|"assistant", "content": "…"}, …]}, user first, assistant last; `flock dataset convert --help` converts other formats',
  });
}

async function checkCommand(ctx: CommandContext<ReadOptions>, file: string): Promise<number> {
  const scan = await scanValid(ctx, file);
  if (!scan) return 1;
  const exact = exactDuplicates(scan);
  const nearFlags = nearDuplicatesOfEarlier(scan.fingerprints.bands, scan.fingerprints.rows);
  const exactSet = new Set(exact.map((d) => d.index));
  let near = 0;
  nearFlags.forEach((f, i) => { if (f && !exactSet.has(i)) near++; });
  const s = scan.stats;
  const summary = {
    file, valid: true, rows: s.rows, turns: s.turns, characters: s.characters, estimatedTokens: s.estimatedTokens,
    exactDuplicates: exact.length, nearDuplicates: near, identity: scan.fingerprints.identity,
    truncated: scan.truncated, errorCount: 0, errors: [] as string[],
  };
  if (ctx.opts.json) { printJson(summary); return 0; }
  print([
    `${file}: valid`,
    `  rows               ${num(s.rows)}${scan.truncated ? ` (rows after ${num(s.rows)} ignored: --max-rows)` : ''}`,
    `  turns              ${num(s.turns)}`,
    `  characters         ${num(s.characters)}`,
    `  estimated tokens   ${num(s.estimatedTokens)}`,
    `  exact duplicates   ${num(exact.length)}${exact.length ? ` (e.g. line ${exact[0]!.line} repeats line ${exact[0]!.firstLine})` : ''}`,
    `  near duplicates    ${num(near)}${near ? ' (see `flock dataset stats`; `flock dataset dedupe --near` removes them)' : ''}`,
    `  identity           ${scan.fingerprints.identity}`,
  ].join('\n'));
  return 0;
}

async function statsCommand(ctx: CommandContext<ReadOptions>, file: string): Promise<number> {
  const scan = await scanValid(ctx, file);
  if (!scan) return 1;
  const toLines = (groups: number[][]) => groups.map((g) => g.map((i) => scan.rowLines[i]!));
  const exactClusters = toLines(scan.hashes.duplicateGroups());
  const nearClustersLines = toLines(nearClusters(scan.fingerprints.bands, scan.fingerprints.rows));
  const s = scan.stats;
  if (ctx.opts.json) {
    printJson({ file, ...s, identity: scan.fingerprints.identity, truncated: scan.truncated, exactDuplicateClusters: exactClusters, nearDuplicateClusters: nearClustersLines });
    return 0;
  }
  const dist = (d: typeof s.charactersPerRow) => `min ${num(d.min)}  p50 ${num(d.p50)}  p90 ${num(d.p90)}  p99 ${num(d.p99)}  max ${num(d.max)}  mean ${num(d.mean)}`;
  const clusters = (name: string, groups: number[][]) => {
    const lines = [`${name}: ${num(groups.length)} cluster${groups.length === 1 ? '' : 's'} (${num(groups.reduce((n, g) => n + g.length, 0))} rows)`];
    for (const g of groups.slice(0, 10)) lines.push(`    lines ${g.slice(0, 8).join(', ')}${g.length > 8 ? `, … (${g.length} rows)` : ''}`);
    if (groups.length > 10) lines.push(`    … and ${num(groups.length - 10)} more`);
    return lines;
  };
  print([
    `${file}`,
    `  rows ${num(s.rows)}, turns ${num(s.turns)}, characters ${num(s.characters)}, estimated tokens ${num(s.estimatedTokens)}, rows with a system prompt ${num(s.rowsWithSystem)}`,
    `  turns per row: ${Object.entries(s.turnsPerRow).map(([k, v]) => `${k} → ${num(v)}`).join(', ')}`,
    `  characters per row:       ${dist(s.charactersPerRow)}`,
    `  estimated tokens per row: ${dist(s.estimatedTokensPerRow)}`,
    ...clusters('  exact duplicate clusters', exactClusters),
    ...clusters('  near-duplicate clusters', nearClustersLines),
  ].join('\n'));
  return 0;
}

function checkDistinctPaths(input: string, output: string): void {
  if (resolve(input) === resolve(output)) throw new UsageError(`-o ${output} is the input file`, { hint: 'write to another file' });
}

async function dedupeCommand(ctx: CommandContext<z.output<typeof dedupeSchema>>, input: string): Promise<number> {
  const { output } = ctx.opts;
  checkDistinctPaths(input, output);
  const scan = await scanValid(ctx, input);
  if (!scan) return 1;
  const exact = exactDuplicates(scan);
  const drop = new Uint8Array(scan.fingerprints.rows);
  for (const d of exact) drop[d.index] = 2;
  const nearLines: number[] = [];
  if (ctx.opts.near) {
    const flags = nearDuplicatesOfEarlier(scan.fingerprints.bands, scan.fingerprints.rows);
    flags.forEach((f, i) => { if (f && !drop[i]) { drop[i] = 1; nearLines.push(scan.rowLines[i]!); } });
  }
  // second pass: the rows are not held in memory, so read the file again and keep the survivors
  const limits = limitsOf(ctx.opts);
  async function* kept(): AsyncGenerator<string> {
    let index = 0;
    for await (const item of readJsonlRows(input, limits)) {
      if (item.kind !== 'row') continue;
      const c = checkRow(item.value);
      if (!c.ok) throw new FlockError(`${input} changed while being de-duplicated (line ${item.line})`);
      if (!drop[index++]) yield canonicalJson(c.row);
    }
  }
  const written = await writeJsonlAtomic(output, kept());
  const report = {
    input, output, rows: scan.fingerprints.rows, kept: written,
    removedExact: exact.map((d) => ({ line: d.line, duplicateOf: d.firstLine })),
    removedNear: nearLines,
  };
  if (ctx.opts.json) { printJson(report); return 0; }
  const lines = [`${output}: wrote ${num(written)} of ${num(report.rows)} rows`,
    `  removed ${num(exact.length)} exact duplicate${exact.length === 1 ? '' : 's'}${exact.length ? `: ${exact.slice(0, 20).map((d) => `line ${d.line} (= line ${d.firstLine})`).join(', ')}${exact.length > 20 ? ', …' : ''}` : ''}`];
  if (ctx.opts.near) lines.push(`  removed ${num(nearLines.length)} near duplicate${nearLines.length === 1 ? '' : 's'}${nearLines.length ? `: lines ${nearLines.slice(0, 20).join(', ')}${nearLines.length > 20 ? ', …' : ''}` : ''}`);
  print(lines.join('\n'));
  return 0;
}

async function convertCommand(ctx: CommandContext<z.output<typeof convertSchema>>, input: string): Promise<number> {
  const { output, from: format, skipInvalid } = ctx.opts;
  checkDistinctPaths(input, output);
  const errors: string[] = [];
  let errorCount = 0;
  let rows = 0;
  const addError = (line: number, message: string) => {
    errorCount++;
    if (errors.length < MAX_ERRORS_KEPT) errors.push(`${input}:${line}: ${message}`);
  };
  let truncated = false;
  async function* converted(): AsyncGenerator<string> {
    for await (const item of readJsonlRows(input, limitsOf(ctx.opts))) {
      if (item.kind === 'end') { truncated = item.truncated; break; }
      if (item.kind === 'error') { addError(item.line, item.message); continue; }
      const c = convertRow(item.value, format);
      if (!c.ok) { for (const m of c.errors) addError(item.line, m); continue; }
      rows++;
      yield canonicalJson(c.row);
    }
    if (errorCount > 0 && !skipInvalid) throw new ConversionFailed();
    if (rows === 0) throw new ConversionFailed();
  }
  let written = 0;
  try {
    written = await writeJsonlAtomic(output, converted());
  } catch (err) {
    if (!(err instanceof ConversionFailed)) throw err;
    if (ctx.opts.json) { printJson({ input, output: null, format, converted: 0, errorCount, errors }); return 1; }
    throw new FlockError(`${input}: cannot convert from ${format}: ${num(errorCount)} error${errorCount === 1 ? '' : 's'}${rows === 0 && errorCount === 0 ? ' (no rows)' : ''}; nothing written`, {
      details: formatErrors({ errors, errorCount }),
      hint: rows > 0 ? '--skip-invalid writes the rows that convert' : `is the file in ${format} format?`,
    });
  }
  if (ctx.opts.json) { printJson({ input, output, format, converted: written, truncated, errorCount, errors }); return 0; }
  const lines = [`${output}: wrote ${num(written)} rows converted from ${format}`];
  if (errorCount > 0) lines.push(`  skipped ${num(errorCount)} invalid row${errorCount === 1 ? '' : 's'}:`, ...formatErrors({ errors, errorCount }).map((e) => `    ${e}`));
  print(lines.join('\n'));
  return 0;
}

class ConversionFailed extends FlockError {
  constructor() { super('conversion failed'); }
}

/** The copy rule `compare` judges with: a competition.json's, or a protocol version's defaults. */
function copyRulesFor(opts: z.output<typeof compareSchema>): { protocol: ProtocolVersion; rules: CopyRules; source: string } {
  if (!opts.competition) return { protocol: opts.protocol, rules: DEFAULT_COPY_RULES[opts.protocol], source: `protocol ${opts.protocol} defaults` };
  let textOf: string;
  try {
    textOf = readFileSync(opts.competition, 'utf8');
  } catch (err) {
    throw new UsageError(`--competition ${opts.competition}: ${(err as Error).message}`);
  }
  const parsed = parseCompetition(textOf);
  if (!parsed.ok) throw new UsageError(`--competition ${opts.competition}: ${parsed.reason}`);
  return { protocol: parsed.value.protocol, rules: parsed.value.scoring, source: `${opts.competition} (protocol ${parsed.value.protocol})` };
}

async function compareCommand(ctx: CommandContext<z.output<typeof compareSchema>>, a: string, b: string): Promise<number> {
  const { protocol, rules, source } = copyRulesFor(ctx.opts);
  const sa = await scanValid(ctx, a);
  if (!sa) return 1;
  const sb = await scanValid(ctx, b);
  if (!sb) return 1;
  const o = twoWayOverlap(sa.fingerprints, sb.fingerprints);
  const identical = sa.fingerprints.identity === sb.fingerprints.identity;
  const finding = judgeCopy({ fraction: o.overlap, otherMatched: o.otherMatched, otherRows: o.otherRows }, rules, 'B');
  const report = {
    a: { file: a, rows: o.rows, identity: sa.fingerprints.identity },
    b: { file: b, rows: o.otherRows, identity: sb.fingerprints.identity },
    overlap: o.overlap, matched: o.matched, exact: o.exact, near: o.matched - o.exact,
    containment: o.containment, heldRows: o.otherMatched, heldExact: o.otherExact,
    identical, protocol, copyThreshold: rules.copyThreshold, containmentMinRows: rules.containmentMinRows ?? null,
    copy: finding.copy, copyBy: finding.by, reason: finding.reason,
  };
  if (ctx.opts.json) { printJson(report); return 0; }
  print([
    `O(A,B) = ${o.overlap.toFixed(4)}: ${num(o.matched)} of A's ${num(o.rows)} rows match B (${num(o.exact)} exactly, ${num(o.matched - o.exact)} nearly)`,
    `C(A,B) = ${o.containment.toFixed(4)}: A holds ${num(o.otherMatched)} of B's ${num(o.otherRows)} rows (${num(o.otherExact)} exactly, ${num(o.otherMatched - o.otherExact)} nearly)`,
    `  A ${a}: ${num(report.a.rows)} rows, identity ${report.a.identity}`,
    `  B ${b}: ${num(report.b.rows)} rows, identity ${report.b.identity}${identical ? ' (identical datasets)' : ''}`,
    finding.copy
      ? `  copy (${source}): if B was committed first, scoring counts A as a copy of B (score 0): ${finding.reason}`
      : `  not a copy (${source}): ${finding.reason}`,
  ].join('\n'));
  return 0;
}

async function contaminationCommand(ctx: CommandContext<z.output<typeof contaminationSchema>>, data: string): Promise<number> {
  const { eval: evalFile, maxFraction } = ctx.opts;
  const sd = await scanValid(ctx, data);
  if (!sd) return 1;
  const se = await scanValid(ctx, evalFile, 'evaluation set');
  if (!se) return 1;
  const c = contamination(sd.fingerprints, se.fingerprints);
  const lines = c.contaminatedRows.map((i) => sd.rowLines[i]!);
  const over = contaminationVerdict(c.rows, c.matched, maxFraction) !== null;
  if (ctx.opts.json) {
    printJson({ data, eval: evalFile, rows: c.rows, contaminated: c.matched, exact: c.exact, near: c.matched - c.exact, fraction: c.overlap, maxFraction, overLimit: over, lines });
    return over ? 1 : 0;
  }
  print([
    `${data}: ${num(c.matched)} of ${num(c.rows)} rows (${pct(c.overlap)}) duplicate an evaluation example (${num(c.exact)} exactly, ${num(c.matched - c.exact)} nearly)`,
    ...(lines.length ? [`  lines ${lines.slice(0, MAX_ERRORS_KEPT).join(', ')}${lines.length > MAX_ERRORS_KEPT ? `, … (${num(lines.length)} in all)` : ''}`] : []),
    over
      ? `  over the limit of ${pct(maxFraction)}: scoring gives this dataset 0 ("trained on the test") — remove these rows`
      : `  within the limit of ${pct(maxFraction)}${c.matched ? ': validators drop these rows before training' : ''}`,
  ].join('\n'));
  return over ? 1 : 0;
}
