#!/usr/bin/env python3
"""Parity of the C tokenizers (tok_cli) with HF `tokenizers` on the 5,426 val texts plus hard
cases, without truncation and truncated to several max_len: ids, type ids and attention masks
must be identical. Prints the first mismatching text with both id lists and fails otherwise.
usage: test_parity.py TOK_CLI FIXTURES_DIR KIND"""
import os, sys, time

from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(__file__))
import hfcommon  # noqa: E402

cli, fix, kind = sys.argv[1:4]
path = os.path.join(fix, kind, "tokenizer.json")
hf = Tokenizer.from_file(path)
hf.no_truncation()
hf.no_padding()
val = hfcommon.read_column(hfcommon.VAL)
assert len(val) >= 5000, len(val)
texts = val + hfcommon.hard_cases()
total = bad = 0
for max_len in (0, 128, 32, 8, 2):
    if max_len:
        hf.enable_truncation(max_length=max_len)
    else:
        hf.no_truncation()
    ref = hf.encode_batch(texts)
    t = time.time()
    got = hfcommon.run_cli(cli, ["encode", path, str(max_len)], texts)
    dt = time.time() - t
    nb = 0
    for text, r, line in zip(texts, ref, got):
        g = hfcommon.parse_enc(line)
        want = (r.ids, r.type_ids, r.attention_mask)
        total += 1
        if g != want:
            nb += 1
            if bad + nb <= 3:
                print("MISMATCH kind=%s max_len=%d text=%r" % (kind, max_len, text))
                print("  hf  ids=%s type=%s mask=%s" % want)
                print("  hf  tokens=%s" % r.tokens)
                print("  C   %s" % (line if g is None else "ids=%s type=%s mask=%s" % g))
    bad += nb
    print("%s max_len=%-3d texts=%d mismatches=%d (tok_cli %.2fs incl. load)" % (kind, max_len, len(texts), nb, dt))
print("%s: %d encodings compared (%d val + %d hard cases, 5 max_len settings), %d mismatches"
      % (kind, total, len(val), len(texts) - len(val), bad))
sys.exit(1 if bad else 0)
