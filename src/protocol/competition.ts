/**
 * competition.json: what the subnet owner publishes (docs/protocol.md) at the repo + revision named
 * by the competition pointer. It names the base model, the evaluation recipe, the scoring
 * constants, the dataset limits and thresholds, and the evaluation set file. Every field but
 * `protocol`, `id` and `baseModel` has a default, so a minimal file is
 * `{"protocol":1,"id":"1","baseModel":{"repo":"meta-llama/Llama-3.2-1B","revision":"<40-hex>"}}`.
 *
 * `protocol` says which rules judge the competition: 1 (scoring v1) or 2 (copies also by
 * containment: `scoring.containmentMinRows`, see `judgeCopy`; commit before publish:
 * `scoring.publishWindowBlocks`, see `unreadableDatasetVerdict`; sealed evaluation rounds:
 * `rounds`, see rounds.ts). A protocol-1 file parses to exactly what it always did; protocol 2 adds
 * only those constants and the optional rounds.
 *
 * Also here: the training seed every validator derives from the competition (`deriveSeed`).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { competitionIdProblem, repoIdProblem, revisionProblem } from './commitment.js';
import { recipeSchema } from './recipe.js';
import type { ParseResult } from './result.js';
import { roundsSchema, type Round } from './rounds.js';
import { DEFAULT_SCORING_CONSTANTS as S, DEFAULT_SCORING_CONSTANTS_V2 as S2 } from './scoring.js';

/** The newest protocol version this code speaks; it also judges every older one. */
export const PROTOCOL_VERSION = 2;
/** Every protocol version a competition may declare. */
export const PROTOCOL_VERSIONS = [1, 2] as const;
export type ProtocolVersion = (typeof PROTOCOL_VERSIONS)[number];
/** Name of the competition file at the root of the competition repo. */
export const COMPETITION_FILE = 'competition.json';
/** Largest competition.json we read (it is a few hundred bytes; this bounds a hostile one). */
export const COMPETITION_FILE_MAX_BYTES = 64 * 1024;
/** Largest evaluation set file validators download: an owner must not publish a larger one. */
export const EVAL_FILE_MAX_BYTES = 256 * 1024 * 1024;

const checked = (problem: (s: string) => string | null) =>
  z.string().superRefine((s, ctx) => {
    const p = problem(s);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  });

const fraction = (d: number) => z.number().min(0).max(1).default(d);

const scoringFields = {
  baseMargin: z.number().min(0).lt(1).default(S.baseMargin),
  epsilonStart: z.number().min(0).lt(1).default(S.epsilonStart),
  epsilonEnd: z.number().min(0).lt(1).default(S.epsilonEnd),
  epsilonDecayBlocks: z.number().int().min(0).default(S.epsilonDecayBlocks),
  z: z.number().min(0).default(S.z),
  tau: z.number().positive().default(S.tau),
  emaAlpha: z.number().gt(0).max(1).default(S.emaAlpha),
  minWeight: z.number().min(0).lt(1).default(S.minWeight),
  contaminationMax: fraction(S.contaminationMax),
  copyThreshold: z.number().gt(0).max(1).default(S.copyThreshold),
};
const epsilonOrder = { message: 'epsilonEnd must not exceed epsilonStart', path: ['epsilonEnd'] };

/** Scoring constants of protocol 1 (docs/protocol.md, "Scoring"), each defaulting to scoring v1. */
export const scoringConstantsSchema = z
  .object(scoringFields)
  .strict()
  .refine((s) => s.epsilonEnd <= s.epsilonStart, epsilonOrder);

/** Scoring constants of protocol 2: protocol 1's, the containment minimum of the copy rule and the publish window. */
export const scoringConstantsV2Schema = z
  .object({
    ...scoringFields,
    containmentMinRows: z.number().int().min(1).default(S2.containmentMinRows),
    publishWindowBlocks: z.number().int().min(0).default(S2.publishWindowBlocks),
  })
  .strict()
  .refine((s) => s.epsilonEnd <= s.epsilonStart, epsilonOrder);

/** Dataset limits: bounds that protect the validator (docs/protocol.md, "Datasets"). */
export const datasetLimitsSchema = z
  .object({
    /** Rows past this many are ignored (first rows kept). */
    maxRows: z.number().int().min(1).default(1000),
    /** data.jsonl over this many bytes scores 0 (never downloaded whole). */
    maxBytes: z.number().int().min(1).default(16 * 1024 * 1024),
    /** A row longer than this many tokens is a structural error (rows are trained on their first maxSeqLen tokens anyway). */
    maxTokensPerRow: z.number().int().min(1).default(4096),
  })
  .strict();

/** The fields of competition.json in their order (the parsed value keeps it), with the protocol's scoring schema. */
function competitionShape<P extends number, S extends z.ZodType>(protocol: P, scoring: S) {
  return {
    protocol: z.literal(protocol),
    id: checked(competitionIdProblem),
    /** Free text for people (shown by tools; never interpreted). */
    title: z.string().max(200).optional(),
    baseModel: z
      .object({
        /** HF model repo (`owner/name`) of a Llama-architecture checkpoint. */
        repo: checked(repoIdProblem),
        /** 40-hex commit of that repo. */
        revision: checked(revisionProblem),
      })
      .strict(),
    recipe: recipeSchema.prefault({}),
    scoring,
    limits: datasetLimitsSchema.prefault({}),
    /** Evaluation set file at the root of the competition repo (same JSONL format as datasets). */
    evalFile: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/, 'evalFile must be a plain file name in the repo root')
      .refine((f) => !f.includes('..'), 'evalFile must not contain ".."')
      .default('eval.jsonl'),
  };
}

export const competitionSchema = z.discriminatedUnion(
  'protocol',
  [
    z.object(competitionShape(1, scoringConstantsSchema.prefault({}))).strict(),
    z.object({
      ...competitionShape(2, scoringConstantsV2Schema.prefault({})),
      /** Sealed evaluation rounds (rounds.ts); absent: the one open evaluation set `evalFile`. */
      rounds: roundsSchema.optional(),
    }).strict(),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? `protocol must be one of ${PROTOCOL_VERSIONS.join(', ')}` : undefined) },
);

/** The sealed rounds of a competition (empty: it has one open evaluation set, `evalFile`). */
export function competitionRounds(c: Competition): readonly Round[] {
  return c.protocol === 2 && c.rounds ? c.rounds : [];
}

/** A competition with every default filled in. */
export type Competition = z.infer<typeof competitionSchema>;
/** competition.json as an owner may write it. */
export type CompetitionInput = z.input<typeof competitionSchema>;
export type ScoringConstantsInput = z.input<typeof scoringConstantsV2Schema>;
export type DatasetLimitsConfig = z.infer<typeof datasetLimitsSchema>;

/**
 * Parse competition.json text (or an already-decoded value). Never throws: a bad file comes back
 * with every problem as `path: message` lines in `reason`.
 *
 * @example
 * const r = parseCompetition(text);
 * if (r.ok) console.log(r.value.recipe.lora.rank); // 4
 */
export function parseCompetition(input: string | unknown): ParseResult<Competition, 'too_long' | 'bad_json' | 'invalid'> {
  let value = input;
  if (typeof input === 'string') {
    if (Buffer.byteLength(input, 'utf8') > COMPETITION_FILE_MAX_BYTES) {
      return { ok: false, code: 'too_long', reason: `${COMPETITION_FILE} is larger than ${COMPETITION_FILE_MAX_BYTES} bytes` };
    }
    try {
      value = JSON.parse(input);
    } catch (err) {
      return { ok: false, code: 'bad_json', reason: `${COMPETITION_FILE} is not JSON: ${(err as Error).message}` };
    }
  }
  const r = competitionSchema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  const lines = r.error.issues.slice(0, 20).map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  return { ok: false, code: 'invalid', reason: `${COMPETITION_FILE} is invalid:\n${lines.join('\n')}` };
}

/**
 * The training seed of a competition revision: `deriveSeed(id, revision)`, or with sealed rounds
 * `deriveSeed(id, rounds[0].evalSha256)` — the same for every revision and round of the
 * competition (revisions come with each round opened or revealed, and a dataset carried over to a
 * later round must not need training again), yet unknown before the first round opens.
 */
export function competitionSeed(c: Competition, revision: string): { u32: number; u64: bigint; hex: string } {
  const rounds = competitionRounds(c);
  return deriveSeed(c.id, rounds.length > 0 ? rounds[0]!.evalSha256 : revision);
}

/** Domain tag of the seed hash; bump with the protocol version. */
export const SEED_DOMAIN = 'flock/seed/v1';

/**
 * The training seed of a competition, the same for every validator and every dataset:
 * `h = SHA-256(UTF-8("flock/seed/v1" ‖ 0x00 ‖ competitionId ‖ 0x00 ‖ evalRevision))`;
 * `u64` = the first 8 bytes of h read big-endian, `u32` = the first 4 bytes read big-endian
 * (so `u32 === Number(u64 >> 32n)`). `evalRevision` is the competition repo's 40-hex revision
 * (the pointer's `v`), so publishing a new evaluation set changes the seed.
 *
 * @example
 * deriveSeed('1', 'ab'.repeat(20)).u32
 */
export function deriveSeed(competitionId: string, evalRevision: string): { u32: number; u64: bigint; hex: string } {
  const h = createHash('sha256');
  h.update(SEED_DOMAIN, 'utf8');
  h.update(Buffer.from([0]));
  h.update(competitionId, 'utf8');
  h.update(Buffer.from([0]));
  h.update(evalRevision, 'utf8');
  const digest = h.digest();
  return { u32: digest.readUInt32BE(0), u64: digest.readBigUInt64BE(0), hex: digest.toString('hex') };
}
