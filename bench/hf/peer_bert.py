#!/usr/bin/env python3
"""The peer of bench_hf.c: the same BERT training step with transformers' BertModel in PyTorch
eager (Debian's python3-torch), the same thread count.

  ids [B, T] uniform over the vocabulary, attention_mask all ones -> BertModel (train mode,
  eager attention, dropout 0.1, no pooler) -> CLS -> nn.Linear(H, 7) -> BCEWithLogitsLoss ->
  backward -> torch.optim.AdamW(lr 1e-4, weight_decay 0.01, every parameter) -> zero_grad
plus a 1024^3 float32 GEMM. Prints "key value" lines like bench_hf.c.
  peer_bert.py [--threads N] [--steps N] [--layers L] [--hidden H] [--heads NH] [--ffn I]
               [--batch B] [--len T] [--vocab V]
Needs transformers (the test venv: .venv/bin/python, which sees python3-torch)."""
import argparse, statistics, time

import torch
from transformers import BertConfig, BertModel

p = argparse.ArgumentParser()
for k, v in dict(threads=2, steps=10, layers=4, hidden=256, heads=4, ffn=1024, batch=32, len=64, vocab=30522).items():
    p.add_argument("--" + k, type=int, default=v)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1234)
cfg = BertConfig(vocab_size=a.vocab, hidden_size=a.hidden, num_hidden_layers=a.layers, num_attention_heads=a.heads,
                 intermediate_size=a.ffn, max_position_embeddings=512, hidden_act="gelu",
                 hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
cfg._attn_implementation = "eager"  # torch 1.13 has no SDPA: eager is what transformers runs anyway
model = BertModel(cfg, add_pooling_layer=False).train()
head = torch.nn.Linear(a.hidden, 7)
opt = torch.optim.AdamW(list(model.parameters()) + list(head.parameters()), lr=1e-4, weight_decay=0.01)
ids = torch.randint(0, a.vocab, (a.batch, a.len))
mask = torch.ones(a.batch, a.len, dtype=torch.long)
y = (torch.arange(a.batch * 7).reshape(a.batch, 7) * 7919 % 5 == 0).float()
lossf = torch.nn.BCEWithLogitsLoss()
times = []
for i in range(-3, a.steps):
    t0 = time.perf_counter()
    h = model(input_ids=ids, attention_mask=mask).last_hidden_state
    loss = lossf(head(h[:, 0]), y)
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    if i >= 0:
        times.append(time.perf_counter() - t0)
step = statistics.median(times)
H, I, n = a.hidden, a.ffn, a.batch * a.len
flops = 3 * a.layers * (2 * n * (4 * H * H + 2 * H * I) + 4 * a.batch * a.len * a.len * H)
A, B = torch.randn(1024, 1024), torch.randn(1024, 1024)
gt = []
for i in range(-2, 10):
    t0 = time.perf_counter()
    A @ B
    if i >= 0:
        gt.append(time.perf_counter() - t0)
print("threads %d\nstep_ms %.3f\nstep_gflops %.2f\ngemm_gflops %.2f"
      % (torch.get_num_threads(), step * 1e3, flops / step * 1e-9, 2 * 1024 ** 3 / statistics.median(gt) * 1e-9))
