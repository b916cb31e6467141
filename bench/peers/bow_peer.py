"""fastText-style bow model in PyTorch eager (Debian python3-torch): the same model as emolab's
`bow` backbone with its head (hashed word 1-2 grams + char 3-5 grams of "<word>", mean
EmbeddingBag with sparse gradients, dropout -> Linear -> GELU -> dropout -> Linear), trained
with SparseAdam on the table and AdamW on the head, cosine schedule with warmup, BCE loss.

Prints one JSON line with val/test weighted F1 (per-class thresholds tuned on val), the
training throughput in samples/s (training steps only) and the wall time.
"""
import argparse
import json
import math
import re
import time
import zlib

import numpy as np
import torch
import torch.nn as nn

import common

TOKEN = re.compile(r"[\w]+|[^\w\s]", re.UNICODE)


def featurize(text, buckets, word_ngrams=2, cmin=3, cmax=5):
    toks = [t for t in TOKEN.findall(text.lower()) if t != "_"]
    ids = []
    hs = [zlib.crc32(t.encode()) for t in toks]
    ids.extend(h % buckets for h in hs)
    for n in range(2, word_ngrams + 1):
        for i in range(len(hs) - n + 1):
            ids.append(zlib.crc32(repr(hs[i:i + n]).encode(), 7) % buckets)
    for t in toks:
        if not t[0].isalnum():
            continue
        w = "<" + t + ">"
        for n in range(cmin, cmax + 1):
            for i in range(len(w) - n + 1):
                ids.append(zlib.crc32(w[i:i + n].encode(), 13) % buckets)
    return ids


class Bow(nn.Module):
    def __init__(self, buckets, dim, hidden, dropout, k, zero_init):
        super().__init__()
        self.emb = nn.EmbeddingBag(buckets, dim, mode="mean", sparse=True)
        if zero_init:
            nn.init.zeros_(self.emb.weight)
        self.drop = nn.Dropout(dropout)
        self.fc0 = nn.Linear(dim, hidden)
        self.fc1 = nn.Linear(hidden, k)

    def forward(self, ids, offsets):
        x = self.emb(ids, offsets)
        x = torch.nn.functional.gelu(self.fc0(self.drop(x)))
        return self.fc1(self.drop(x))


def batches(feats, rows):
    ids, offs, at = [], [], 0
    for r in rows:
        offs.append(at)
        ids.extend(feats[r])
        at += len(feats[r])
    return torch.tensor(ids, dtype=torch.long), torch.tensor(offs, dtype=torch.long)


def predict(model, feats):
    model.eval()
    out = []
    with torch.no_grad():
        for b in range(0, len(feats), 512):
            ids, offs = batches(feats, range(b, min(b + 512, len(feats))))
            out.append(torch.sigmoid(model(ids, offs)).numpy())
    return np.concatenate(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--dropout", type=float, default=0.85)
    ap.add_argument("--buckets", type=int, default=1 << 20)
    ap.add_argument("--warmup", type=float, default=0.06)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--random-init", action="store_true", help="N(0,1) table instead of zeros")
    ap.add_argument("--data", default="orig")
    ap.add_argument("--emb-lr-scale", type=float, default=1.0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t0 = time.time()
    (tr, ytr), (va, yva), (te, yte) = common.load(a.data)
    ftr = [featurize(t, a.buckets) for t in tr]
    fva = [featurize(t, a.buckets) for t in va]
    fte = [featurize(t, a.buckets) for t in te]
    t_feat = time.time() - t0
    model = Bow(a.buckets, a.dim, a.hidden, a.dropout, ytr.shape[1], not a.random_init)
    sparse = torch.optim.SparseAdam([model.emb.weight], lr=a.lr)
    dense = torch.optim.AdamW([p for n, p in model.named_parameters() if not n.startswith("emb")],
                              lr=a.lr, weight_decay=1e-4)
    steps = math.ceil(len(tr) / a.batch) * a.epochs
    warm = int(a.warmup * steps)

    def factor(s):
        if s < warm:
            return (s + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, steps - warm)))

    lossf = nn.BCEWithLogitsLoss()
    rng = np.random.default_rng(a.seed)
    ytr_t = torch.tensor(ytr)
    best, best_state, step, train_time, samples = -1, None, 0, 0.0, 0
    for ep in range(a.epochs):
        model.train()
        perm = rng.permutation(len(tr))
        te0 = time.time()
        for b in range(0, len(perm), a.batch):
            rows = perm[b:b + a.batch]
            ids, offs = batches(ftr, rows)
            f = factor(step)
            for opt in (sparse, dense):
                for g in opt.param_groups:
                    g["lr"] = a.lr * f * (a.emb_lr_scale if opt is sparse else 1.0)
            loss = lossf(model(ids, offs), ytr_t[rows])
            sparse.zero_grad()
            dense.zero_grad()
            loss.backward()
            sparse.step()
            dense.step()
            step += 1
            samples += len(rows)
        train_time += time.time() - te0
        pva = predict(model, fva)
        fv, _, _ = common.tune_and_score(pva, yva, pva, yva)
        common.log(f"epoch {ep + 1}: val weighted F1 {fv:.4f}, {samples / train_time:.0f} samples/s")
        if fv > best:
            best = fv
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    fv, ft, _ = common.tune_and_score(predict(model, fva), yva, predict(model, fte), yte)
    print(json.dumps({"peer": "torch-bow", "data": a.data, "val_weighted_f1": round(fv, 4),
                      "test_weighted_f1": round(ft, 4),
                      "samples_per_s": round(samples / train_time),
                      "featurize_seconds": round(t_feat, 1),
                      "seconds": round(time.time() - t0, 1)}))


if __name__ == "__main__":
    main()
