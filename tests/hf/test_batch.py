#!/usr/bin/env python3
"""Batches and length buckets: every padded row equals HF's encoding followed by the pad id
(mask 0), each batch is padded to its own longest row, the plan is a permutation of the texts,
rows of a bucket come sorted by length, and the plan is deterministic for a seed and changes
with the seed.  usage: test_batch.py TOK_CLI FIXTURES_DIR"""
import os, subprocess, sys

from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(__file__))
import hfcommon  # noqa: E402

cli, fix = sys.argv[1:3]
texts = hfcommon.read_column(hfcommon.VAL)[:1000] + ["", " ", "😀" * 50]
fails = []


def plan(path, max_len, bs, seed):
    r = subprocess.run([cli, "batch", path, str(max_len), str(bs), str(seed)], input=hfcommon.to_hex_lines(texts),
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("tok_cli batch failed: " + r.stderr)
    return r.stdout


for kind in ("wordpiece_uncased", "bpe_bytelevel", "e5_small"):
    path = os.path.join(fix, kind, "tokenizer.json")
    hf = Tokenizer.from_file(path)
    hf.no_padding()
    pad = {"wordpiece_uncased": hf.token_to_id("[PAD]"), "bpe_bytelevel": hf.token_to_id("<pad>"), "e5_small": 1}[kind]
    for max_len, bs in ((0, 32), (64, 16)):
        if max_len:
            hf.enable_truncation(max_len)
        else:
            hf.no_truncation()
        ref = hf.encode_batch(texts)
        out = plan(path, max_len, bs, 7)
        if plan(path, max_len, bs, 7) != out:
            fails.append("%s: same seed, different plan" % kind)
        if plan(path, max_len, bs, 8) == out:
            fails.append("%s: seeds 7 and 8 gave the same plan" % kind)
        lines = out.splitlines()
        seen = []
        i = 0
        nb = 0
        while i < len(lines):
            idx = [int(x) for x in lines[i].split()[1:]]
            rows = lines[i + 1:i + 1 + len(idx)]
            i += 1 + len(idx)
            nb += 1
            seen += idx
            if len(idx) > bs:
                fails.append("%s: batch of %d > %d" % (kind, len(idx), bs))
            longest = max(len(ref[j].ids) for j in idx)
            for j, row in zip(idx, rows):
                ids, mask = ([int(x) for x in p.split()] for p in row.split("|"))
                want = ref[j].ids + [pad] * (longest - len(ref[j].ids))
                wmask = [1] * len(ref[j].ids) + [0] * (longest - len(ref[j].ids))
                if ids != want or mask != wmask:
                    fails.append("%s: text %d: ids %s mask %s, want %s %s" % (kind, j, ids, mask, want, wmask))
            lens = [len(ref[j].ids) for j in idx]
            if lens != sorted(lens):
                fails.append("%s: batch not sorted by length: %s" % (kind, lens))
        if sorted(seen) != list(range(len(texts))):
            fails.append("%s: the plan is not a permutation of the %d texts" % (kind, len(texts)))
        print("%s max_len=%d batch=%d: %d batches checked" % (kind, max_len, bs, nb))
for f in fails[:10]:
    print("FAIL", f)
print("batch test: %d failures" % len(fails))
sys.exit(1 if fails else 0)
