#!/usr/bin/env python3
"""The hf backbone end to end in eval mode (prepare -> length-sorted chunks -> pooling) against
transformers + torch pooling on 300 val texts plus hard cases, max abs error <= 1e-5:
  cls, masked mean, masked max, cls_concat (last 2 layers), pooler (BertModel's pooler_output),
  attention (its learned query starts at zero: the masked mean), text_prefix "query: ",
  freeze: all (features computed once and cached: a second forward must be identical; hf_dump
  checks that), and RoBERTa/DistilBERT mean pooling.
usage: test_pooling.py HF_DUMP FIXTURES"""
import os, shutil, sys

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

sys.path.insert(0, os.path.dirname(__file__))
import hfm_common as C  # noqa: E402

dump, fix = sys.argv[1], sys.argv[2]
torch.set_num_threads(1)
tmp = C.tmpdir()
texts = C.val_texts(300)
MAXLEN = 48
ok = True


def reference(kind, pooling, prefix="", last_k=2):
    d = os.path.join(fix, kind)
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModel.from_pretrained(d, attn_implementation="eager").eval()
    enc = tok([prefix + t for t in texts], padding=True, truncation=True, max_length=MAXLEN, return_tensors="pt")
    kw = dict(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], output_hidden_states=True)
    with torch.no_grad():
        o = model(**kw)
    h, m = o.last_hidden_state, enc["attention_mask"].bool()
    if pooling == "cls":
        return h[:, 0]
    if pooling in ("mean", "attention"):
        mf = m.unsqueeze(-1).float()
        return (h * mf).sum(1) / mf.sum(1).clamp(min=1)
    if pooling == "max":
        return h.masked_fill(~m.unsqueeze(-1), float("-inf")).max(1).values
    if pooling == "cls_concat":
        return torch.cat([x[:, 0] for x in o.hidden_states[-last_k:]], dim=1)
    if pooling == "pooler":
        return o.pooler_output
    raise ValueError(pooling)


def check(kind, pooling, prefix="", freeze="none", extra=()):
    global ok
    tp = os.path.join(tmp, "texts.hex")
    C.write_texts(texts, tp)
    outp = os.path.join(tmp, "pool.bin")
    cmd = [dump, "pool", os.path.join(fix, kind), tp, outp, pooling, "--max-len", str(MAXLEN), "--freeze", freeze]
    if prefix:
        cmd += ["--prefix", prefix]
    C.run(cmd + list(extra))
    (got,) = C.read_arrays(outp)
    ref = reference(kind, pooling, prefix).numpy()
    err = float(np.abs(got - ref).max()) if got.shape == ref.shape else float("inf")
    good = err <= 1e-5
    ok &= good
    print("%-10s %-10s prefix=%-9r freeze=%-4s shape %s: max abs err %.3g %s"
          % (kind, pooling, prefix, freeze, got.shape, err, "" if good else "FAIL"))


for p in ["cls", "mean", "max", "pooler", "attention"]:
    check("bert", p)
check("bert", "cls_concat", extra=["--last-k", "2"])
check("bert", "mean", prefix="query: ")
check("bert", "mean", freeze="all")
check("bert", "cls_concat", freeze="all", extra=["--last-k", "2"])
check("roberta", "mean")
check("xlmr", "cls", prefix="query: ")
check("distilbert", "max")
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(0 if ok else 1)
