#!/usr/bin/env python3
"""An independent reference of the recipe's chat templates (docs/protocol.md, docs/models.md), for
the engine's tests: plain Python, no tokenizer library, no torch.

  chat_template.py encode MODEL_DIR REQUEST.json  -> {"sequences": [{"ids": [...], "labels": [...]}]}

REQUEST.json: {"rows": [{"system", "conversations"}], "template": "llama3" | "chatml", "maxSeqLen": N}.
Renders each row with the chat template as the recipe defines it, tokenizes it with the model
folder's tokenizer.json — a byte-level one without merges (the presets'), read here with Python's
own byte table and NFC when the tokenizer normalises — and marks the assistant targets; sequences
are cut to maxSeqLen and labels shifted (labels[t] is the target of the logits at t, -100 = none),
as llama_torch.py's eval and train take them.
"""
import json
import os
import sys
import unicodedata

QWEN_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


def byte_table():
    """GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the rest for 256 + n."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + list(range(ord("\xae"), ord("\xff") + 1))
    chars, n = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + n)
            n += 1
    return chars


def encode(model_dir, req):
    tok = json.load(open(os.path.join(model_dir, "tokenizer.json")))
    if tok["model"].get("merges"):
        sys.exit("encode: only byte-level tokenizers without merges are supported")
    vocab = tok["model"]["vocab"]
    chars = byte_table()
    special = {t["content"]: t["id"] for t in tok.get("added_tokens", []) if t.get("special", True)}
    nfc = (tok.get("normalizer") or {}).get("type") == "NFC"

    def text(s):
        if nfc:
            s = unicodedata.normalize("NFC", s)
        return [vocab[chars[b]] for b in s.encode("utf-8")]

    template, max_len = req["template"], req["maxSeqLen"]
    out = []
    for row in req["rows"]:
        parts = []  # (ids, is_target)
        system = (row.get("system") or "").strip()
        if template == "llama3":
            parts.append(([special["<|begin_of_text|>"]], False))

            def block(role, content, target):
                parts.append(([special["<|start_header_id|>"]] + text(role) + [special["<|end_header_id|>"]] + text("\n\n"), False))
                parts.append((text(content) + [special["<|eot_id|>"]], target))
            if system:
                block("system", system, False)
        elif template == "chatml":
            def block(role, content, target):
                parts.append(([special["<|im_start|>"]] + text(role + "\n"), False))
                parts.append((text(content) + [special["<|im_end|>"]], target))
                parts.append((text("\n"), False))
            block("system", system or QWEN_DEFAULT_SYSTEM, False)
        else:
            sys.exit(f"encode: unknown template {template}")
        for turn in row["conversations"]:
            block(turn["role"], turn["content"].strip(), turn["role"] == "assistant")
        ids = [i for p, _ in parts for i in p][:max_len]
        target = [t for p, t in parts for _ in p][:max_len]
        labels = [ids[t + 1] if t + 1 < len(ids) and target[t + 1] else -100 for t in range(len(ids))]
        out.append({"ids": ids, "labels": labels})
    return {"sequences": out}


def main():
    mode, model_dir, request_path = sys.argv[1:4]
    if mode != "encode":
        sys.exit(f"unknown mode {mode}")
    print(json.dumps(encode(model_dir, json.load(open(request_path)))))


if __name__ == "__main__":
    main()
