#!/usr/bin/env python3
"""An independent Llama / Qwen2 + LoRA reference in plain PyTorch (no transformers), for the
engine's tests and benchmark. Debian's python3-torch (1.13) is enough. Qwen2 (config model_type
"qwen2") is the Llama block with a bias on the q, k and v projections (out = x·Wᵀ + b + LoRA).

  llama_torch.py eval   MODEL_DIR REQUEST.json  -> {"perExample": [...]}         float64
  llama_torch.py train  MODEL_DIR REQUEST.json  -> {"losses": [...], …}          float64, LoRA training
  llama_torch.py bench  MODEL_DIR REQUEST.json  -> {"trainTokensPerSecond": …}   float32, LoRA training

The sequences it takes from chat rows are made by chat_template.py, the templates' reference.

REQUEST.json: {"sequences": [{"ids": [...], "labels": [...]}], "adapter": DIR or null,
               "lora": {"rank", "alpha", "dropout", "targets"}, "accumulation": 8, "threads": 2}
labels are already shifted (labels[t] is the target of the logits at t, -100 = none), as the
engine's template.ts produces them.

train: recipe-style LoRA fine-tuning with torch's own optimizer, clipping and scheduler, from a
PEFT adapter folder, step by step as the recipe defines it. REQUEST.json:
  {"adapter": DIR (initial PEFT adapter), "sequences": [...] (training examples),
   "order": [[i, ...], ...] (one permutation of the example indices per epoch: the shuffle is the
            caller's, given as data),
   "recipe": {"batchSize", "gradientAccumulation", "epochs", "warmupSteps" | "warmupRatio",
              "gradClip", "optimizer": {"lr", "beta1", "beta2", "eps", "weightDecay"},
              "lora": {"rank", "alpha", "dropout" (must be 0), "targets"}},
   "evalSequences": [...], "threads": 2}
Each optimizer step takes the next batchSize·gradientAccumulation examples of the epoch's order
(the last step of an epoch takes what is left), in micro-batches of batchSize; its objective is the
mean over those examples of each example's mean target-token loss. Output:
  {"losses": per-step objective, "gradNorms": per-step global norm before clipping,
   "lrs": per-step learning rate, "totalSteps", "warmupSteps",
   "adapter": {PEFT tensor name: flattened values}, "evalPerExample": losses after training}
"""
import json
import math
import os
import struct
import sys
import time

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[start:end]), dtype=DTYPES[info["dtype"]]) if end > start else torch.zeros(0)
        out[name] = t.reshape(info["shape"]).to(torch.float64)
    return out


def load_weights(model_dir):
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        files = sorted(set(json.load(open(index))["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    weights = {}
    for f in files:
        weights.update(read_safetensors(os.path.join(model_dir, f)))
    return weights


def inv_freq(cfg):
    dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    base = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    rs = cfg.get("rope_scaling")
    if rs:
        factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wl, high_wl = old / low, old / high
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > low_wl, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wavelen >= high_wl) & (wavelen <= low_wl)
        inv = torch.where(medium, smoothed, scaled)
    return inv


class Llama:
    def __init__(self, cfg, weights, dtype):
        self.cfg = cfg
        self.w = {k: v.to(dtype) for k, v in weights.items()}
        if cfg.get("tie_word_embeddings", False) or "lm_head.weight" not in self.w:
            self.w["lm_head.weight"] = self.w["model.embed_tokens.weight"]
        self.dtype = dtype
        self.nh = cfg["num_attention_heads"]
        self.kv = cfg.get("num_key_value_heads", self.nh)
        self.hd = cfg.get("head_dim") or cfg["hidden_size"] // self.nh
        self.eps = cfg["rms_norm_eps"]
        self.inv = inv_freq(cfg)
        self.lora = {}  # (layer, module) -> (A, B)
        self.scaling = 1.0
        self.dropout = 0.0
        if cfg.get("model_type") == "qwen2":
            for l in range(cfg["num_hidden_layers"]):
                for m in ("q_proj", "k_proj", "v_proj"):
                    name = f"model.layers.{l}.self_attn.{m}.bias"
                    if name not in self.w:
                        sys.exit(f"a qwen2 checkpoint needs {name}")

    def rms(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def proj(self, layer, module, block, x, train):
        y = x @ self.w[f"model.layers.{layer}.{block}.{module}.weight"].t()
        bias = self.w.get(f"model.layers.{layer}.{block}.{module}.bias")
        if bias is not None:
            y = y + bias
        ab = self.lora.get((layer, module))
        if ab is not None:
            xd = torch.nn.functional.dropout(x, self.dropout, training=train) if self.dropout > 0 else x
            y = y + self.scaling * ((xd @ ab[0].t()) @ ab[1].t())
        return y

    def rope(self, x, cos, sin):  # x [heads, T, D]
        half = x.shape[-1] // 2
        rot = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
        return x * cos + rot * sin

    def forward(self, ids, train=False):
        T = ids.shape[0]
        x = self.w["model.embed_tokens.weight"][ids]
        freqs = torch.outer(torch.arange(T, dtype=torch.float64), self.inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(self.dtype), emb.sin().to(self.dtype)
        mask = torch.full((T, T), float("-inf"), dtype=self.dtype).triu(1)
        for l in range(self.cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            h = self.rms(x, self.w[p + "input_layernorm.weight"])
            q = self.proj(l, "q_proj", "self_attn", h, train).view(T, self.nh, self.hd).transpose(0, 1)
            k = self.proj(l, "k_proj", "self_attn", h, train).view(T, self.kv, self.hd).transpose(0, 1)
            v = self.proj(l, "v_proj", "self_attn", h, train).view(T, self.kv, self.hd).transpose(0, 1)
            q, k = self.rope(q, cos, sin), self.rope(k, cos, sin)
            rep = self.nh // self.kv
            k, v = k.repeat_interleave(rep, dim=0), v.repeat_interleave(rep, dim=0)
            att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(self.hd) + mask, dim=-1) @ v
            x = x + self.proj(l, "o_proj", "self_attn", att.transpose(0, 1).reshape(T, self.nh * self.hd), train)
            h = self.rms(x, self.w[p + "post_attention_layernorm.weight"])
            g = self.proj(l, "gate_proj", "mlp", h, train)
            u = self.proj(l, "up_proj", "mlp", h, train)
            x = x + self.proj(l, "down_proj", "mlp", torch.nn.functional.silu(g) * u, train)
        return self.rms(x, self.w["model.norm.weight"]) @ self.w["lm_head.weight"].t()


def example_loss(model, seq, train=False):
    ids = torch.tensor(seq["ids"], dtype=torch.long)
    labels = torch.tensor(seq["labels"], dtype=torch.long)
    logits = model.forward(ids, train)
    return torch.nn.functional.cross_entropy(logits, labels, ignore_index=-100)


def attach_adapter(model, adapter_dir):
    cfg = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    tensors = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    model.scaling = cfg["lora_alpha"] / cfg["r"]
    for name, t in tensors.items():
        parts = name.split(".")  # base_model.model.model.layers.{i}.{block}.{module}.lora_{A|B}.weight
        layer, module, which = int(parts[4]), parts[6], parts[7]
        a, b = model.lora.get((layer, module), (None, None))
        t = t.to(model.dtype)
        model.lora[(layer, module)] = (t, b) if which == "lora_A" else (a, t)


def linear_warmup_decay(warmup, total):
    """transformers' get_linear_schedule_with_warmup as a LambdaLR factor of the 0-based step."""
    def factor(step):
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))
    return factor


def train(cfg, weights, req):
    recipe = req["recipe"]
    lc, oc = recipe["lora"], recipe["optimizer"]
    if lc.get("dropout", 0) != 0:
        sys.exit(f"train: LoRA dropout {lc['dropout']} is not supported (masks are the engine's own); use 0")
    adapter_cfg = json.load(open(os.path.join(req["adapter"], "adapter_config.json")))
    if (adapter_cfg["r"], adapter_cfg["lora_alpha"]) != (lc["rank"], lc["alpha"]):
        sys.exit(f"train: the adapter has r={adapter_cfg['r']} alpha={adapter_cfg['lora_alpha']}, the recipe rank={lc['rank']} alpha={lc['alpha']}")
    if adapter_cfg.get("lora_dropout", 0) != 0:
        sys.exit("train: the adapter's lora_dropout must be 0")

    model = Llama(cfg, weights, torch.float64)
    model.scaling = lc["alpha"] / lc["rank"]
    # trainable leaves, one per saved tensor, keyed by the tensor's name in the file
    tensors = read_safetensors(os.path.join(req["adapter"], "adapter_model.safetensors"))
    params = {name: t.clone().requires_grad_(True) for name, t in sorted(tensors.items())}
    found = set()
    for name, p in params.items():
        parts = name.split(".")  # base_model.model.model.layers.{i}.{block}.{module}.lora_{A|B}.weight
        layer, module, which = int(parts[4]), parts[6], parts[7]
        found.add(module)
        a, b = model.lora.get((layer, module), (None, None))
        model.lora[(layer, module)] = (p, b) if which == "lora_A" else (a, p)
    if found != set(lc["targets"]):
        sys.exit(f"train: the adapter targets {sorted(found)}, the recipe {sorted(lc['targets'])}")
    if any(a is None or b is None for a, b in model.lora.values()):
        sys.exit("train: the adapter has an A without its B or a B without its A")
    plist = list(params.values())

    seqs = req["sequences"]
    n = len(seqs)
    order = req["order"]
    epochs = recipe["epochs"]
    if len(order) != epochs or any(sorted(o) != list(range(n)) for o in order):
        sys.exit(f"train: order must hold {epochs} permutations of range({n})")
    bs, acc = recipe["batchSize"], recipe["gradientAccumulation"]
    per_step = bs * acc
    total = epochs * math.ceil(n / per_step)
    if "warmupRatio" in recipe and "warmupSteps" in recipe:
        sys.exit("train: give warmupSteps or warmupRatio, not both")
    warmup = math.ceil(recipe["warmupRatio"] * total) if "warmupRatio" in recipe else recipe["warmupSteps"]

    opt = torch.optim.AdamW(plist, lr=oc["lr"], betas=(oc["beta1"], oc["beta2"]), eps=oc["eps"],
                            weight_decay=oc["weightDecay"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_warmup_decay(warmup, total))
    clip = recipe["gradClip"]
    losses, norms, lrs = [], [], []
    for epoch_order in order:
        for start in range(0, n, per_step):
            step_examples = epoch_order[start:start + per_step]
            opt.zero_grad(set_to_none=False)
            objective = 0.0
            for mb in range(0, len(step_examples), bs):
                micro = step_examples[mb:mb + bs]
                # this micro-batch's share of the step objective: its examples' mean losses over
                # the number of examples in the whole step
                loss = torch.stack([example_loss(model, seqs[i], train=True) for i in micro]).sum() / len(step_examples)
                loss.backward()
                objective += loss.item()
            if clip > 0:
                norm = torch.nn.utils.clip_grad_norm_(plist, clip).item()
            else:
                norm = torch.norm(torch.stack([p.grad.norm() for p in plist])).item()
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
            losses.append(objective)
            norms.append(norm)

    with torch.no_grad():
        evals = [example_loss(model, s).item() for s in req.get("evalSequences", [])]
    return {"losses": losses, "gradNorms": norms, "lrs": lrs, "totalSteps": total, "warmupSteps": warmup,
            "adapter": {name: p.detach().reshape(-1).tolist() for name, p in params.items()},
            "evalPerExample": evals}


def main():
    mode, model_dir, request_path = sys.argv[1:4]
    req = json.load(open(request_path))
    torch.set_num_threads(int(req.get("threads", 2)))
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    weights = load_weights(model_dir)
    if mode == "train":
        print(json.dumps(train(cfg, weights, req)))
        return
    if mode == "eval":
        model = Llama(cfg, weights, torch.float64)
        if req.get("adapter"):
            attach_adapter(model, req["adapter"])
        with torch.no_grad():
            per = [example_loss(model, s).item() for s in req["sequences"]]
        print(json.dumps({"perExample": per}))
        return
    # bench: recipe-v1-style LoRA training in float32, then evaluation
    model = Llama(cfg, weights, torch.float32)
    lc = req["lora"]
    model.scaling, model.dropout = lc["alpha"] / lc["rank"], lc["dropout"]
    torch.manual_seed(0)
    params = []
    H, kvd = cfg["hidden_size"], model.kv * model.hd
    dims = {"q_proj": (H, model.nh * model.hd), "k_proj": (H, kvd), "v_proj": (H, kvd)}
    for l in range(cfg["num_hidden_layers"]):
        for m in lc["targets"]:
            fan_in, out = dims[m]
            a = torch.empty(lc["rank"], fan_in).uniform_(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in)).requires_grad_()
            b = torch.zeros(out, lc["rank"]).requires_grad_()
            model.lora[(l, m)] = (a, b)
            params += [a, b]
    opt = torch.optim.AdamW(params, lr=2e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    seqs, acc = req["sequences"], req["accumulation"]
    t0 = time.perf_counter()
    tokens = 0
    for start in range(0, len(seqs), acc):
        group = seqs[start:start + acc]
        opt.zero_grad()
        for s in group:
            (example_loss(model, s, train=True) / len(group)).backward()
            tokens += len(s["ids"])
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    etokens = 0
    with torch.no_grad():
        for s in req.get("evalSequences", seqs[:8]):
            example_loss(model, s)
            etokens += len(s["ids"])
    eval_s = time.perf_counter() - t0
    print(json.dumps({"trainTokensPerSecond": tokens / train_s, "evalTokensPerSecond": etokens / eval_s,
                      "trainTokens": tokens, "evalTokens": etokens, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
