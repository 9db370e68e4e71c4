/**
 * RoPE cos/sin tables on the host (backends only look them up), with Llama 3's frequency scaling,
 * following transformers' `_compute_default_rope_parameters` / `_compute_llama3_parameters`.
 */
import type { LlamaConfig } from '../config.js';

/** The D/2 inverse frequencies θ^(−2j/D), Llama 3 scaling applied when configured. */
export function ropeInverseFrequencies(config: Pick<LlamaConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>): Float64Array {
  const half = config.headDim / 2;
  const inv = new Float64Array(half);
  for (let j = 0; j < half; j++) inv[j] = 1 / Math.pow(config.ropeTheta, (2 * j) / config.headDim);
  const s = config.ropeScaling;
  if (!s) return inv;
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (let j = 0; j < half; j++) {
    const f = inv[j]!;
    const wavelen = (2 * Math.PI) / f;
    if (wavelen > lowWavelen) inv[j] = f / s.factor; // low frequencies: scaled
    else if (wavelen >= highWavelen) {
      // medium: interpolate between scaled and unscaled
      const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      inv[j] = (1 - smooth) * (f / s.factor) + smooth * f;
    } // high frequencies: unchanged
  }
  return inv;
}

/** cos and sin tables [positions, D/2]: entry (p, j) = cos/sin(p · invFreq[j]), float32. */
export function ropeTables(config: Pick<LlamaConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>, positions: number): { cos: Float32Array; sin: Float32Array } {
  const inv = ropeInverseFrequencies(config);
  const half = inv.length;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let j = 0; j < half; j++) {
      // float32 angle, as transformers computes it (inv_freq.float() @ position_ids.float())
      const angle = Math.fround(p * Math.fround(inv[j]!));
      cos[p * half + j] = Math.cos(angle);
      sin[p * half + j] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
