#!/usr/bin/env python3
"""`emolab run` + `emolab export` for each way a head maps onto transformers' classes.

Each case trains a short run of configs/hf-tiny.yaml (a few hundred rows, one epoch) on one of
the tiny fixture models with some overrides, exports it by run id, and checks the directory:
  - config.json: architectures, problem_type multi_label_classification, id2label/label2id in
    the run's label order, the emolab section (thresholds, pooling, max_len, text_prefix),
  - tokenizer_config.json model_max_length = max_len; AutoTokenizer loads the directory,
  - when the head maps onto *ForSequenceClassification: AutoModelForSequenceClassification's
    sigmoid(logits) on 200 val texts (+ text_prefix) equals emolab's probabilities for the run
    (hf_dump predict) within 1e-5,
  - otherwise: architectures is the base model, AutoModel loads model.safetensors without
    missing weights, emolab_head.safetensors holds the head.
Also: exporting into a non-empty directory is refused without --force, a bow run is refused,
an unknown run id is reported.
usage: test_export.py EMOLAB HF_DUMP FIXTURES"""
import json, os, shutil, sqlite3, subprocess, sys

import numpy as np
import torch
from safetensors import safe_open
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

sys.path.insert(0, os.path.dirname(__file__))
import hfm_common as C  # noqa: E402

emolab, dump, fix = sys.argv[1], sys.argv[2], sys.argv[3]
src = os.environ.get("EMOLAB_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
data = os.environ.get("EMOLAB_DATA", os.path.join(src, "..", "shared", "data"))
torch.set_num_threads(1)
tmp = C.tmpdir()
reg = os.path.join(tmp, "reg.db")
texts = C.val_texts(200)
tp = os.path.join(tmp, "texts.hex")
C.write_texts(texts, tp)
ok = True
SMALL = ["--set", "data.train=[{path: ru_go_emotions_djacon/derived/train_aligned_to_goemotions.csv, "
         "format: goemotions, text: ru_text, limit: 400}]",
         "--set", "data.val.limit=200", "--set", "data.test.limit=200", "--set", "train.epochs=1"]


def run(model, name, sets):
    cmd = [emolab, "run", os.path.join(src, "configs", "hf-tiny.yaml"), "--data-root", data, "--registry", reg,
           "--experiments", os.path.join(tmp, "exp"), "--set", "name=" + name,
           "--set", "backbone.path=" + os.path.join(fix, model)] + SMALL
    for s in sets:
        cmd += ["--set", s]
    r = C.run(cmd)
    con = sqlite3.connect(reg)
    uuid, status = con.execute("SELECT uuid, status FROM runs WHERE name = ? ORDER BY created DESC LIMIT 1",
                               (name,)).fetchone()
    con.close()
    assert status == "finished", (name, status, r.stderr[-2000:])
    return uuid


def check(model, name, sets, expect_arch, prefix=""):
    global ok
    uuid = run(model, name, sets)
    out = os.path.join(tmp, "export_" + name)
    C.run([emolab, "export", uuid[:8], out, "--registry", reg])
    cfg = json.load(open(os.path.join(out, "config.json")))
    em = cfg["emolab"]
    labels = ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
    good = (cfg["architectures"] == [expect_arch] and cfg["problem_type"] == "multi_label_classification"
            and [cfg["id2label"][str(i)] for i in range(7)] == labels
            and all(cfg["label2id"][l] == i for i, l in enumerate(labels))
            and sorted(em["thresholds"]) == sorted(labels) and em["max_len"] == 64
            and em["text_prefix"] == prefix)
    tcfg = json.load(open(os.path.join(out, "tokenizer_config.json")))
    good &= tcfg["model_max_length"] == 64
    tok = AutoTokenizer.from_pretrained(out)
    enc = tok([prefix + t for t in texts], padding=True, truncation=True, return_tensors="pt")
    detail = ""
    if expect_arch.endswith("ForSequenceClassification"):
        m, info = AutoModelForSequenceClassification.from_pretrained(out, output_loading_info=True)
        m.eval()
        good &= not info["missing_keys"] and not info["unexpected_keys"]
        with torch.no_grad():
            hf = torch.sigmoid(m(**enc).logits).numpy()
        pp = os.path.join(tmp, "probs.bin")
        C.run([dump, "predict", uuid, tp, pp, "--registry", reg])
        (ours,) = C.read_arrays(pp)
        err = float(np.abs(hf - ours).max())
        good &= err <= 1e-5
        detail = "probabilities max abs err %.3g" % err
    else:
        m, info = AutoModel.from_pretrained(out, output_loading_info=True)
        good &= not info["missing_keys"]
        with safe_open(os.path.join(out, "emolab_head.safetensors"), "pt") as f:
            keys = sorted(f.keys())
        good &= bool(keys) and all(k.startswith("head.") or k.startswith("backbone.pool") for k in keys)
        detail = "base model + emolab_head.safetensors (%s)" % ", ".join(keys)
    print("%-22s %-36s %s %s" % (name, expect_arch, detail, "" if good else "FAIL"))
    print("%22s %s" % ("", em["head_mapping"]))
    ok &= good
    return uuid


first = check("bert", "bert_cls_linear", [], "BertForSequenceClassification")
check("bert", "bert_pooler_linear", ["backbone.pooling=pooler"], "BertForSequenceClassification")
check("bert", "bert_cls_tanh", ["head.layers=[48]", "head.activation=tanh"], "BertForSequenceClassification")
check("roberta", "roberta_cls_linear", [], "RobertaForSequenceClassification")
check("roberta", "roberta_cls_tanh", ["head.layers=[48]", "head.activation=tanh"], "RobertaForSequenceClassification")
check("xlmr", "xlmr_prefix", ["backbone.text_prefix='query: '"], "XLMRobertaForSequenceClassification",
      prefix="query: ")
check("distilbert", "distil_cls_linear", [], "DistilBertForSequenceClassification")
check("distilbert", "distil_cls_relu", ["head.layers=[48]", "head.activation=relu"], "DistilBertForSequenceClassification")
check("bert", "bert_mean_deep", ["backbone.pooling=mean", "head.layers=[16]", "head.activation=gelu"], "BertModel")
check("bert", "bert_attention", ["backbone.pooling=attention"], "BertModel")

# refusals
out = os.path.join(tmp, "export_bert_cls_linear")
r = C.run([emolab, "export", first, out, "--registry", reg], check=False)
good = r.returncode == 1 and "not empty" in r.stderr and "--force" in r.stderr
r = C.run([emolab, "export", first, out, "--registry", reg, "--force"], check=False)
good &= r.returncode == 0
r = C.run([emolab, "export", "deadbeef", os.path.join(tmp, "x"), "--registry", reg], check=False)
good &= r.returncode == 1 and "no run matches" in r.stderr
bow = [emolab, "run", os.path.join(src, "configs", "bow.yaml"), "--data-root", data, "--registry", reg,
       "--experiments", os.path.join(tmp, "exp"), "--set", "name=bow_small", "--set", "backbone.buckets=4096",
       "--set", "head.layers=[]"] + SMALL
C.run(bow)
con = sqlite3.connect(reg)
bow_uuid = con.execute("SELECT uuid FROM runs WHERE name = 'bow_small'").fetchone()[0]
con.close()
r = C.run([emolab, "export", bow_uuid, os.path.join(tmp, "bow_out"), "--registry", reg], check=False)
good &= r.returncode == 1 and "backbone type bow" in r.stderr
print("refusals (non-empty dir, --force, unknown run, bow run):", "ok" if good else "FAIL\n" + r.stderr)
ok &= good
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(0 if ok else 1)
