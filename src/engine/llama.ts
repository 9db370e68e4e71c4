/**
 * The Llama model over a Backend: forward (per-token losses) and backward (gradients into the LoRA
 * weights, through the frozen base weights). One sequence at a time (recipe v1: batch 1). Qwen2
 * is the same block with frozen biases on q, k and v (config.ts, `hasQkvBias`).
 *
 * Legend: T = sequence length, H = hidden, NH = query heads, KV = key/value heads, D = head dim,
 * F = intermediate, V = vocabulary, R = LoRA rank.
 *
 *   x0 = embed[ids]                                                    [T,H]
 *   per layer:  xn1 = rmsnorm(x)·w1;  q,k,v = xn1·Wqᵀ (+bq), ·Wkᵀ (+bk), ·Wvᵀ (+bv) (+LoRA); rope(q), rope(k)
 *               att = softmax(q·kᵀ/√D, causal)·v;  xmid = x + att·Woᵀ
 *               xn2 = rmsnorm(xmid)·w2;  act = silu(xn2·Wgᵀ) · (xn2·Wuᵀ);  x = xmid + act·Wdᵀ
 *   logits = rmsnorm(x)·wf · Wlmᵀ                                       [T,V]
 *   losses[t] = cross-entropy(logits[t], labels[t])  (0 where labels[t] = −100)
 *
 * Backward runs the same steps in exact reverse; frozen weights get no gradient. A bias adds a
 * constant to its output, so backward passes the output's gradient through unchanged (nothing to
 * do) and, frozen, the bias gets none.
 *
 * What a forward pass keeps for backward (`ForwardOptions.activations`): 'keep', every layer's
 * activations (the fastest; at real sizes the largest part of training's peak, memory.ts); 'recompute',
 * only each layer's input x — backward runs the layer's forward again from it, one layer at a
 * time, with the same dropout keys, so every op sees the same inputs and the results are
 * bit-identical at the cost of one more forward pass; 'discard', nothing (evaluation).
 */
import type { Backend, Tensor } from './backend/backend.js';
import { ropeTables } from './backend/rope.js';
import { hasQkvBias, type LlamaConfig } from './config.js';
import { LORA_TARGETS, type LoraTarget } from './adapter.js';
import type { Lora, LoraPair } from './lora.js';
import { deriveKey } from './prng.js';

/** The frozen weights of one block, in nn.Linear layout [out, in]. */
export interface LayerWeights {
  inputNorm: Tensor; // [H]
  q: Tensor; // [NH·D, H]
  k: Tensor; // [KV·D, H]
  v: Tensor; // [KV·D, H]
  /** Biases of q, k, v (Qwen2 only). */
  qBias?: Tensor; // [NH·D]
  kBias?: Tensor; // [KV·D]
  vBias?: Tensor; // [KV·D]
  o: Tensor; // [H, NH·D]
  postNorm: Tensor; // [H]
  gate: Tensor; // [F, H]
  up: Tensor; // [F, H]
  down: Tensor; // [H, F]
}

export interface LlamaWeights {
  embed: Tensor; // [V, H]
  layers: LayerWeights[];
  norm: Tensor; // [H]
  lmHead: Tensor; // [V, H] (the embedding itself when tied)
}

/** Where weights come from: a checkpoint's WeightStore, or an in-memory map in tests. */
export interface WeightSource {
  get(name: string): { shape: number[]; data: Float32Array };
}

/** What one projection saved for its backward. */
interface ProjSaved {
  x: Tensor; // the input [T,in]
  xd?: Tensor; // dropout(x) [T,in] when LoRA dropout is active
  u?: Tensor; // xd·Aᵀ [T,R]
  seed: number;
}

/** Activations of one layer kept for backward. */
interface LayerActs {
  xin: Tensor; // [T,H]
  rstd1: Tensor; // [T]
  xn1: Tensor; // [T,H]
  q: Tensor; // [1,T,NH,D] after RoPE
  k: Tensor; // [1,T,KV,D] after RoPE
  v: Tensor; // [1,T,KV,D]
  probs: Tensor; // [1,NH,T,T]
  att: Tensor; // [T,NH·D]
  xmid: Tensor; // [T,H]
  rstd2: Tensor; // [T]
  xn2: Tensor; // [T,H]
  gate: Tensor; // [T,F]
  up: Tensor; // [T,F]
  act: Tensor; // [T,F]
  saved: Map<LoraTarget, ProjSaved>;
}

/** What a forward pass keeps for backward (see the header). */
export type ActivationMode = 'keep' | 'recompute' | 'discard';

/** Everything a forward pass produced; pass it to `backward`, then `release` it. */
export interface Activations {
  T: number;
  mode: ActivationMode;
  /** The PRNG key of this pass's dropout masks (recomputation draws the same ones). */
  dropoutKey: number;
  ids: Tensor; // i32 [T]
  labels: Tensor; // i32 [T]
  pos: Tensor; // i32 [T]
  /** 'keep': every layer's activations; 'recompute': each layer's input only; 'discard': none. */
  layers: LayerActs[];
  /** 'recompute': the input x of each layer [T,H]. */
  layerInputs: Tensor[];
  xf: Tensor; // [T,H] final residual stream
  rstdf: Tensor; // [T]
  xnf: Tensor; // [T,H]
  logits: Tensor; // [T,V]
  losses: Tensor; // [T]
  lora?: Lora;
  train: boolean;
  tensors: Tensor[]; // everything to free
}

export interface ForwardOptions {
  lora?: Lora;
  /** Training pass: LoRA dropout on (with `dropoutKey`). */
  train?: boolean;
  /** PRNG key for this pass's dropout masks (see prng.ts). */
  dropoutKey?: number;
  /** What to keep for backward (default 'keep'; 'discard' when no backward follows). */
  activations?: ActivationMode;
}

/** One layer's forward: the output x, what backward needs, and every tensor it allocated but x. */
interface LayerPass {
  xout: Tensor;
  acts: LayerActs;
  tensors: Tensor[];
}

export class LlamaModel {
  private readonly cos: Tensor;
  private readonly sin: Tensor;

  constructor(
    readonly backend: Backend,
    readonly config: LlamaConfig,
    readonly weights: LlamaWeights,
  ) {
    const P = config.maxPositionEmbeddings;
    const tables = ropeTables(config, P);
    this.cos = backend.fromArray(tables.cos, [P, config.headDim / 2]);
    this.sin = backend.fromArray(tables.sin, [P, config.headDim / 2]);
  }

  /**
   * Upload a checkpoint's weights (HF names) to `backend`.
   *
   * @example
   * const ckpt = await loadCheckpoint('model');
   * const model = LlamaModel.load(new CpuBackend(), ckpt.config, ckpt.weights);
   */
  static load(backend: Backend, config: LlamaConfig, source: WeightSource): LlamaModel {
    const up = (name: string) => {
      const t = source.get(name);
      return backend.fromArray(t.data, t.shape);
    };
    const layers: LayerWeights[] = [];
    for (let i = 0; i < config.numLayers; i++) {
      const p = `model.layers.${i}.`;
      const biases = hasQkvBias(config) ? {
        qBias: up(`${p}self_attn.q_proj.bias`),
        kBias: up(`${p}self_attn.k_proj.bias`),
        vBias: up(`${p}self_attn.v_proj.bias`),
      } : {};
      layers.push({
        inputNorm: up(`${p}input_layernorm.weight`),
        q: up(`${p}self_attn.q_proj.weight`),
        k: up(`${p}self_attn.k_proj.weight`),
        v: up(`${p}self_attn.v_proj.weight`),
        ...biases,
        o: up(`${p}self_attn.o_proj.weight`),
        postNorm: up(`${p}post_attention_layernorm.weight`),
        gate: up(`${p}mlp.gate_proj.weight`),
        up: up(`${p}mlp.up_proj.weight`),
        down: up(`${p}mlp.down_proj.weight`),
      });
    }
    const embed = up('model.embed_tokens.weight');
    const lmHead = config.tieWordEmbeddings ? embed : up('lm_head.weight');
    return new LlamaModel(backend, config, { embed, layers, norm: up('model.norm.weight'), lmHead });
  }

  /**
   * Forward pass over one sequence. labels[t] is the target of position t (already shifted, −100 =
   * none, see template.ts); `losses` of the result holds each position's loss.
   */
  forward(ids: Int32Array, labels: Int32Array, options: ForwardOptions = {}): Activations {
    const be = this.backend;
    const c = this.config;
    const T = ids.length;
    if (T === 0 || labels.length !== T) throw new RangeError(`forward: ${T} ids and ${labels.length} labels`);
    if (T > c.maxPositionEmbeddings) throw new RangeError(`forward: ${T} tokens exceed max_position_embeddings ${c.maxPositionEmbeddings}`);
    const H = c.hiddenSize, V = c.vocabSize;
    const mode = options.activations ?? 'keep';
    const dropoutKey = options.dropoutKey ?? 0;
    const train = options.train ?? false;
    const lora = options.lora;
    const tensors: Tensor[] = [];
    const alloc = (shape: number[]) => {
      const t = be.zeros(shape);
      tensors.push(t);
      return t;
    };
    const idsT = be.fromArray(ids, [T]);
    const labelsT = be.fromArray(labels, [T]);
    const pos = be.fromArray(Int32Array.from({ length: T }, (_, t) => t), [T]);
    tensors.push(idsT, labelsT, pos);

    let x = alloc([T, H]);
    be.embeddingForward(x, idsT, this.weights.embed);
    const layers: LayerActs[] = [];
    const layerInputs: Tensor[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      const pass = this.layerForward(l, x, pos, { lora, train, dropoutKey });
      if (mode === 'keep') {
        tensors.push(...pass.tensors);
        layers.push(pass.acts);
      } else {
        for (const t of pass.tensors) be.free(t);
        // 'recompute' keeps x (already in `tensors`) for backward; 'discard' frees it now
        if (mode === 'recompute') layerInputs.push(x);
        else {
          tensors.splice(tensors.indexOf(x), 1);
          be.free(x);
        }
      }
      tensors.push(pass.xout);
      x = pass.xout;
    }
    const xnf = alloc([T, H]), rstdf = alloc([T]);
    be.rmsnormForward(xnf, rstdf, x, this.weights.norm, c.rmsNormEps);
    const logits = alloc([T, V]);
    be.linearForward(logits, xnf, this.weights.lmHead);
    const losses = alloc([T]);
    be.crossEntropyForward(losses, logits, labelsT);
    return { T, mode, dropoutKey, ids: idsT, labels: labelsT, pos, layers, layerInputs, xf: x, rstdf, xnf, logits, losses, lora, train, tensors };
  }

  /** Decoder layer `l` on input x [T,H] (x itself is neither kept in `tensors` nor freed). */
  private layerForward(l: number, xin: Tensor, pos: Tensor, options: { lora?: Lora; train: boolean; dropoutKey: number }): LayerPass {
    const be = this.backend;
    const c = this.config;
    const w = this.weights.layers[l]!;
    const T = xin.shape[0]!;
    const H = c.hiddenSize, NH = c.numHeads, KV = c.numKvHeads, D = c.headDim, F = c.intermediateSize;
    const { lora } = options;
    const dropout = options.train && lora ? lora.options.dropout : 0;
    const tensors: Tensor[] = [];
    const alloc = (shape: number[]) => {
      const t = be.zeros(shape);
      tensors.push(t);
      return t;
    };
    const view = (t: Tensor, shape: number[]) => {
      const r = be.reshape(t, shape);
      tensors.push(r);
      return r;
    };
    const saved = new Map<LoraTarget, ProjSaved>();
    const proj = (module: LoraTarget, out: Tensor, x: Tensor, weight: Tensor, bias?: Tensor) => {
      be.linearForward(out, x, weight);
      if (bias) be.addBias(out, bias); // out = x·Wᵀ + b, then + LoRA
      const pair = lora?.get(l, module);
      if (!pair || !lora) return;
      const seed = deriveKey(options.dropoutKey, l, LORA_TARGETS.indexOf(module));
      let xd = x;
      if (dropout > 0) {
        xd = alloc([...x.shape]);
        be.dropoutForward(xd, x, dropout, seed);
      }
      const u = alloc([T, lora.options.rank]);
      be.linearForward(u, xd, pair.a);
      be.linearForward(out, u, pair.b, true, lora.scaling);
      saved.set(module, { x, xd: dropout > 0 ? xd : undefined, u, seed });
    };

    const xn1 = alloc([T, H]), rstd1 = alloc([T]);
    be.rmsnormForward(xn1, rstd1, xin, w.inputNorm, c.rmsNormEps);
    const q = alloc([T, NH * D]), k = alloc([T, KV * D]), v = alloc([T, KV * D]);
    proj('q_proj', q, xn1, w.q, w.qBias);
    proj('k_proj', k, xn1, w.k, w.kBias);
    proj('v_proj', v, xn1, w.v, w.vBias);
    const q3 = view(q, [T, NH, D]), k3 = view(k, [T, KV, D]);
    be.ropeForward(q3, q3, pos, this.cos, this.sin);
    be.ropeForward(k3, k3, pos, this.cos, this.sin);
    const q4 = view(q, [1, T, NH, D]), k4 = view(k, [1, T, KV, D]), v4 = view(v, [1, T, KV, D]);
    const att4 = alloc([1, T, NH, D]), probs = alloc([1, NH, T, T]);
    be.attentionForward(att4, probs, q4, k4, v4);
    const att = view(att4, [T, NH * D]);
    const ao = be.zeros([T, H]);
    proj('o_proj', ao, att, w.o);
    const xmid = alloc([T, H]);
    be.add(xmid, xin, ao);
    be.free(ao);
    const xn2 = alloc([T, H]), rstd2 = alloc([T]);
    be.rmsnormForward(xn2, rstd2, xmid, w.postNorm, c.rmsNormEps);
    const gate = alloc([T, F]), upT = alloc([T, F]), act = alloc([T, F]);
    proj('gate_proj', gate, xn2, w.gate);
    proj('up_proj', upT, xn2, w.up);
    be.swigluForward(act, gate, upT);
    const mo = be.zeros([T, H]);
    proj('down_proj', mo, act, w.down);
    const xout = be.zeros([T, H]);
    be.add(xout, xmid, mo);
    be.free(mo);
    return { xout, tensors, acts: { xin, rstd1, xn1, q: q4, k: k4, v: v4, probs, att, xmid, rstd2, xn2, gate, up: upT, act, saved } };
  }

  /**
   * Backward pass: dlosses[t] = ∂objective/∂losses[t]. Adds the gradients into the LoRA pairs'
   * `da`/`db` (accumulating across calls: gradient accumulation). After a 'recompute' forward each
   * layer's activations are computed again here, one layer at a time.
   */
  backward(acts: Activations, dlosses: Float32Array): void {
    const be = this.backend;
    const c = this.config;
    const lora = acts.lora;
    if (!lora) throw new Error('backward: the forward pass had no LoRA weights to train');
    if (acts.mode === 'discard') throw new Error('backward: the forward pass kept no activations (activations: \'discard\')');
    const { T } = acts;
    const H = c.hiddenSize, NH = c.numHeads, KV = c.numKvHeads, D = c.headDim, F = c.intermediateSize, V = c.vocabSize;
    const dropout = acts.train ? lora.options.dropout : 0;
    const temps: Tensor[] = [];
    const tmp = (shape: number[]) => {
      const t = be.zeros(shape);
      temps.push(t);
      return t;
    };
    const view = (t: Tensor, shape: number[]) => {
      const r = be.reshape(t, shape);
      temps.push(r);
      return r;
    };
    const freeAll = () => {
      for (const t of temps) be.free(t);
      temps.length = 0;
    };

    /** Backward of one projection: dx += dout·W (+ LoRA), LoRA grads +=. dx null: input grad not needed. */
    const projBack = (layer: number, module: LoraTarget, dx: Tensor | null, dout: Tensor, w: Tensor, saved: Map<LoraTarget, ProjSaved>) => {
      if (dx) be.linearBackwardInput(dx, dout, w);
      const pair: LoraPair | undefined = lora.get(layer, module);
      const s = saved.get(module);
      if (!pair || !s) return;
      const du = be.zeros([T, lora.options.rank]);
      be.linearBackwardWeight(pair.db, dout, s.u!, lora.scaling); // dB += s·doutᵀ·u
      be.linearBackwardInput(du, dout, pair.b, lora.scaling); //     du = s·dout·B
      be.linearBackwardWeight(pair.da, du, s.xd ?? s.x); //           dA += duᵀ·xd
      if (dx) {
        if (dropout > 0) {
          const dxd = be.zeros([...s.x.shape]);
          be.linearBackwardInput(dxd, du, pair.a);
          be.dropoutBackward(dx, dxd, dropout, s.seed);
          be.free(dxd);
        } else be.linearBackwardInput(dx, du, pair.a);
      }
      be.free(du);
    };

    const dl = tmp([T]);
    be.write(dl, dlosses);
    const dlogits = tmp([T, V]);
    be.crossEntropyBackward(dlogits, dl, acts.logits, acts.labels);
    const dxnf = tmp([T, H]);
    be.linearBackwardInput(dxnf, dlogits, this.weights.lmHead);
    // gradient wrt the residual stream, carried down through the layers
    const dx = be.zeros([T, H]);
    be.rmsnormBackward(dx, null, dxnf, acts.xf, this.weights.norm, acts.rstdf);
    freeAll();

    for (let l = c.numLayers - 1; l >= 0; l--) {
      const w = this.weights.layers[l]!;
      let recomputed: LayerPass | null = null;
      if (acts.mode === 'recompute') recomputed = this.layerForward(l, acts.layerInputs[l]!, acts.pos, { lora, train: acts.train, dropoutKey: acts.dropoutKey });
      const a = recomputed ? recomputed.acts : acts.layers[l]!;
      const needInput = l > 0; // nothing below layer 0 is trainable
      // MLP: x = xmid + down(silu(gate)·up)
      const dact = tmp([T, F]);
      projBack(l, 'down_proj', dact, dx, w.down, a.saved);
      const dgate = tmp([T, F]), dup = tmp([T, F]);
      be.swigluBackward(dgate, dup, dact, a.gate, a.up);
      const dxn2 = tmp([T, H]);
      projBack(l, 'gate_proj', dxn2, dgate, w.gate, a.saved);
      projBack(l, 'up_proj', dxn2, dup, w.up, a.saved);
      be.rmsnormBackward(dx, null, dxn2, a.xmid, w.postNorm, a.rstd2); // dx is now ∂/∂xmid
      // attention: xmid = xin + o(att)
      const datt = tmp([T, NH * D]);
      projBack(l, 'o_proj', datt, dx, w.o, a.saved);
      const dq = tmp([1, T, NH, D]), dk = tmp([1, T, KV, D]), dv = tmp([1, T, KV, D]);
      be.attentionBackward(dq, dk, dv, view(datt, [1, T, NH, D]), a.probs, a.q, a.k, a.v);
      const dqp = tmp([T, NH * D]), dkp = tmp([T, KV * D]);
      be.ropeBackward(view(dqp, [T, NH, D]), view(dq, [T, NH, D]), acts.pos, this.cos, this.sin);
      be.ropeBackward(view(dkp, [T, KV, D]), view(dk, [T, KV, D]), acts.pos, this.cos, this.sin);
      const dxn1 = needInput ? tmp([T, H]) : null;
      projBack(l, 'q_proj', dxn1, dqp, w.q, a.saved);
      projBack(l, 'k_proj', dxn1, dkp, w.k, a.saved);
      projBack(l, 'v_proj', dxn1, view(dv, [T, KV * D]), w.v, a.saved);
      if (dxn1) be.rmsnormBackward(dx, null, dxn1, a.xin, w.inputNorm, a.rstd1); // dx is now ∂/∂xin
      freeAll();
      if (recomputed) for (const t of [...recomputed.tensors, recomputed.xout]) be.free(t);
    }
    be.free(dx);
  }

  /** Free a forward pass's activations. */
  release(acts: Activations): void {
    for (const t of acts.tensors) this.backend.free(t);
    acts.tensors.length = 0;
  }

  /** Free the model's weights and tables. */
  free(): void {
    const w = this.weights;
    const all = [w.embed, w.norm, this.cos, this.sin, ...w.layers.flatMap((l) => (Object.values(l) as (Tensor | undefined)[]).filter((t) => t !== undefined))];
    if (w.lmHead !== w.embed) all.push(w.lmHead);
    for (const t of all) this.backend.free(t);
  }
}
