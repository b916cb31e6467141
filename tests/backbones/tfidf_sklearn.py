#!/usr/bin/python3
"""emolab's tf-idf features (tokenize_tfidf.c) against scikit-learn's TfidfVectorizer.

usage: /usr/bin/python3 tfidf_sklearn.py PATH/TO/tfidf_dump

Corpora: hand-made edge cases (case, digits, '_', one-letter words, combining accents, tabs,
runs of spaces and newlines, no-break spaces, emoji, punctuation-only and empty texts,
repeated words) plus the first 400 train texts of the real split when $EMOLAB_DATA has it.
For each parameter set (word n-grams, char_wb and char n-grams, min_df, max_df, max_features,
sublinear_tf, use_idf, smooth_idf, norm l2/l1/none, lowercase on/off), fitted on one part and
applied to another, checks:
  - the vocabulary of each analyzer: the same terms (ids in code-point order, words first);
  - idf per term, to 1e-6 relative;
  - every tf-idf value of the applied texts, to 1e-6 (float32 against float64), the word and
    char parts normalised separately as the peer's two vectorizers side by side;
  - max_features: the most frequent terms; when scikit-learn's (unstable) argsort meets ties
    at the cut, the same number of terms, all of the strictly more frequent ones, and ours
    broken by code-point order;
  - fitting errors where scikit-learn raises (no term left after min_df/max_df).
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from oracle_lib import check, summary

TOOL = sys.argv[1]


EDGE = [
    "Привет, Мир! привет мир", "ПРИВЕТ привет ПрИвЕт", "я и ты, а он?", "x y z 1 2 3",
    "кто-то сказал: «нет»…", "don't stop_me_now 2023 x2 3.14", "ёлка Ёлка елка",
    "ударе\u0301ние и ещё", "табы\tи\t\tпробелы   много    раз", "строка\nновая\n\nстрока",
    "no\u00a0break\u00a0space and\u2009thin", "эмодзи 😀😀 😡 и ❤️", "!!! ??? ...", "", "   ",
    "повтор повтор повтор повтор слово", "a", "аб аб аб", "Σίσυφος ΣΊΣΥΦΟΣ", "日本語のテキスト",
    "mixed Latin и кириллица вместе", "числа 1 22 333 4444", "_ __ ___", "тест тест. Тест!",
    "İstanbul İZMİR", "ΟΔΟΣ. ΟΔΟΣ's Σ ΑΣ ΣΑ",
]


def real_texts():
    root = os.environ.get("EMOLAB_DATA", "")
    path = os.path.join(root, "ru_go_emotions_djacon/derived/train_aligned_to_goemotions.csv")
    if not root or not os.path.exists(path):
        return []
    out = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.append(row["ru_text"])
            if len(out) == 400:
                break
    return out


def run_tool(cases):
    """emolab's features for every (params, fit, apply) case, in one run of the tool."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump([{"params": p, "fit": fit, "apply": apply} for p, fit, apply in cases], f,
                  ensure_ascii=False)
        name = f.name
    try:
        out = subprocess.run([TOOL, name], check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(name)
    return [json.loads(line) for line in out.splitlines()]


def vectorizer(params, analyzer):
    if analyzer == "word":
        kw = dict(analyzer="word", ngram_range=(params["word_min"], params["word_max"]),
                  max_features=params["word_max_features"])
    else:
        kw = dict(analyzer="char_wb" if params["char_wb"] else "char",
                  ngram_range=(params["char_min"], params["char_max"]),
                  max_features=params["char_max_features"])
    return TfidfVectorizer(lowercase=params["lowercase"], min_df=params["min_df"],
                           max_df=params["max_df"], sublinear_tf=params["sublinear_tf"],
                           use_idf=params["use_idf"], smooth_idf=params["smooth_idf"],
                           norm=None if params["norm"] == "none" else params["norm"], **kw)


def counts_of(params, analyzer, fit):
    """Term -> total count over the fit texts after min_df/max_df (what max_features ranks)."""
    v = vectorizer(params, analyzer)
    cv = CountVectorizer(analyzer=v.analyzer, ngram_range=v.ngram_range, lowercase=v.lowercase,
                         min_df=v.min_df, max_df=v.max_df)
    x = cv.fit_transform(fit)
    tot = np.asarray(x.sum(axis=0)).ravel()
    return {t: int(tot[i]) for t, i in cv.vocabulary_.items()}


def compare(label, params, fit, apply, ours):
    analyzers = [a for a, on in (("word", params["word_min"] > 0), ("char", params["char_min"] > 0)) if on]
    vecs, mats, errors = [], [], []
    for a in analyzers:
        v = vectorizer(params, a)
        try:
            v.fit(fit)
            vecs.append(v)
            mats.append(v.transform(apply))
        except ValueError as e:
            errors.append(str(e))
    if errors:
        check("error" in ours, f"{label}: scikit-learn raised ({errors[0]}), emolab did not")
        return
    if "error" in ours:
        check(False, f"{label}: emolab failed: {ours['error']}")
        return
    terms, idf, nw = ours["terms"], np.array(ours["idf"]), ours["n_word"]
    parts = {"word": terms[:nw], "char": terms[nw:]}
    ties, same = False, True
    for a, v in zip(analyzers, vecs):
        sk = sorted(v.vocabulary_, key=lambda t: [ord(c) for c in t])
        mine = parts[a]
        check(mine == sorted(mine, key=lambda t: [ord(c) for c in t]),
              f"{label}: {a} ids are not in code-point order")
        limit = params[f"{a}_max_features"]
        tot = counts_of(params, a, fit)
        if len(tot) > limit:
            cut = sorted(tot.values(), reverse=True)[limit - 1]
            above = {t for t, c in tot.items() if c > cut}
            at = sorted((t for t, c in tot.items() if c == cut), key=lambda t: [ord(ch) for ch in t])
            if len(above) + len(at) > limit:  # a tie at the cut
                ties = True
                check(len(mine) == limit and above <= set(mine), f"{label}: {a} max_features with ties")
                check(set(mine) - above == set(at[:limit - len(above)]),
                      f"{label}: {a} ties not broken by code-point order")
                continue
        same &= mine == sk
        check(mine == sk, f"{label}: {a} vocabulary differs: only emolab {sorted(set(mine) - set(sk))[:5]}"
                          f", only sklearn {sorted(set(sk) - set(mine))[:5]} ({len(mine)} vs {len(sk)})")
        if mine == sk and params["use_idf"]:
            off = 0 if a == "word" else nw
            vidf = v.idf_  # a property that recomputes on every access
            want = np.array([vidf[v.vocabulary_[t]] for t in sk])
            check(np.allclose(idf[off:off + len(sk)], want, rtol=1e-6, atol=0), f"{label}: {a} idf")
    if ties or not same:
        return
    # values: sklearn's [n, V_word + V_char] in our id order
    x = hstack(mats).toarray() if len(mats) > 1 else mats[0].toarray()
    sk_cols = []
    for a, v in zip(analyzers, vecs):
        inv = sorted(v.vocabulary_.items(), key=lambda kv: [ord(c) for c in kv[0]])
        base = sum(len(w.vocabulary_) for w in vecs[:analyzers.index(a)])
        sk_cols += [base + idx for _, idx in inv]
    want = x[:, sk_cols]
    got = np.zeros_like(want)
    for i, row in enumerate(ours["rows"]):
        for j, val in row:
            got[i, j] += val
    err = float((np.abs(got - want) / np.maximum(1.0, np.abs(want))).max()) if want.size else 0.0
    check(err < 1e-6, f"{label}: tf-idf values differ by {err:.3g} (relative)")


def main():
    real = real_texts()
    corpora = [("edge", EDGE * 2 + EDGE[:7], EDGE)]
    if real:
        corpora.append(("real", real[:300], real[300:] + EDGE))
    else:
        print("note: $EMOLAB_DATA has no train file; hand-made corpus only", file=sys.stderr)
    base = dict(word_min=1, word_max=2, char_min=2, char_max=5, char_wb=True, lowercase=True,
                min_df=2, max_df=1.0, word_max_features=200000, char_max_features=300000,
                sublinear_tf=True, use_idf=True, smooth_idf=True, norm="l2")
    variants = [
        ("peer", {}),
        ("words-only-1-3", dict(char_min=0, char_max=0, word_max=3, min_df=1)),
        ("char_wb-only-1-4", dict(word_min=0, word_max=0, char_min=1, char_max=4, min_df=1)),
        ("char-2-4", dict(word_min=0, word_max=0, char_wb=False, char_min=2, char_max=4)),
        ("char-1-3-raw", dict(word_min=0, word_max=0, char_wb=False, char_min=1, char_max=3,
                              sublinear_tf=False, norm="none", min_df=1)),
        ("wb-long-ngrams", dict(word_min=0, word_max=0, char_min=4, char_max=7, min_df=1)),
        ("l1-nosmooth", dict(norm="l1", smooth_idf=False, sublinear_tf=False)),
        ("no-idf", dict(use_idf=False, min_df=1)),
        ("no-lowercase", dict(lowercase=False, min_df=1)),
        ("max-df", dict(max_df=0.2, min_df=1)),
        ("max-features", dict(word_max_features=40, char_max_features=150, min_df=1)),
        ("max-features-2", dict(word_max_features=7, char_max_features=33, min_df=2)),
        ("bigrams-only", dict(word_min=2, word_max=2, char_min=3, char_max=3)),
        ("min-df-too-high", dict(min_df=100000)),
    ]
    cases = [(f"{cname}/{vname}", dict(base, **over), fit, apply)
             for cname, fit, apply in corpora for vname, over in variants]
    results = run_tool([(p, fit, apply) for _, p, fit, apply in cases])
    check(len(results) == len(cases), "one result per case")
    for (label, p, fit, apply), ours in zip(cases, results):
        compare(label, p, fit, apply, ours)
    return summary("tfidf_sklearn")


if __name__ == "__main__":
    sys.exit(main())
