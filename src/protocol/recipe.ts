/**
 * The evaluation recipe (docs/protocol.md, "The recipe"): how a validator trains a LoRA adapter on a dataset and
 * measures it. Data, not code: it lives in competition.json (`recipe`), every field defaulting to
 * recipe v1 (LoRA rank 4 on q_proj/v_proj, 3 epochs of AdamW at 2e-4, 512-token sequences, the
 * Llama 3 chat template).
 *
 * The engine owns the semantics (how each field is applied: src/engine/train.ts); this file holds
 * the shape, the v1 defaults and the warm-up rule both sides share.
 */
import { z } from 'zod';

/**
 * Chat templates a recipe can name (docs/protocol.md, "The recipe"; the engine renders them:
 * src/engine/template.ts): `llama3` (Llama 3's headers, recipe v1) and `chatml` (Qwen's ChatML).
 */
export const CHAT_TEMPLATES = ['llama3', 'chatml'] as const;
export type ChatTemplate = (typeof CHAT_TEMPLATES)[number];
/** The template of a recipe that names none. */
export const DEFAULT_CHAT_TEMPLATE: ChatTemplate = 'llama3';

/** LoRA adapter shape: W' = W + (alpha / rank)·B·A on each target projection. */
export const loraSchema = z
  .object({
    /** r: inner dimension of A (r × in) and B (out × r). */
    rank: z.number().int().min(1).max(256).default(4),
    /** Scale numerator: the update is multiplied by alpha / rank. */
    alpha: z.number().positive().default(8),
    /** Dropout on the LoRA input path during training (0 = none). */
    dropout: z.number().min(0).lt(1).default(0.1),
    /** Linear layers that get an adapter, by their HF Llama names. */
    targets: z
      .array(z.enum(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']))
      .min(1)
      .refine((t) => new Set(t).size === t.length, 'targets must not repeat')
      .default(['q_proj', 'v_proj']),
  })
  .strict();

/** AdamW (decoupled weight decay). */
export const optimizerSchema = z
  .object({
    type: z.literal('adamw').default('adamw'),
    lr: z.number().positive().default(2e-4),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    eps: z.number().positive().default(1e-8),
    weightDecay: z.number().min(0).default(0),
  })
  .strict();

const recipeObject = z
  .object({
    /** Recipe format version. */
    version: z.literal(1).default(1),
    lora: loraSchema.prefault({}),
    /** Rows per micro-batch. */
    batchSize: z.number().int().min(1).default(1),
    /** Micro-batches per optimizer step. */
    gradientAccumulation: z.number().int().min(1).default(8),
    /** Passes over the (canonically ordered, seed-shuffled) rows. */
    epochs: z.number().int().min(1).max(100).default(3),
    optimizer: optimizerSchema.prefault({}),
    /** Optimizer steps of linear warm-up from 0 to lr. */
    warmupSteps: z.number().int().min(0).default(100),
    /**
     * Warm-up as a share of all optimizer steps instead (transformers' `warmup_ratio`): warm-up
     * lasts ceil(ratio × total steps). Replaces `warmupSteps`, which must then be left out.
     */
    warmupRatio: z.number().min(0).max(1).optional(),
    /** After warm-up: linear decay to 0 at the last step. */
    lrSchedule: z.literal('linear').default('linear'),
    /** Global gradient-norm clip (0 = off). */
    gradClip: z.number().min(0).default(1.0),
    /** Sequences are truncated to their first maxSeqLen tokens (training and evaluation). */
    maxSeqLen: z.number().int().min(8).max(131_072).default(512),
    /**
     * How rows become token sequences. Absent means `llama3`, and an explicit `llama3` is dropped
     * when parsing (see recipeSchema), so recipes written before the field existed keep their
     * parsed form and their hash.
     */
    chatTemplate: z.enum(CHAT_TEMPLATES).optional(),
  })
  .strict();

/**
 * The recipe as competition.json writes it: `warmupSteps` and `warmupRatio` exclude each other;
 * `chatTemplate: "llama3"` (the default) parses as if absent, so it never changes a recipe's hash.
 */
export const recipeSchema = z.preprocess((input, ctx) => {
  if (input && typeof input === 'object' && 'warmupSteps' in input && 'warmupRatio' in input) {
    ctx.issues.push({ code: 'custom', message: 'give warmupSteps or warmupRatio, not both', path: ['warmupRatio'], input });
  }
  if (input && typeof input === 'object' && (input as { chatTemplate?: unknown }).chatTemplate === DEFAULT_CHAT_TEMPLATE) {
    const { chatTemplate: _default, ...rest } = input as Record<string, unknown>;
    return rest;
  }
  return input;
}, recipeObject);

/** A complete recipe (every default filled in). */
export type Recipe = z.infer<typeof recipeSchema>;
/** A recipe as written in competition.json (any field may be left to its v1 default). */
export type RecipeInput = z.input<typeof recipeObject>;

/** Recipe v1 with every default. */
export const RECIPE_V1: Readonly<Recipe> = Object.freeze(recipeSchema.parse({}));

/**
 * The chat template a recipe trains and evaluates with.
 *
 * @example
 * chatTemplateOf(RECIPE_V1); // 'llama3'
 */
export function chatTemplateOf(recipe: Pick<Recipe, 'chatTemplate'>): ChatTemplate {
  return recipe.chatTemplate ?? DEFAULT_CHAT_TEMPLATE;
}

/**
 * Warm-up steps of a recipe over `totalSteps` optimizer steps: `warmupRatio` when given (rounded
 * up, as transformers does), else `warmupSteps`.
 *
 * @example
 * warmupStepsFor({ ...RECIPE_V1, warmupRatio: 0.1 }, 33); // 4
 */
export function warmupStepsFor(recipe: Pick<Recipe, 'warmupSteps' | 'warmupRatio'>, totalSteps: number): number {
  return recipe.warmupRatio !== undefined ? Math.ceil(recipe.warmupRatio * totalSteps) : recipe.warmupSteps;
}
