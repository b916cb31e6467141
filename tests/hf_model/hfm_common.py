"""Shared helpers of the tests/hf_model scripts: texts, the hf_dump driver, result files."""
import os, struct, subprocess, sys, tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "hf"))
import hfcommon  # noqa: E402,F401


def val_texts(n, hard=True):
    """n val texts (first rows of the split) plus, when hard, short hard cases and a long one."""
    t = hfcommon.read_column(hfcommon.VAL)[:n]
    if hard:
        t += ["", "Ёжик ёлка йогурт 😀 https://example.com/ЯЯ?a=1", "x" * 300, "а " * 200, "[CLS] <s> </s> [SEP]"]
    return t


def write_texts(texts, path):
    with open(path, "w") as f:
        f.write(hfcommon.to_hex_lines(texts))


def read_arrays(path):
    out = []
    with open(path, "rb") as f:
        data = f.read()
    at = 0
    while at < len(data):
        kind, nd = struct.unpack_from("<ii", data, at)
        at += 8
        dims = struct.unpack_from("<%dq" % nd, data, at)
        at += 8 * nd
        n = int(np.prod(dims)) if nd else 1
        dt = np.int32 if kind == 0 else np.float32
        out.append(np.frombuffer(data, dtype=dt, count=n, offset=at).reshape(dims).copy())
        at += 4 * n
    return out


def run(cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        print("FAILED: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr), file=sys.stderr)
        sys.exit(1)
    return r


def tmpdir():
    return tempfile.mkdtemp(prefix="hfm_")
