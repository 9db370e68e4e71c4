/**
 * The engine's one pseudo-random number generator, used for the epoch shuffle, dropout masks and
 * LoRA initialisation, so a seed fixes every random choice of a training run.
 *
 * It is counter-based: a draw is a pure function of a 32-bit key and a 32-bit counter,
 *   bits(key, i) = lowbias32(lowbias32(i ^ key) + key)      (all arithmetic mod 2³²)
 * where lowbias32 is Chris Wellons' integer hash (x ^= x>>16; x *= 0x7feb352d; x ^= x>>15;
 * x *= 0x846ca68b; x ^= x>>16). A uniform float is the top 24 bits / 2²⁴, exactly representable in
 * float32. Being counter-based, a GPU kernel draws element i's dropout bit without any state, and
 * every backend draws the same mask. Keys for sub-streams come from `deriveKey(seed, ...tags)`.
 */

/** Chris Wellons' lowbias32 integer hash: a bijection on uint32 with good avalanche. */
export function lowbias32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The i-th 32 random bits of stream `key` (both uint32). */
export function randomBits(key: number, i: number): number {
  return lowbias32((lowbias32((i ^ key) >>> 0) + key) >>> 0);
}

/** The i-th uniform draw in [0, 1) of stream `key`, a multiple of 2⁻²⁴. */
export function uniform(key: number, i: number): number {
  return (randomBits(key, i) >>> 8) / 16777216;
}

/**
 * A sub-stream key from a seed and integer tags, e.g. `deriveKey(seed, STREAM_DROPOUT, step, layer)`.
 * Tags are folded in order, so different tag lists give unrelated keys.
 */
export function deriveKey(seed: number, ...tags: number[]): number {
  let k = lowbias32((seed ^ 0x9e3779b9) >>> 0);
  for (const t of tags) k = lowbias32((k + lowbias32(t >>> 0)) >>> 0);
  return k;
}

/** Tags that separate the streams of one run. */
export const STREAM_SHUFFLE = 1;
export const STREAM_DROPOUT = 2;
export const STREAM_LORA_INIT = 3;

/** A sequential reader over one stream: next() returns the stream's draws 0, 1, 2, … */
export class Stream {
  private counter = 0;
  constructor(readonly key: number) {}
  /** Next 32 random bits. */
  nextBits(): number {
    return randomBits(this.key, this.counter++);
  }
  /** Next uniform draw in [0, 1). */
  next(): number {
    return uniform(this.key, this.counter++);
  }
  /** Next integer in [0, n), n ≤ 2³² (multiply-shift: floor(bits · n / 2³²)). */
  nextInt(n: number): number {
    return Math.floor((this.nextBits() * n) / 4294967296);
  }
}

/** A Fisher–Yates shuffle of `items` (a new array) driven by stream `key`. */
export function shuffle<T>(items: readonly T[], key: number): T[] {
  const out = items.slice();
  const s = new Stream(key);
  for (let i = out.length - 1; i > 0; i--) {
    const j = s.nextInt(i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}
