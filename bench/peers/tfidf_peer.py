"""TF-IDF word 1-2 + char_wb 2-5 grams, one-vs-rest logistic regression (scikit-learn).

Prints one JSON line: {"peer": "tfidf-lr", "val_weighted_f1", "test_weighted_f1", "seconds"}.
"""
import json
import sys
import time

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

import common


def main():
    variant = sys.argv[1] if len(sys.argv) > 1 else "orig"
    t0 = time.time()
    (tr, ytr), (va, yva), (te, yte) = common.load(variant)
    wv = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=200000)
    cv = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                         max_features=300000)
    xtr = hstack([wv.fit_transform(tr), cv.fit_transform(tr)]).tocsr()
    xva = hstack([wv.transform(va), cv.transform(va)]).tocsr()
    xte = hstack([wv.transform(te), cv.transform(te)]).tocsr()
    clf = OneVsRestClassifier(LogisticRegression(C=4.0, max_iter=1000, solver="liblinear"),
                              n_jobs=2)
    clf.fit(xtr, ytr)
    fv, ft, _ = common.tune_and_score(clf.predict_proba(xva), yva, clf.predict_proba(xte), yte)
    print(json.dumps({"peer": "tfidf-lr", "data": variant, "val_weighted_f1": round(fv, 4),
                      "test_weighted_f1": round(ft, 4), "seconds": round(time.time() - t0, 1)}))


if __name__ == "__main__":
    main()
