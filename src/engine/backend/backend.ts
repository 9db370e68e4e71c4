/**
 * The op-level compute backend. The model (llama.ts), LoRA (lora.ts), the optimizer (optim.ts) and
 * the training/evaluation loops are written once against this interface; `cpu/` and `webgpu/`
 * implement it. A backend owns its tensors (a GPU backend keeps them on the device): the model
 * only holds opaque handles and reads data back with `read` (the only async call, so a GPU backend
 * can queue every op and flush at a read).
 *
 * Conventions (after llm.c):
 * - Every op writes into tensors the caller allocated; outputs first, then inputs, then weights.
 * - Sizes come from the tensors' shapes; each op checks them and throws on a mismatch.
 * - Every backward op ADDS (+=) into its gradient outputs, activation gradients included, so
 *   gradients from several consumers and from several micro-batches sum up; zero them with `fill`.
 * - Tensors are dense, row-major, float32 unless typed 'i32' (token ids, targets, positions).
 * - Two calls with the same inputs give bit-identical outputs (no data-dependent reduction order).
 *
 * Legend: N = rows (tokens, B·T), B = batch, T = sequence length, I = input features,
 * O = output features, H = hidden size, F = MLP intermediate size, V = vocabulary, NH = query heads,
 * KV = key/value heads (NH % KV == 0, grouped-query attention), D = head dim, P = positions in the
 * RoPE table, R = LoRA rank.
 */

export type DType = 'f32' | 'i32';

/** An opaque handle to a tensor that lives in a backend. */
export interface Tensor {
  readonly shape: readonly number[];
  /** Number of elements (product of the shape). */
  readonly size: number;
  readonly dtype: DType;
}

/** Hyper-parameters of one AdamW step (decoupled weight decay, bias-corrected moments). */
export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number, for bias correction. */
  step: number;
}

/**
 * What computes a backend's results: its name, the kernel variant chosen for each op family, and
 * the device. With the same engine version, equal identities give bit-identical results.
 */
export interface BackendIdentity {
  backend: string;
  /** Op family → variant, e.g. { matmul: 'wasm-simd', attention: 'wasm-simd' }. */
  kernels: Readonly<Record<string, string>>;
  /** The device that runs the kernels (adapter and driver), or null for the host CPU. */
  device: string | null;
}

export interface Backend {
  /** 'cpu', 'webgpu', … — recorded in receipts. */
  readonly name: string;

  /** The kernels and device this backend computes with now (recorded in receipts). */
  identity(): BackendIdentity;

  // ─── memory ────────────────────────────────────────────────────────────────────────────────

  /** A new tensor of this shape filled with zeros. */
  zeros(shape: readonly number[], dtype?: DType): Tensor;
  /** A new tensor holding a copy of `data` (Float32Array → 'f32', Int32Array → 'i32'). */
  fromArray(data: Float32Array | Int32Array, shape: readonly number[]): Tensor;
  /** Overwrite a tensor's contents with `data` (same length and element type). */
  write(t: Tensor, data: Float32Array | Int32Array): void;
  /** A copy of the tensor's contents on the host, once every queued op has finished. */
  read(t: Tensor): Promise<Float32Array>;
  /** Set every element to `value`. */
  fill(t: Tensor, value: number): void;
  /** dst = src (same size; shapes may differ, e.g. a reshape). */
  copy(dst: Tensor, src: Tensor): void;
  /** A tensor sharing `t`'s storage with another shape of the same size (no copy). */
  reshape(t: Tensor, shape: readonly number[]): Tensor;
  /**
   * A tensor over elements [offset, offset + size(shape)) of `t` (no copy): named views into one
   * buffer, as the LoRA parameters, gradients and Adam moments are kept. `offset` is a multiple of
   * SLICE_ALIGN. Free it like any tensor; the storage lives until every handle is freed.
   */
  slice(t: Tensor, offset: number, shape: readonly number[]): Tensor;
  /**
   * Copies of several tensors' contents on the host, in one round trip to the device (one
   * `read` each would wait for the device once per tensor).
   */
  readAll(ts: readonly Tensor[]): Promise<Float32Array[]>;
  /** Release the tensor's storage; the handle must not be used again. */
  free(t: Tensor): void;
  /** Release every resource (worker threads, device) of the backend. */
  dispose(): void;
  /**
   * Bytes the backend holds on its device now (a GPU backend's buffer pool), for memory plans
   * (memory.ts); absent where memory is the host's.
   */
  memoryHeld?(): number;
  /** Keep the device memory the backend holds under `bytes` where it can (a GPU pool trims its free buffers). */
  setMemoryBudget?(bytes: number | undefined): void;

  // ─── elementwise ───────────────────────────────────────────────────────────────────────────

  /** out = a + b (all the same size; out may alias a or b). The residual connection. */
  add(out: Tensor, a: Tensor, b: Tensor): void;
  /** y += alpha · x (same size). Backward of `add`, and LoRA's scaled branch. */
  axpy(y: Tensor, alpha: number, x: Tensor): void;
  /** out = s · a (out may alias a). Gradient clipping. */
  scale(out: Tensor, a: Tensor, s: number): void;
  /**
   * y[n,o] += bias[o] for every row n: y [N,O] (any leading dimensions), bias [O]. A frozen bias
   * after a linear layer (Qwen2's q/k/v projections). Its backward is the identity on the
   * gradient and a frozen bias gets no gradient, so there is no backward op.
   */
  addBias(y: Tensor, bias: Tensor): void;

  // ─── linear layers ─────────────────────────────────────────────────────────────────────────

  /**
   * out[N,O] = scale · x[N,I] · w[O,I]ᵀ, or out += that when `accumulate` (default: overwrite,
   * scale 1). w is in PyTorch's nn.Linear layout [out, in]. Frozen weights and LoRA's thin
   * matrices (A [R,I], B [O,R]) both go through here.
   */
  linearForward(out: Tensor, x: Tensor, w: Tensor, accumulate?: boolean, scale?: number): void;
  /** dx[N,I] += scale · dout[N,O] · w[O,I]. Gradient of `linearForward` wrt its input. */
  linearBackwardInput(dx: Tensor, dout: Tensor, w: Tensor, scale?: number): void;
  /** dw[O,I] += scale · dout[N,O]ᵀ · x[N,I]. Gradient wrt the weight (LoRA A and B only: frozen weights need none). */
  linearBackwardWeight(dw: Tensor, dout: Tensor, x: Tensor, scale?: number): void;

  // ─── embedding ─────────────────────────────────────────────────────────────────────────────

  /** out[N,H] = table[ids[n], :]. ids: i32 [N], every id in [0, V). */
  embeddingForward(out: Tensor, ids: Tensor, table: Tensor): void;
  /** dtable[ids[n], :] += dout[n, :] (scatter-add; rows with repeated ids sum, in order of n). */
  embeddingBackward(dtable: Tensor, dout: Tensor, ids: Tensor): void;

  // ─── normalisation ─────────────────────────────────────────────────────────────────────────

  /**
   * RMSNorm: out[n,:] = x[n,:] · rstd[n] · w, rstd[n] = 1 / sqrt(mean(x[n,:]²) + eps).
   * out [N,H], rstd [N] (saved for backward), x [N,H], w [H].
   */
  rmsnormForward(out: Tensor, rstd: Tensor, x: Tensor, w: Tensor, eps: number): void;
  /** dx[N,H] += ∂/∂x, and dw[H] += ∂/∂w unless dw is null (frozen norm weights). */
  rmsnormBackward(dx: Tensor, dw: Tensor | null, dout: Tensor, x: Tensor, w: Tensor, rstd: Tensor): void;

  // ─── rotary position embedding ─────────────────────────────────────────────────────────────

  /**
   * RoPE in Hugging Face Llama's "rotate half" layout: for each head, with j < D/2,
   * out[j] = x[j]·cos − x[j+D/2]·sin, out[j+D/2] = x[j+D/2]·cos + x[j]·sin, where
   * cos = cos[pos[n], j], sin = sin[pos[n], j]. x, out [N, heads, D] (out may alias x),
   * pos i32 [N], cos/sin [P, D/2] (built on the host by `ropeTables`, llama3 scaling included).
   */
  ropeForward(out: Tensor, x: Tensor, pos: Tensor, cos: Tensor, sin: Tensor): void;
  /** dx += Rᵀ · dout (the inverse rotation). dx, dout [N, heads, D]. */
  ropeBackward(dx: Tensor, dout: Tensor, pos: Tensor, cos: Tensor, sin: Tensor): void;

  // ─── attention ─────────────────────────────────────────────────────────────────────────────

  /**
   * Causal grouped-query attention with softmax(q·kᵀ / √D): query head h reads key/value head
   * h / (NH/KV). out [B,T,NH,D], probs [B,NH,T,T] (saved for backward; entries above the
   * diagonal are 0), q [B,T,NH,D], k and v [B,T,KV,D].
   */
  attentionForward(out: Tensor, probs: Tensor, q: Tensor, k: Tensor, v: Tensor): void;
  /** dq [B,T,NH,D] +=, dk and dv [B,T,KV,D] += the gradients given dout [B,T,NH,D]. */
  attentionBackward(dq: Tensor, dk: Tensor, dv: Tensor, dout: Tensor, probs: Tensor, q: Tensor, k: Tensor, v: Tensor): void;

  // ─── MLP ───────────────────────────────────────────────────────────────────────────────────

  /** SwiGLU: out = silu(gate) · up, silu(g) = g / (1 + e^−g). All [N,F]. */
  swigluForward(out: Tensor, gate: Tensor, up: Tensor): void;
  /** dgate += dout · up · silu'(gate), dup += dout · silu(gate). */
  swigluBackward(dgate: Tensor, dup: Tensor, dout: Tensor, gate: Tensor, up: Tensor): void;

  // ─── loss ──────────────────────────────────────────────────────────────────────────────────

  /**
   * Per-row cross-entropy: losses[n] = logsumexp(logits[n,:]) − logits[n, targets[n]], and 0
   * where targets[n] < 0 (−100 = not a target). losses [N], logits [N,V], targets i32 [N].
   */
  crossEntropyForward(losses: Tensor, logits: Tensor, targets: Tensor): void;
  /**
   * dlogits[n,:] += dlosses[n] · (softmax(logits[n,:]) − onehot(targets[n])), nothing for rows
   * without a target. dlosses [N] holds ∂objective/∂losses[n] (e.g. 1 / (targets · accumulation)).
   */
  crossEntropyBackward(dlogits: Tensor, dlosses: Tensor, logits: Tensor, targets: Tensor): void;

  // ─── regularisation ────────────────────────────────────────────────────────────────────────

  /**
   * Inverted dropout: out[i] = keep(i) ? x[i] / (1 − p) : 0, where keep(i) = uniform(seed, i) ≥ p
   * with `uniform` from src/engine/prng.ts (a counter-based hash, so every backend draws the same
   * mask and backward recomputes it instead of storing it). seed: uint32. out may alias x.
   */
  dropoutForward(out: Tensor, x: Tensor, p: number, seed: number): void;
  /** dx[i] += keep(i) ? dout[i] / (1 − p) : 0, with the same p and seed as the forward. */
  dropoutBackward(dx: Tensor, dout: Tensor, p: number, seed: number): void;

  // ─── optimizer ─────────────────────────────────────────────────────────────────────────────

  /** Σ t[i]², accumulated in float64 in index order (the gradient norm for clipping). */
  sumSquares(t: Tensor): Promise<number>;
  /**
   * One AdamW step on `param` with gradient `grad` and moment buffers m, v (all the same size):
   * m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; param −= lr·(m̂ / (√v̂ + ε) + wd·param), with
   * m̂ = m / (1−β1^step), v̂ = v / (1−β2^step) (PyTorch's AdamW).
   */
  adamwUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hp: AdamWStep): void;
}

/**
 * Slices start at multiples of this many elements: 256 bytes, WebGPU's guaranteed storage-buffer
 * binding offset alignment (`minStorageBufferOffsetAlignment`).
 */
export const SLICE_ALIGN = 64;

/** `n` rounded up to a multiple of SLICE_ALIGN: where the next slice after `n` elements may start. */
export function alignSlice(n: number): number {
  return Math.ceil(n / SLICE_ALIGN) * SLICE_ALIGN;
}

/** Number of elements of a shape. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
