import { describe, expect, it } from 'vitest';
import { chatTemplateOf, RECIPE_V1, recipeSchema, warmupStepsFor } from '../../src/protocol/recipe.js';

describe('recipe schema', () => {
  it('fills recipe v1 defaults', () => {
    expect(RECIPE_V1).toEqual({
      version: 1,
      lora: { rank: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'v_proj'] },
      batchSize: 1,
      gradientAccumulation: 8,
      epochs: 3,
      optimizer: { type: 'adamw', lr: 2e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
      warmupSteps: 100,
      lrSchedule: 'linear',
      gradClip: 1.0,
      maxSeqLen: 512,
    });
  });

  it('keeps given fields and defaults the rest of a nested object', () => {
    const r = recipeSchema.parse({ lora: { rank: 8 }, optimizer: { lr: 1e-3 }, epochs: 1 });
    expect(r.lora).toEqual({ rank: 8, alpha: 8, dropout: 0.1, targets: ['q_proj', 'v_proj'] });
    expect(r.optimizer.lr).toBe(1e-3);
    expect(r.optimizer.beta2).toBe(0.999);
    expect(r.epochs).toBe(1);
  });

  it.each([
    [{ lora: { rank: 0 } }, 'lora.rank'],
    [{ lora: { dropout: 1 } }, 'lora.dropout'],
    [{ lora: { targets: ['q_proj', 'q_proj'] } }, 'lora.targets'],
    [{ lora: { targets: ['wq'] } }, 'lora.targets.0'],
    [{ optimizer: { type: 'sgd' } }, 'optimizer.type'],
    [{ version: 2 }, 'version'],
    [{ maxSeqLen: 1.5 }, 'maxSeqLen'],
    [{ learningRate: 1 }, ''],
    [{ warmupRatio: 1.5 }, 'warmupRatio'],
    [{ warmupSteps: 10, warmupRatio: 0.1 }, 'warmupRatio'],
    [{ chatTemplate: 'mistral' }, 'chatTemplate'],
    [{ chatTemplate: null }, 'chatTemplate'],
  ])('rejects %j at %s', (input, path) => {
    const r = recipeSchema.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toContain(path);
  });

  it('warm-up: warmupSteps by default, ceil(warmupRatio × total) when the ratio is given (transformers)', () => {
    expect(warmupStepsFor(RECIPE_V1, 33)).toBe(100);
    const r = recipeSchema.parse({ warmupRatio: 0.1 });
    expect(r.warmupRatio).toBe(0.1);
    expect(warmupStepsFor(r, 33)).toBe(4);
    expect(warmupStepsFor(r, 30)).toBe(3);
    expect(warmupStepsFor(recipeSchema.parse({ warmupRatio: 0 }), 30)).toBe(0);
    // recipe v1 has no ratio: its parsed form (and so its hash) is unchanged
    expect('warmupRatio' in RECIPE_V1).toBe(false);
  });

  it('chat template: llama3 by default and when named, which parses exactly as recipe v1 (same parsed form, so the same hash); chatml kept', () => {
    expect('chatTemplate' in RECIPE_V1).toBe(false);
    expect(chatTemplateOf(RECIPE_V1)).toBe('llama3');
    const named = recipeSchema.parse({ chatTemplate: 'llama3' });
    expect(named).toEqual(RECIPE_V1);
    expect(JSON.stringify(named)).toBe(JSON.stringify(RECIPE_V1));
    expect(chatTemplateOf(named)).toBe('llama3');
    const chatml = recipeSchema.parse({ chatTemplate: 'chatml', lora: { rank: 16 } });
    expect(chatml.chatTemplate).toBe('chatml');
    expect(chatTemplateOf(chatml)).toBe('chatml');
    expect(chatml.lora.rank).toBe(16);
  });
});
