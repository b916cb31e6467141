#!/usr/bin/env python3
"""Bad tokenizer.json files and bad texts: a clear error naming the file and the JSON key path,
exit status 1, never a crash.  usage: test_bad_input.py TOK_CLI FIXTURES_DIR"""
import copy, json, os, random, shutil, subprocess, sys, tempfile

cli, fix = sys.argv[1:3]
base = {k: json.load(open(os.path.join(fix, k, "tokenizer.json"))) for k in ("wordpiece_uncased", "bpe_bytelevel", "unigram")}
e5_norm = json.load(open(os.path.join(fix, "e5_small", "tokenizer.json")))["normalizer"]
tmp = tempfile.mkdtemp(prefix="tok_bad_")
fails = []


def variant(kind, edit):
    d = copy.deepcopy(base[kind])
    edit(d)
    return json.dumps(d)


def setp(path, value):
    def f(d):
        o = d
        for k in path[:-1]:
            o = o[k]
        o[path[-1]] = value
    return f


cases = [
    # (name, file text, substrings expected in the message)
    ("invalid_json", "{\"model\": ", ["invalid JSON"]),
    ("empty", "", ["invalid JSON"]),
    ("truncated", json.dumps(base["wordpiece_uncased"])[:5000], ["invalid JSON"]),
    ("top_array", "[1, 2]", ["expected an object"]),
    ("no_model", "{}", ["model", "missing"]),
    ("wordlevel", variant("wordpiece_uncased", setp(["model", "type"], "WordLevel")), ["model.type", "WordLevel", "unsupported"]),
    ("model_no_type", variant("wordpiece_uncased", lambda d: d["model"].pop("type")), ["model.type"]),
    ("unknown_normalizer", variant("wordpiece_uncased", setp(["normalizer"], {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Foo"}]})),
     ["normalizer.normalizers[1].type", "Foo"]),
    ("normalizer_not_object", variant("wordpiece_uncased", setp(["normalizer"], 3)), ["normalizer", "expected an object"]),
    ("bad_bool", variant("wordpiece_uncased", setp(["normalizer", "lowercase"], "yes")), ["normalizer.lowercase", "boolean"]),
    ("unknown_pretok", variant("wordpiece_uncased", setp(["pre_tokenizer"], {"type": "Split", "pattern": {"Regex": "x"}})),
     ["pre_tokenizer.type", "Split"]),
    ("unknown_post", variant("wordpiece_uncased", setp(["post_processor"], {"type": "Weird"})), ["post_processor.type", "Weird"]),
    ("template_missing_special", variant("wordpiece_uncased", lambda d: d["post_processor"]["special_tokens"].pop("[CLS]")),
     ["post_processor.special_tokens.[CLS].ids"]),
    ("vocab_array", variant("wordpiece_uncased", setp(["model", "vocab"], [1, 2])), ["model.vocab", "expected an object"]),
    ("vocab_bad_id", variant("wordpiece_uncased", setp(["model", "vocab", "[UNK]"], -5)), ["model.vocab", "[UNK]", "-5"]),
    ("added_no_content", variant("wordpiece_uncased", lambda d: d["added_tokens"][0].pop("content")), ["added_tokens[0].content"]),
    ("merge_unknown", variant("bpe_bytelevel", lambda d: d["model"]["merges"].__setitem__(3, "zzzq qqqz")), ["model.merges[3]", "not in model.vocab"]),
    ("merge_shape", variant("bpe_bytelevel", lambda d: d["model"]["merges"].__setitem__(0, 17)), ["model.merges[0]"]),
    ("bpe_dropout", variant("bpe_bytelevel", setp(["model", "dropout"], 0.1)), ["model.dropout"]),
    ("unigram_entry", variant("unigram", lambda d: d["model"]["vocab"].__setitem__(2, ["x"])), ["model.vocab[2]", "[piece, score]"]),
    ("unigram_empty", variant("unigram", setp(["model", "vocab"], [])), ["model.vocab", "empty"]),
    ("unigram_unk_range", variant("unigram", setp(["model", "unk_id"], 10 ** 7)), ["model.unk_id", "out of range"]),
    ("precompiled_base64", variant("unigram", setp(["normalizer"], {"type": "Precompiled", "precompiled_charsmap": "!!!!"})),
     ["normalizer.precompiled_charsmap", "base64"]),
    ("precompiled_size", variant("unigram", setp(["normalizer"], {"type": "Precompiled", "precompiled_charsmap": "/////wAAAAA="})),
     ["normalizer.precompiled_charsmap", "trie size"]),
    ("precompiled_e5_ok_but_seq_bad", variant("unigram", setp(["normalizer"], {"type": "Sequence", "normalizers": [e5_norm["normalizers"][0], {"type": "Replace", "pattern": {"Regex": "(a|b)+"}, "content": ""}]})),
     ["normalizer.normalizers[1].pattern.Regex", "unsupported regex"]),
    ("metaspace_scheme", variant("unigram", setp(["pre_tokenizer"], {"type": "Metaspace", "replacement": "_", "prepend_scheme": "sometimes"})),
     ["pre_tokenizer.prepend_scheme", "sometimes"]),
    ("deep_nesting", variant("wordpiece_uncased", setp(["normalizer"], json.loads('{"type":"Sequence","normalizers":[' * 40 + '{"type":"NFC"}' + ']}' * 40))),
     ["nested"]),
]
for name, text, want in cases:
    p = os.path.join(tmp, name + ".json")
    with open(p, "w") as f:
        f.write(text)
    r = subprocess.run([cli, "info", p], capture_output=True, text=True)
    msg = r.stderr.strip()
    if r.returncode != 1:
        fails.append("%s: exit status %d (want 1): %s" % (name, r.returncode, msg))
    elif p not in msg or not all(w in msg for w in want):
        fails.append("%s: message %r lacks the file name or %s" % (name, msg, want))
    else:
        print("ok %-28s %s" % (name, msg[len(tmp) + 1:][:150]))
# paths
for name, p, want in (("missing_file", os.path.join(tmp, "nope.json"), ["nope.json"]), ("dir_without_json", tmp, ["tokenizer.json"])):
    r = subprocess.run([cli, "info", p], capture_output=True, text=True)
    if r.returncode != 1 or not all(w in r.stderr for w in want):
        fails.append("%s: exit %d, %r" % (name, r.returncode, r.stderr))
    else:
        print("ok %-28s %s" % (name, r.stderr.strip()[:150]))
# arbitrary bytes as text: invalid UTF-8 is an error line, valid text encodes; never a crash
rnd = random.Random(5)
blobs = [bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 64))) for _ in range(3000)]
for kind in ("wordpiece_uncased", "bpe_bytelevel", "unigram", "e5_small"):
    p = os.path.join(fix, kind, "tokenizer.json")
    r = subprocess.run([cli, "encode", p, "16"], input="".join(b.hex() + "\n" for b in blobs), capture_output=True, text=True)
    lines = r.stdout.splitlines()
    if r.returncode != 0 or len(lines) != len(blobs):
        fails.append("%s: random bytes: exit %d, %d lines" % (kind, r.returncode, len(lines)))
        continue
    nerr = 0
    for b, line in zip(blobs, lines):
        valid = True
        try:
            b.decode("utf-8")
        except UnicodeDecodeError:
            valid = False
        if line.startswith("ERR") == valid:
            fails.append("%s: %r -> %r" % (kind, b, line))
        nerr += line.startswith("ERR")
    print("ok random bytes %-18s %d texts, %d refused as invalid UTF-8" % (kind, len(blobs), nerr))
shutil.rmtree(tmp, ignore_errors=True)
for f in fails:
    print("FAIL", f)
print("bad input: %d cases, %d failures" % (len(cases) + 6, len(fails)))
sys.exit(1 if fails else 0)
