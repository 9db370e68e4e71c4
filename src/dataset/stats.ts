/**
 * Dataset statistics: rows, turns, characters, estimated tokens and their distributions.
 * Tokens are *estimated* as ⌈characters ÷ 4⌉ per row (a common rule of thumb for English with
 * Llama-3's tokenizer); the engine's tokenizer gives exact counts.
 */
import type { CanonicalRow } from './canonical.js';
import { GrowableU32 } from './growable.js';

export interface Distribution {
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface DatasetStats {
  rows: number;
  turns: number;
  /** Characters (UTF-16 code units) of all contents and system prompts. */
  characters: number;
  estimatedTokens: number;
  rowsWithSystem: number;
  /** Rows by number of turns: `{ "2": 812, "4": 188 }`. */
  turnsPerRow: Record<string, number>;
  charactersPerRow: Distribution;
  estimatedTokensPerRow: Distribution;
}

/** Estimated tokens of a text length (see the module comment). */
export function estimateTokens(characters: number): number {
  return Math.ceil(characters / 4);
}

/** Collects statistics one row at a time (4 bytes of memory a row). */
export class StatsCollector {
  private rows = 0;
  private turns = 0;
  private characters = 0;
  private tokens = 0;
  private withSystem = 0;
  private readonly turnsHist = new Map<number, number>();
  private readonly charsPerRow = new GrowableU32();

  add(row: CanonicalRow): void {
    let chars = row.system?.length ?? 0;
    for (const t of row.conversations) chars += t.content.length;
    this.rows++;
    this.turns += row.conversations.length;
    this.characters += chars;
    this.tokens += estimateTokens(chars);
    if (row.system !== null) this.withSystem++;
    this.turnsHist.set(row.conversations.length, (this.turnsHist.get(row.conversations.length) ?? 0) + 1);
    this.charsPerRow.push(chars);
  }

  private sortedChars: Uint32Array | null = null;

  /** The statistics (call after the last `add`). */
  result(): DatasetStats {
    this.sortedChars ??= this.charsPerRow.toArray().sort();
    const chars = this.sortedChars;
    const turnsPerRow: Record<string, number> = {};
    for (const k of [...this.turnsHist.keys()].sort((a, b) => a - b)) turnsPerRow[String(k)] = this.turnsHist.get(k)!;
    return {
      rows: this.rows,
      turns: this.turns,
      characters: this.characters,
      estimatedTokens: this.tokens,
      rowsWithSystem: this.withSystem,
      turnsPerRow,
      charactersPerRow: distribution(chars, (v) => v),
      estimatedTokensPerRow: distribution(chars, estimateTokens),
    };
  }
}

/** Quantiles of sorted values (nearest rank), after mapping each through `f`. */
function distribution(sorted: Uint32Array, f: (v: number) => number): Distribution {
  const n = sorted.length;
  if (n === 0) return { min: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const q = (p: number) => f(sorted[Math.min(n - 1, Math.ceil(p * n) - 1)]!);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += f(sorted[i]!);
  return { min: f(sorted[0]!), p50: q(0.5), p90: q(0.9), p99: q(0.99), max: f(sorted[n - 1]!), mean: Math.round((sum / n) * 10) / 10 };
}
