#!/usr/bin/python3
"""Replays the scenarios printed by shim_optim_dump with torch.optim.AdamW / torch.optim.SGD and
torch.nn.utils.clip_grad_norm_ (Debian's python3-torch) and compares with the shim's results.

usage: optim_oracle.py path/to/shim_optim_dump
"""
import json
import subprocess
import sys

import torch


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def close(a, b, rtol, atol):
    d = (a - b).abs()
    bad = d > atol + rtol * b.abs()
    return not bool(bad.any()), float(d.max()) if d.numel() else 0.0


def main():
    if len(sys.argv) != 2:
        fail("usage: optim_oracle.py SHIM_OPTIM_DUMP")
    out = subprocess.run([sys.argv[1]], check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    torch.set_num_threads(1)
    n_cmp = 0
    for case in data["optim"]:
        dt = torch.float64 if case["dtype"] == "f64" else torch.float32
        rtol, atol = (1e-12, 1e-14) if dt == torch.float64 else (2e-6, 2e-7)
        params = [torch.tensor(v, dtype=dt).reshape(s).requires_grad_()
                  for v, s in zip(case["init"], case["shapes"])]
        groups = [{"params": [params[i] for i in g["params"]], "lr": g["lr"],
                   "weight_decay": g["wd"]} for g in case["groups"]]
        if case["kind"] == "adamw":
            opt = torch.optim.AdamW(groups, betas=(case["beta1"], case["beta2"]), eps=case["eps"])
        else:
            opt = torch.optim.SGD(groups, lr=groups[0]["lr"], momentum=case["momentum"],
                                  nesterov=bool(case["nesterov"]))
        for s, step in enumerate(case["steps"]):
            if "set_lr" in step:
                g, lr = step["set_lr"]
                opt.param_groups[g]["lr"] = lr
            for p, g in zip(params, step["grads"]):
                p.grad = None if g is None else torch.tensor(g, dtype=dt).reshape(p.shape)
            opt.step()
            for k, (p, want) in enumerate(zip(params, step["after"])):
                shim = torch.tensor(want, dtype=dt).reshape(p.shape)
                ok, md = close(shim, p.detach(), rtol, atol)
                n_cmp += 1
                if not ok:
                    fail(f"{case['name']}: step {s} param {k}: shim differs from torch.optim "
                         f"(max abs diff {md:.3g})\n shim  {shim.flatten()[:6].tolist()}\n "
                         f"torch {p.detach().flatten()[:6].tolist()}")
        print(f"ok  {case['name']}: {len(case['steps'])} steps match torch.optim")
    for c in data["clip"]:
        params = []
        for g in c["grads"]:
            p = torch.zeros(len(g), requires_grad=True)
            p.grad = torch.tensor(g, dtype=torch.float32)
            params.append(p)
        total = torch.nn.utils.clip_grad_norm_(params, c["max_norm"])
        if abs(float(total) - c["total"]) > 1e-6 * (1 + abs(float(total))):
            fail(f"clip max_norm={c['max_norm']}: total norm {c['total']} vs torch {float(total)}")
        for k, (p, want) in enumerate(zip(params, c["after"])):
            ok, md = close(torch.tensor(want), p.grad, 2e-6, 1e-7)
            n_cmp += 1
            if not ok:
                fail(f"clip max_norm={c['max_norm']}: grad {k} differs (max abs diff {md:.3g})")
        print(f"ok  clip_grad_norm max_norm={c['max_norm']}: total {c['total']:.6g}")
    print(f"optim_oracle: {n_cmp} comparisons with torch {torch.__version__} passed")


if __name__ == "__main__":
    main()
