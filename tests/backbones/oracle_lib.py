"""Shared by the backbone oracles (tfidf_sklearn.py, torch_oracle.py, transformer_oracle.py):
counted checks, the summary line and exit status, reading the C side's safetensors dumps, and
comparing a dumped output and its gradients with a torch reference."""
import json
import struct
import sys

import numpy as np

failures = []
_checks = [0]
DT = {"F32": np.float32, "I64": np.int64}


def check(cond, what):
    _checks[0] += 1
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def summary(name):
    """Prints the result line; returns the exit status (1 when any check failed)."""
    if failures:
        print(f"{name}: {len(failures)} of {_checks[0]} checks FAILED", file=sys.stderr)
        return 1
    print(f"{name}: all {_checks[0]} checks passed")
    return 0


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(blob[base + b:base + e], dtype=DT[t["dtype"]]).reshape(t["shape"])
    return out


def compare_dump(d, ref, params, label):
    """The dump's "out" against ref (to 2e-5), then backward of sum(ref * R) and every dumped
    "grad.NAME" against params[NAME].grad (relative to 1e-4). Returns how many gradients were
    compared."""
    import torch
    out = torch.from_numpy(d["out"].copy())
    err = float((ref.detach() - out).abs().max())
    check(err < 2e-5, f"{label}: outputs differ by {err:.3g}")
    (ref * torch.from_numpy(d["R"].copy())).sum().backward()
    n_grads = 0
    for name in d:
        if not name.startswith("grad."):
            continue
        p = params[name[5:]]
        want = p.grad if p.grad is not None else torch.zeros_like(p)
        got = torch.from_numpy(d[name].copy())
        rel = float((got - want).abs().max() / max(1.0, float(want.abs().max())))
        check(rel < 1e-4, f"{label}: gradient of {name[5:]} differs by {rel:.3g}")
        n_grads += 1
    return n_grads
