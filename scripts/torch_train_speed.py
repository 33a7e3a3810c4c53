#!/usr/bin/env python3
"""Training tokens/s of a Llama model in PyTorch eager, for comparison with `distilscope-cli pretrain`.

Builds the same architecture as a DistilScope pretrain config (assets/train/teacher.json: RMSNorm, RoPE,
grouped-query attention, SwiGLU MLP, tied embeddings), F32 weights, AdamW with gradient clipping, random
token batches of the config's shape (batch_seqs x seq_len), and times full steps (forward, backward,
clip, optimizer) after warm-up steps. Prints one line with the median step time and tokens/s.

Usage: python3 scripts/torch_train_speed.py assets/train/teacher.json [--vocab 4096] [--steps 20]
       [--compile] [--tf32]   (default: eager, full F32 matmuls: the precision DistilScope's F32 trainer uses)
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_dim, seq_len, theta, device):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, device=device).float() / head_dim))
    ang = torch.outer(torch.arange(seq_len, device=device).float(), inv)  # [T, hd/2]
    return ang.cos(), ang.sin()


def rotate(x, cos, sin):  # rotate-half convention; x [B, H, T, hd]
    a, b = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


class Block(nn.Module):
    def __init__(self, m):
        super().__init__()
        d, self.h, self.kv = m["d_model"], m["n_heads"], m["n_kv_heads"]
        self.hd = m.get("head_dim", d // self.h)
        f = m["ffn_dim"]
        eps = m.get("norm_eps", 1e-5)
        self.attn_norm, self.ffn_norm = RMSNorm(d, eps), RMSNorm(d, eps)
        self.wq = nn.Linear(d, self.h * self.hd, bias=False)
        self.wk = nn.Linear(d, self.kv * self.hd, bias=False)
        self.wv = nn.Linear(d, self.kv * self.hd, bias=False)
        self.wo = nn.Linear(self.h * self.hd, d, bias=False)
        self.gate, self.up = nn.Linear(d, f, bias=False), nn.Linear(d, f, bias=False)
        self.down = nn.Linear(f, d, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        n = self.attn_norm(x)
        q = self.wq(n).view(B, T, self.h, self.hd).transpose(1, 2)
        k = self.wk(n).view(B, T, self.kv, self.hd).transpose(1, 2)
        v = self.wv(n).view(B, T, self.kv, self.hd).transpose(1, 2)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        rep = self.h // self.kv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.wo(a.transpose(1, 2).reshape(B, T, -1))
        n = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(n)) * self.up(n))


class Llama(nn.Module):
    def __init__(self, m, vocab):
        super().__init__()
        self.embed = nn.Embedding(vocab, m["d_model"])
        self.blocks = nn.ModuleList(Block(m) for _ in range(m["n_layers"]))
        self.norm = RMSNorm(m["d_model"], m.get("norm_eps", 1e-5))
        std = m.get("init_std", 0.02)  # as DistilScope's pretrain initializes
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, 0.0, std)

    def forward(self, ids, cos, sin):
        x = self.embed(ids)
        for b in self.blocks:
            x = b(x, cos, sin)
        return self.norm(x) @ self.embed.weight.t()  # tied lm head


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--tf32", action="store_true")
    a = ap.parse_args()
    cfg = json.load(open(a.config))
    m, t, o = cfg["model"], cfg["train"], cfg.get("optimizer", {})
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(1)
    model = Llama(m, a.vocab).to(dev)
    step_fn = torch.compile(model) if a.compile else model
    opt = torch.optim.AdamW(model.parameters(), lr=o.get("lr", 1e-3), betas=(o.get("beta1", 0.9), o.get("beta2", 0.95)),
                            eps=o.get("eps", 1e-8), weight_decay=o.get("weight_decay", 0.1))
    B, T = t["batch_seqs"], t["seq_len"]
    hd = m.get("head_dim", m["d_model"] // m["n_heads"])
    cos, sin = rope_tables(hd, T, m.get("rope_theta", 10000.0), dev)
    times = []
    for s in range(a.warmup + a.steps):
        ids = torch.randint(0, a.vocab, (B, T + 1), device=dev)
        if dev == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        logits = step_fn(ids[:, :-1], cos, sin)
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), o.get("max_grad_norm", 1.0))
        opt.step()
        if dev == "cuda":
            torch.cuda.synchronize()
        if s >= a.warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    n_params = sum(p.numel() for p in model.parameters())
    mode = ("compiled" if a.compile else "eager") + (", tf32" if a.tf32 else ", f32")
    name = torch.cuda.get_device_name() if dev == "cuda" else "cpu"
    print(f"torch {torch.__version__} {mode} on {name}: {n_params / 1e6:.2f} M params, batch {B} x {T}: "
          f"median step {med * 1e3:.1f} ms, {B * T / med:,.0f} training tok/s (loss {loss.item():.3f}, "
          f"{a.steps} steps)")
    assert math.isfinite(loss.item())


if __name__ == "__main__":
    main()
