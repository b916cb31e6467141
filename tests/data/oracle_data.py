#!/usr/bin/python3
"""Independent oracle for the data module (run by Debian's /usr/bin/python3: csv, re, hashlib).

Usage: oracle_data.py DATA_ROOT
Prints "key value" lines that test_data_oracle.c compares with emolab's own loader.

Nothing here is taken from emolab's code or config: the label maps are typed from
../shared/data/INDEX.md and the project brief, CSV parsing is Python's csv module.

Definitions shared with emolab (runner/data.h):
- normalise(text): per code point Unicode simple lowercase; word characters are letters and
  numbers (Python's \\w without '_'); every run of other characters becomes one space; strip.
- a train row overlaps eval when its normalised text is non-empty and equals the normalised
  text of some val or test row. Per train row, in this order: an overlapping row is counted
  (and dropped when asked), then a row with no label left after mapping is dropped, then a row
  with an empty text is dropped.
- empty text: only ASCII whitespace.
- split fingerprint: sha256 of b"emolab-split-v1\\nlabels:" + ",".join(labels) + b"\\n", then per
  row: str(len(text_utf8)) + ":" + text_utf8 + " " + "0"/"1" per label + "\\n".
"""
import csv
import hashlib
import re
import sys

EKMAN = ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
# INDEX.md, "The benchmark split": the standard GoEmotions Ekman mapping
GO_GROUPS = {
    "anger": [2, 3, 10],
    "disgust": [11],
    "fear": [14, 19],
    "joy": [17, 1, 4, 13, 15, 18, 20, 23, 21, 0, 8, 5],
    "sadness": [25, 9, 12, 16, 24],
    "surprise": [26, 22, 6, 7],
    "neutral": [27],
}
GO_MAP = {i: lab for lab, ids in GO_GROUPS.items() for i in ids}
# the brief / ru_izard_emotions/SOURCE.md
IZARD_MAP = {"neutral": "neutral", "joy": "joy", "sadness": "sadness", "anger": "anger",
             "surprise": "surprise", "disgust": "disgust", "fear": "fear", "guilt": "sadness",
             "shame": "sadness", "enthusiasm": None}

OLD = "ru_go_emotions/older_version_c0703d7/"
VAL = OLD + "ru-go-emotions-simplified-validation.csv"
TEST = OLD + "ru-go-emotions-simplified-test.csv"
GO_TRAIN = "ru_go_emotions_djacon/derived/train_aligned_to_goemotions.csv"
IZ_TRAIN = "ru_izard_emotions/train.csv"

WORD_RUNS = re.compile(r"[\W_]+")


def simple_lower(ch):
    low = ch.lower()
    if len(low) == 1:
        return low
    return "i" if ch == "\u0130" else ch  # U+0130 is the only full mapping longer than 1


def normalise(text):
    return WORD_RUNS.sub(" ", "".join(simple_lower(c) for c in text)).strip(" ")


def is_empty(text):
    return text.strip(" \t\n\r\v\f") == ""


def read(root, path):
    with open(root + "/" + path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def goemotions_rows(rows, text_col="ru_text"):
    out = []
    for r in rows:
        labels = {GO_MAP[int(t)] for t in re.findall(r"\d+", r["labels"])}
        out.append((r[text_col], labels))
    return out


def izard_rows(rows, enthusiasm="drop", neutral="clear_if_emotion"):
    out = []
    for r in rows:
        labels = set()
        for col, target in IZARD_MAP.items():
            if r[col] == "1":
                if col == "enthusiasm":
                    target = None if enthusiasm == "drop" else enthusiasm
                if target:
                    labels.add(target)
        if neutral == "clear_if_emotion" and "neutral" in labels and len(labels) > 1:
            labels.discard("neutral")
        out.append((r["text"], labels))
    return out


def fingerprint(rows):
    h = hashlib.sha256()
    h.update(b"emolab-split-v1\nlabels:" + ",".join(EKMAN).encode() + b"\n")
    for text, labels in rows:
        t = text.encode("utf-8")
        bits = "".join("1" if lab in labels else "0" for lab in EKMAN)
        h.update(str(len(t)).encode() + b":" + t + b" " + bits.encode() + b"\n")
    return h.hexdigest()


def emit(key, value):
    print(key, value)


def run(name, sources, val, test, drop=True):
    """sources: list of (tag, [(text, labels)]) train sources, in order."""
    eval_norm = {}
    for flag, rows in ((1, val), (2, test)):
        for text, _ in rows:
            n = normalise(text)
            if n:
                eval_norm[n] = eval_norm.get(n, 0) | flag
    train = []
    for tag, rows in sources:
        # per row, in this order: overlap (dropped when asked), no label, empty text
        flags = [eval_norm.get(normalise(t), 0) if normalise(t) else 0 for t, _ in rows]
        rest = [row for row, f in zip(rows, flags) if not (drop and f)]
        unmapped = sum(1 for _, labels in rest if not labels)
        mapped = [(t, l) for t, l in rest if l]
        empty = sum(1 for t, _ in mapped if is_empty(t))
        kept = [(t, l) for t, l in mapped if not is_empty(t)]
        emit(f"{name}.{tag}.rows_read", len(rows))
        emit(f"{name}.{tag}.dropped_unmapped", unmapped)
        emit(f"{name}.{tag}.empty_text", empty)
        emit(f"{name}.{tag}.overlap_val", sum(1 for f in flags if f & 1))
        emit(f"{name}.{tag}.overlap_test", sum(1 for f in flags if f & 2))
        emit(f"{name}.{tag}.dropped_overlap", sum(1 for f in flags if f) if drop else 0)
        emit(f"{name}.{tag}.kept", len(kept))
        train += kept
    emit(f"{name}.train.rows", len(train))
    for lab in EKMAN:
        emit(f"{name}.train.count.{lab}", sum(1 for _, l in train if lab in l))
    emit(f"{name}.train.fingerprint", fingerprint(train))
    emit(f"{name}.val.fingerprint", fingerprint(val))
    emit(f"{name}.test.fingerprint", fingerprint(test))


def main():
    root = sys.argv[1]
    val = goemotions_rows(read(root, VAL))
    test = goemotions_rows(read(root, TEST))
    go = goemotions_rows(read(root, GO_TRAIN))
    iz_raw = read(root, IZ_TRAIN)

    # the normalised forms of every izard train, val and test text, hashed in order
    h = hashlib.sha256()
    for text, _ in izard_rows(iz_raw) + val + test:
        h.update(normalise(text).encode("utf-8") + b"\n")
    emit("norm.sha256", h.hexdigest())

    run("ext", [("go", go), ("izard", izard_rows(iz_raw))], val, test)
    run("iz_joy_keep", [("izard", izard_rows(iz_raw, "joy", "keep"))], val, test)
    run("iz_surprise", [("izard", izard_rows(iz_raw, "surprise"))], val, test, drop=False)


if __name__ == "__main__":
    main()
