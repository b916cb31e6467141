#!/usr/bin/python3
"""The cnn and rnn backbones against PyTorch's own modules (Debian's python3-torch).

usage: /usr/bin/python3 torch_oracle.py PATH/TO/seq_dump

For each configuration, seq_dump builds emolab's backbone with a random table, runs one padded
batch of 8 texts (one empty, one truncated to max_len) and backpropagates sum(out * R). Here
the same weights go into torch.nn.functional.embedding_bag + conv1d, or nn.GRU / nn.LSTM, and
every text runs ALONE, unpadded (the CNN pads only a text shorter than its widest kernel, as
emolab defines it), so neither masking nor batching is shared with the code under test:
  - outputs: max, mean, max+mean over time, and last = the final states h_n of the packed-free
    per-text run (forward and backward direction), to 2e-5;
  - gradients of every conv / recurrent weight and bias, to 1e-4 relative;
  - an empty text gives zeros (rnn) / relu(bias) windows (cnn), as emolab defines.
"""
import json
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

from oracle_lib import check, compare_dump, read_safetensors, summary

TOOL = sys.argv[1]


def token_vectors(d, i, emb):
    """[L, dim]: each token of text i as the mean of its bag's embeddings."""
    tok_off, id_off, ids = d["seq.tok_off"], d["seq.id_off"], d["seq.ids"]
    vecs = []
    for t in range(tok_off[i], tok_off[i + 1]):
        bag = torch.from_numpy(ids[id_off[t]:id_off[t + 1]].copy())
        vecs.append(F.embedding_bag(bag, emb, torch.tensor([0]), mode="mean")[0])
    return torch.stack(vecs) if vecs else torch.zeros(0, emb.shape[1])


def cnn_reference(d, cfg, params):
    emb = params["backbone.emb"]
    kernels, pooling = cfg["kernels"], cfg["pooling"]
    outs = []
    for i in range(len(d["seq.lengths"])):
        x = token_vectors(d, i, emb)
        parts = []
        for k, kw in enumerate(kernels):
            xi = x if x.shape[0] >= kw else torch.cat([x, torch.zeros(kw - x.shape[0], x.shape[1])])
            c = F.relu(F.conv1d(xi.t().unsqueeze(0), params[f"backbone.conv{k}.weight"],
                                params[f"backbone.conv{k}.bias"]))[0]  # [filters, windows]
            if pooling in ("max", "maxmean"):
                parts.append(c.max(dim=1).values)
            if pooling in ("mean", "maxmean"):
                parts.append(c.mean(dim=1))
        outs.append(torch.cat(parts))
    return torch.stack(outs)


def rnn_reference(d, cfg, params):
    emb = params["backbone.emb"]
    cls = torch.nn.LSTM if cfg["cell"] == "lstm" else torch.nn.GRU
    dim, hidden = emb.shape[1], cfg["hidden"]
    bi = cfg.get("bidirectional", True)
    rnn = cls(dim, hidden, num_layers=cfg.get("layers", 1), bidirectional=bi, batch_first=True)
    rnn.eval()
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            p.copy_(params["backbone.rnn." + name])
    for name, p in rnn.named_parameters():  # the oracle's grads are the module's own
        params["backbone.rnn." + name] = p
    dirs = 2 if bi else 1
    outs = []
    for i in range(len(d["seq.lengths"])):
        x = token_vectors(d, i, emb)
        width = hidden * dirs * (2 if cfg["pooling"] == "maxmean" else 1)
        if x.shape[0] == 0:
            outs.append(torch.zeros(width))
            continue
        h, hn = rnn(x.unsqueeze(0))
        if cfg["cell"] == "lstm":
            hn = hn[0]
        h = h[0]
        if cfg["pooling"] == "max":
            outs.append(h.max(dim=0).values)
        elif cfg["pooling"] == "mean":
            outs.append(h.mean(dim=0))
        elif cfg["pooling"] == "maxmean":
            outs.append(torch.cat([h.max(dim=0).values, h.mean(dim=0)]))
        else:  # last: the final state of each direction of the top layer
            outs.append(torch.cat([hn[-2, 0], hn[-1, 0]]) if bi else hn[-1, 0])
    return torch.stack(outs)


def run_case(cfg):
    yaml = "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in cfg.items()) + "}"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dump.safetensors")
        subprocess.run([TOOL, path, yaml], check=True)
        d = read_safetensors(path)
    params = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in d.items()
              if k.startswith("backbone.")}
    ref = cnn_reference(d, cfg, params) if cfg["type"] == "cnn" else rnn_reference(d, cfg, params)
    n_grads = compare_dump(d, ref, params, yaml)
    check(n_grads > 0, f"{yaml}: no gradients dumped")
    lens = d["seq.lengths"]
    check(int(lens[1]) == 0 and int(lens.max()) == cfg["max_len"], f"{yaml}: lengths {lens}")


def main():
    torch.set_num_threads(1)
    base = {"dim": 12, "buckets": 2048, "max_len": 12, "emb_init_std": 0.5, "emb_dropout": 0.3}
    cases = [
        {"type": "cnn", "filters": 5, "kernels": [1, 3, 5], "pooling": "max"},
        {"type": "cnn", "filters": 4, "kernels": [2, 4], "pooling": "mean"},
        {"type": "cnn", "filters": 3, "kernels": [3], "pooling": "maxmean", "tokens": "char",
         "char_ngrams": [2, 3]},
        {"type": "rnn", "cell": "gru", "hidden": 6, "pooling": "max"},
        {"type": "rnn", "cell": "gru", "hidden": 6, "pooling": "last"},
        {"type": "rnn", "cell": "lstm", "hidden": 5, "layers": 2, "pooling": "last"},
        {"type": "rnn", "cell": "lstm", "hidden": 5, "pooling": "maxmean"},
        {"type": "rnn", "cell": "gru", "hidden": 4, "layers": 2, "bidirectional": False,
         "pooling": "last"},
        {"type": "rnn", "cell": "gru", "hidden": 4, "pooling": "mean", "tokens": "char",
         "char_ngrams": [0, 0]},
    ]
    for c in cases:
        run_case(dict(base, **c))
    return summary("torch_oracle")


if __name__ == "__main__":
    sys.exit(main())
