#!/usr/bin/python3
"""The transformer backbone against a BERT encoder written here in plain PyTorch (Debian's
python3-torch; no transformers, no code shared with emolab).

usage: /usr/bin/python3 transformer_oracle.py PATH/TO/seq_dump

For each configuration, seq_dump builds emolab's transformer backbone (seeded N(0, init_std)
init), runs ONE padded eval-mode batch of 8 texts (one empty, one truncated to max_len) and
backpropagates sum(out * R). Here the dumped weights and token ids go through a post-LN BERT
encoder (embeddings + positions 0..T-1 -> LayerNorm; per layer softmax(q k^T / sqrt(d)) v,
output projection, residual, LayerNorm, exact-GELU FFN, residual, LayerNorm) with every text
run ALONE, unpadded ([CLS] = id 1, token ids = 2 + bucket), so masking and batching are not
shared with the code under test:
  - pooled outputs (cls, mean, max over [CLS] and the tokens), to 2e-5: padding does not leak
    into any text's output;
  - gradients of every weight (embedding tables, q/k/v/o, FFN, LayerNorms), to 1e-4 relative;
    the [PAD] row's gradient is zero;
  - a perturbed weight changes the reference (the comparison is not vacuous).
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

from oracle_lib import check, compare_dump, read_safetensors, summary

TOOL = sys.argv[1]


def encoder(ids, P, cfg):
    """[T] ids -> [T, H] last hidden state."""
    H, NH, L = cfg["hidden"], cfg["heads"], cfg["layers"]
    D = H // NH
    T = ids.shape[0]
    pre = "backbone."
    x = P[pre + "embeddings.word_embeddings.weight"][ids] + P[pre + "embeddings.position_embeddings.weight"][:T]
    x = F.layer_norm(x, (H,), P[pre + "embeddings.LayerNorm.weight"], P[pre + "embeddings.LayerNorm.bias"], 1e-12)
    for l in range(L):
        def lin(name, v):
            return F.linear(v, P[f"{pre}encoder.layer.{l}.{name}.weight"], P[f"{pre}encoder.layer.{l}.{name}.bias"])

        def ln(name, v):
            return F.layer_norm(v, (H,), P[f"{pre}encoder.layer.{l}.{name}.weight"],
                                P[f"{pre}encoder.layer.{l}.{name}.bias"], 1e-12)
        q = lin("attention.self.query", x).view(T, NH, D).transpose(0, 1)
        k = lin("attention.self.key", x).view(T, NH, D).transpose(0, 1)
        v = lin("attention.self.value", x).view(T, NH, D).transpose(0, 1)
        p = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(D), dim=-1)
        ctx = (p @ v).transpose(0, 1).reshape(T, H)
        x = ln("attention.output.LayerNorm", lin("attention.output.dense", ctx) + x)
        f = lin("output.dense", F.gelu(lin("intermediate.dense", x)))
        x = ln("output.LayerNorm", f + x)
    return x


def reference(d, cfg, P):
    tok_off, id_off, ids = d["seq.tok_off"], d["seq.id_off"], d["seq.ids"]
    outs = []
    for i in range(len(d["seq.lengths"])):
        toks = [1] + [2 + int(ids[id_off[t]]) for t in range(tok_off[i], tok_off[i + 1])]
        for t in range(tok_off[i], tok_off[i + 1]):
            check(id_off[t + 1] - id_off[t] == 1, f"token {t} has a bag of {id_off[t + 1] - id_off[t]} ids")
        h = encoder(torch.tensor(toks), P, cfg)
        pool = cfg.get("pooling", "cls")
        outs.append(h[0] if pool == "cls" else h.mean(0) if pool == "mean" else h.max(0).values)
    return torch.stack(outs)


def run_case(cfg):
    yaml = "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in cfg.items()) + "}"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dump.safetensors")
        subprocess.run([TOOL, path, yaml], check=True)
        d = read_safetensors(path)
    P = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in d.items() if k.startswith("backbone.")}
    wname = "backbone.embeddings.word_embeddings.weight"
    check(P[wname].shape[0] == cfg["buckets"] + 2, f"{yaml}: vocabulary {P[wname].shape[0]} rows")
    check(float(P[wname][0].abs().max()) == 0.0, f"{yaml}: [PAD] row is not zero")
    ref = reference(d, cfg, P)
    n_grads = compare_dump(d, ref, P, yaml)
    n_weights = sum(1 for k in P)
    check(n_grads == n_weights, f"{yaml}: {n_grads} gradients dumped for {n_weights} weights")
    if "grad." + wname in d:
        check(float(abs(d["grad." + wname][0]).max()) == 0.0, f"{yaml}: the [PAD] row got a gradient")
    # not vacuous: another weight gives another output
    with torch.no_grad():
        P2 = {k: v.detach().clone() for k, v in P.items()}
        P2["backbone.embeddings.LayerNorm.weight"] += 0.5
        moved = float((reference(d, cfg, P2) - torch.from_numpy(d["out"].copy())).abs().max())
    check(moved > 1e-3, f"{yaml}: a perturbed weight leaves the output unchanged ({moved:.3g})")
    lens = d["seq.lengths"]
    check(int(lens[1]) == 0 and int(lens.max()) == cfg["max_len"], f"{yaml}: lengths {lens}")


def main():
    torch.set_num_threads(1)
    base = {"type": "transformer", "hidden": 16, "heads": 4, "intermediate": 24, "buckets": 97,
            "max_len": 12, "init_std": 0.3}
    cases = [
        {"layers": 2, "pooling": "cls"},
        {"layers": 1, "pooling": "mean", "heads": 2},
        {"layers": 3, "pooling": "max", "tokens": "char", "max_len": 9},
        {"layers": 0, "pooling": "mean", "buckets": 5},
    ]
    for c in cases:
        run_case(dict(base, **c))
    return summary("transformer_oracle")


if __name__ == "__main__":
    sys.exit(main())
