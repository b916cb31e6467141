#!/usr/bin/env python3
"""Model parity with transformers (float32) for one tiny fixture model:
  - token ids: emolab's C tokenizer (through hf_dump) equals the HF tokenizer (padding=True),
  - last hidden state on ~200 val texts plus hard cases, padded batch: max abs error <= 1e-5,
  - gradient of loss = sum(hidden * R) w.r.t. the word embeddings (R seeded random over every
    position): max abs error <= 1e-5 * max(1, max |grad|),
  - the same in training mode is not compared (dropout draws differ by design).
usage: test_model_parity.py HF_DUMP FIXTURES KIND"""
import os, shutil, sys

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

sys.path.insert(0, os.path.dirname(__file__))
import hfm_common as C  # noqa: E402

dump, fix, kind = sys.argv[1], sys.argv[2], sys.argv[3]
d = os.path.join(fix, kind)
torch.set_num_threads(1)
tmp = C.tmpdir()
texts = C.val_texts(200)
max_len = 64
tp = os.path.join(tmp, "texts.hex")
C.write_texts(texts, tp)

tok = AutoTokenizer.from_pretrained(d)
enc = tok(texts, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
B, T = enc["input_ids"].shape
model = AutoModel.from_pretrained(d, torch_dtype=torch.float32, attn_implementation="eager")
if kind == "bert_task":  # a task checkpoint: the encoder lives under .bert
    pass
model.eval()
H = model.config.hidden_size if hasattr(model.config, "hidden_size") else model.config.dim
g = torch.Generator().manual_seed(7)
R = torch.randn(B, T, H, generator=g)
rp = os.path.join(tmp, "R.f32")
R.numpy().astype(np.float32).tofile(rp)
outp = os.path.join(tmp, "out.bin")
C.run([dump, "hidden", d, tp, outp, "--max-len", str(max_len), "--grad", rp])
ids, mask, hidden, grad = C.read_arrays(outp)

ok = True
if ids.shape != tuple(enc["input_ids"].shape) or not np.array_equal(ids, enc["input_ids"].numpy()):
    bad = [i for i in range(min(len(ids), B)) if not np.array_equal(ids[i], enc["input_ids"][i].numpy())]
    print("%s: token ids differ from the HF tokenizer in rows %s" % (kind, bad[:10]))
    ok = False
if not np.array_equal(mask, enc["attention_mask"].numpy()):
    print("%s: attention masks differ" % kind)
    ok = False

kw = dict(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
if "token_type_ids" in enc and kind != "distilbert":
    kw["token_type_ids"] = enc["token_type_ids"]
emb = model.get_input_embeddings().weight
emb.grad = None
ref = model(**kw).last_hidden_state
(ref * R).sum().backward()
ref_h = ref.detach().numpy()
ref_g = emb.grad.numpy()

m = mask.astype(bool)
err_all = float(np.abs(hidden - ref_h).max())
err_tok = float(np.abs(hidden - ref_h)[m].max())
gmax = float(np.abs(ref_g).max())
gerr = float(np.abs(grad - ref_g).max())
print("%-13s batch %dx%d hidden %d: last hidden max abs err %.3g (tokens) %.3g (incl. padding); "
      "word-embedding grad max abs err %.3g (max |grad| %.3g)" % (kind, B, T, H, err_tok, err_all, gerr, gmax))
if err_all > 1e-5:
    print("FAIL: last hidden state differs by more than 1e-5")
    ok = False
if gerr > 1e-5 * max(1.0, gmax):
    print("FAIL: gradient differs by more than 1e-5 (relative to max |grad| when above 1)")
    ok = False
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(0 if ok else 1)
