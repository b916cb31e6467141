#!/usr/bin/env python3
"""Every normalizer and pre-tokenizer the C code supports, compared with HF `tokenizers` one
code point at a time (all of planes 0-3 and the tag/variation-selector block, samples of the
private-use planes), plus each code point followed by a combining accent and inside words.
This is what pins the Unicode-version differences (tokenize_unitab.c) down.
usage: test_unicode_sweep.py TOK_CLI FIXTURES_DIR"""
import os, sys, unicodedata

from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(__file__))
import hfcommon  # noqa: E402

cli, fix = sys.argv[1:3]
cps = [c for c in range(0x323B0) if not (0xD800 <= c <= 0xDFFF)]
cps += list(range(0xE0000, 0xE01F0)) + list(range(0xF0000, 0xF0100)) + list(range(0x10FF00, 0x110000))
singles = [chr(c) for c in cps]
combos = [chr(c) + "\u0301" for c in cps[:0x3000]] + ["a" + chr(c) + "b" for c in cps[:0x3000]]
# marks, and whatever Python's Unicode 14 does not know (Unicode 15 additions)
marks = [c for c in cps if unicodedata.combining(chr(c)) or unicodedata.category(chr(c))[0] in "MC"]
combos += [chr(c) + "\u0301" for c in marks] + [chr(c) + "\u0334" for c in marks] + ["\u0301" + chr(c) for c in marks]
combos += ["\u0418\u0306", "\u0415\u0308", "\u0438\u0306\u0301", "e\u0301\u0301", "\u1100\u1161\u11a8", "ﬁ\u0301"]
texts = singles + combos + hfcommon.hard_cases()
bad = total = 0


def report(kind, text, want, got):
    print("MISMATCH %s text=%r (U+%s)\n  hf %r\n  C  %r" % (kind, text, " U+".join("%04X" % ord(c) for c in text[:4]), want, got))


norm_dir = os.path.join(fix, "norm")
cases = sorted(os.listdir(norm_dir)) + ["../e5_small", "../minilm"]
for kind in cases:
    path = os.path.join(norm_dir, kind, "tokenizer.json")
    hf = Tokenizer.from_file(path)
    nb = 0
    if kind.startswith("pre_"):
        sample = texts + ["a" + t + "a" for t in singles] + [" " + t for t in singles[:0x3000]]
        got = hfcommon.run_cli(cli, ["pretok", path], sample)
        for t, g in zip(sample, got):
            want = [p for p, _ in hf.pre_tokenizer.pre_tokenize_str(t) if p]
            mine = [bytes.fromhex(h).decode("utf-8") for h in g.split()] if not g.startswith("ERR") else g
            if mine != want:
                nb += 1
                if nb <= 3:
                    report(kind, t, want, mine)
        n = len(sample)
    else:
        got = hfcommon.run_cli(cli, ["normalize", path], texts)
        for t, g in zip(texts, got):
            want = hf.normalizer.normalize_str(t)
            mine = bytes.fromhex(g).decode("utf-8") if not g.startswith("ERR") else g
            if mine != want:
                nb += 1
                if nb <= 3:
                    report(kind, t, want, mine)
        n = len(texts)
    total += n
    bad += nb
    print("%-24s %7d texts  %d mismatches" % (kind, n, nb))
print("unicode sweep: %d texts compared over %d normalizer/pre-tokenizer configs, %d mismatches" % (total, len(cases), bad))
sys.exit(1 if bad else 0)
