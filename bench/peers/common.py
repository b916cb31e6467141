"""Shared data loading for the Python peers (benchmarks only, never used by emolab).

Reads the ru-go-ekman benchmark split from ../shared/data (or $EMOLAB_DATA) independently of
emolab's C loader: columns by name, GoEmotions ids -> the 7 Ekman+neutral labels.
"""
import csv
import os
import re
import sys

import numpy as np

LABELS = ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
EKMAN = {
    "anger": [2, 3, 10], "disgust": [11], "fear": [14, 19],
    "joy": [17, 1, 4, 13, 15, 18, 20, 23, 21, 0, 8, 5],
    "sadness": [25, 9, 12, 16, 24], "surprise": [26, 22, 6, 7], "neutral": [27],
}
ID2LABEL = {i: LABELS.index(lab) for lab, ids in EKMAN.items() for i in ids}
IZARD = {"neutral": "neutral", "joy": "joy", "sadness": "sadness", "anger": "anger",
         "surprise": "surprise", "disgust": "disgust", "fear": "fear", "guilt": "sadness",
         "shame": "sadness"}

TRAIN = "ru_go_emotions_djacon/derived/train_aligned_to_goemotions.csv"
VAL = "ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-validation.csv"
TEST = "ru_go_emotions/older_version_c0703d7/ru-go-emotions-simplified-test.csv"
IZARD_TRAIN = "ru_izard_emotions/train.csv"


def data_root():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("EMOLAB_DATA") or os.path.join(here, "..", "..", "..", "shared", "data")


def read_goemotions(rel):
    texts, ys = [], []
    with open(os.path.join(data_root(), rel), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            y = np.zeros(len(LABELS), dtype=np.float32)
            for tok in row["labels"].strip("[]").replace(",", " ").split():
                y[ID2LABEL[int(tok)]] = 1
            texts.append(row["ru_text"])
            ys.append(y)
    return texts, np.stack(ys)


def norm(t):
    return " ".join(re.sub(r"[\W_]+", " ", t.lower()).split())


def read_izard(rel, drop_texts):
    texts, ys = [], []
    with open(os.path.join(data_root(), rel), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            y = np.zeros(len(LABELS), dtype=np.float32)
            for col, lab in IZARD.items():
                if row[col] == "1":
                    y[LABELS.index(lab)] = 1
            if y[:6].any():
                y[6] = 0  # neutral cleared where an emotion is present
            if not y.any() or norm(row["text"]) in drop_texts:
                continue  # enthusiasm-only rows, rows overlapping val/test
            texts.append(row["text"])
            ys.append(y)
    return texts, np.stack(ys)


def load(variant="orig"):
    tr, ytr = read_goemotions(TRAIN)
    va, yva = read_goemotions(VAL)
    te, yte = read_goemotions(TEST)
    if variant == "ext":
        drop = {norm(t) for t in va + te}
        iz, yiz = read_izard(IZARD_TRAIN, drop)
        tr, ytr = tr + iz, np.concatenate([ytr, yiz])
    return (tr, ytr), (va, yva), (te, yte)


def tune_and_score(pva, yva, pte, yte, step=0.01):
    """Per-class thresholds tuned on val (grid step, ties -> smallest), applied to test."""
    from sklearn.metrics import f1_score
    grid = np.arange(1, int(round(1 / step))) * step
    thr = np.full(yva.shape[1], 0.5)
    for j in range(yva.shape[1]):
        if yva[:, j].sum() == 0:
            continue
        best = -1
        for t in grid:
            f = f1_score(yva[:, j], pva[:, j] >= t, zero_division=0)
            if f > best + 1e-12:
                best, thr[j] = f, t
    fv = f1_score(yva, pva >= thr, average="weighted", zero_division=0)
    ft = f1_score(yte, pte >= thr, average="weighted", zero_division=0)
    return fv, ft, thr


def log(*a):
    print(*a, file=sys.stderr, flush=True)
