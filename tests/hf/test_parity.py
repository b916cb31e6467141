#!/usr/bin/env python3
"""Parity of the C tokenizers (tok_cli) with HF `tokenizers` on the 5,426 val texts plus hard
cases, without truncation and truncated to several max_len: ids, type ids and attention masks
must be identical. Prints the first mismatching text with both id lists and fails otherwise.
usage: test_parity.py TOK_CLI FIXTURES_DIR KIND"""
import os, sys, time, warnings

os.environ["HF_HUB_OFFLINE"] = "1"  # local files only
warnings.filterwarnings("ignore", category=FutureWarning)

from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(__file__))
import hfcommon  # noqa: E402

cli, fix, kind = sys.argv[1:4]
if kind.startswith("vocab_"):  # a directory with vocab.txt only: transformers converts it
    from transformers import BertTokenizerFast
    path = os.path.join(fix, kind)
    hf = BertTokenizerFast.from_pretrained(path)._tokenizer
else:
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
# without the special tokens (add_special_tokens=False), untruncated and truncated
for max_len in (0, 8):
    if max_len:
        hf.enable_truncation(max_length=max_len)
    else:
        hf.no_truncation()
    ref = hf.encode_batch(texts, add_special_tokens=False)
    got = hfcommon.run_cli(cli, ["encode", path, str(max_len), "nospecial"], texts)
    nb = 0
    for text, r, line in zip(texts, ref, got):
        g = hfcommon.parse_enc(line)
        want = (r.ids, r.type_ids, r.attention_mask)
        total += 1
        if g != want:
            nb += 1
            if bad + nb <= 3:
                print("MISMATCH kind=%s nospecial max_len=%d text=%r\n  hf  %s\n  C   %s" % (kind, max_len, text, want, line))
    bad += nb
    print("%s nospecial max_len=%-3d texts=%d mismatches=%d" % (kind, max_len, len(texts), nb))
# speed: the 5,426 val texts must take well under a second (best of 3, load excluded)
r = hfcommon.subprocess.run([cli, "bench", path, "3"], input=hfcommon.to_hex_lines(val), capture_output=True, text=True)
print("%s bench: %s" % (kind, r.stdout.strip() or r.stderr.strip()))
try:
    enc_s = float(r.stdout.split("encode_s ")[1].split()[0])
except (IndexError, ValueError):
    enc_s = 99.0
t = time.time()
hf.no_truncation()
hf.encode_batch(val)
t_hf_batch = time.time() - t
t = time.time()
for x in val:
    hf.encode(x)
t_hf_loop = time.time() - t
print("%s HF python: encode_batch %.3fs (multi-threaded), encode loop %.3fs" % (kind, t_hf_batch, t_hf_loop))
# over a second only counts when the machine is not simply overloaded (then HF's loop is slow too)
if enc_s >= 1.0 and enc_s > 0.5 * t_hf_loop and "sanitized 1" not in r.stdout:
    print("TOO SLOW: %.3fs for %d texts" % (enc_s, len(val)))
    bad += 1
print("%s: %d encodings compared (%d val + %d hard cases; 5 max_len settings with specials, 2 without), %d mismatches"
      % (kind, total, len(val), len(texts) - len(val), bad))
sys.exit(1 if bad else 0)
