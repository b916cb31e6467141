#!/usr/bin/python3
"""The python3-torch side of bench/shim/run.sh: the same work as bench_shim.c, same shapes, same
thread count, default torch.optim settings; prints "key value" lines (medians).
  bench_torch.py [--threads N] [--only gemm|mlp|sparse] [--quick]"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def timed(fn, iters, warmup=3):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def bench_gemm(iters):
    a, b = torch.randn(512, 768), torch.randn(768, 768)
    with torch.no_grad():
        med = timed(lambda: torch.matmul(a, b), iters)
    print(f"gemm_ms {med * 1e3:.4f}\ngemm_gflops {2 * 512 * 768 * 768 / med * 1e-9:.2f}")


def bench_mlp(iters):
    model = torch.nn.Sequential(torch.nn.Linear(768, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 7))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    x = torch.randn(64, 768)
    y = (torch.rand(64, 7) > 0.7).float()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        opt.step()

    print(f"mlp_step_ms {timed(step, iters) * 1e3:.4f}")


def bench_sparse(iters, quick):
    V, D, B, PER = (1 << 16 if quick else 1 << 20), 128, 64, 200
    emb = torch.nn.EmbeddingBag(V, D, mode="mean", sparse=True)
    head = torch.nn.Linear(D, 7)
    oe = torch.optim.SparseAdam(list(emb.parameters()), lr=1e-3)
    oh = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=0.0)
    ids = [torch.randint(0, V, (B * PER,)) for _ in range(4)]
    offs = torch.arange(0, B * PER, PER)
    y = (torch.rand(B, 7) > 0.7).float()
    k = [0]

    def step():
        oe.zero_grad(set_to_none=True)
        oh.zero_grad(set_to_none=True)
        loss = F.binary_cross_entropy_with_logits(head(emb(ids[k[0] % 4], offs)), y)
        k[0] += 1
        loss.backward()
        oe.step()
        oh.step()

    print(f"sparse_step_ms {timed(step, iters) * 1e3:.4f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", choices=["gemm", "mlp", "sparse"])
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print(f"threads {torch.get_num_threads()}")
    if a.only in (None, "gemm"):
        bench_gemm(3 if a.quick else 30)
    if a.only in (None, "mlp"):
        bench_mlp(3 if a.quick else 40)
    if a.only in (None, "sparse"):
        bench_sparse(3 if a.quick else 30, a.quick)


if __name__ == "__main__":
    main()
