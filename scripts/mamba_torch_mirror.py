#!/usr/bin/env python3
"""Cross-check of the Mamba mixer core against an independent PyTorch mirror of the Apriel-H1 reference.

The reference (ServiceNow/Fast-LLM, apriel_hybrid_ssm Mamba2.forward / step, which call mamba_ssm's
selective_scan_fn / selective_state_update and causal_conv1d) needs CUDA extensions that are not available here,
so this script re-does the reference's tensor operations step by step in plain PyTorch (float64, batch 1):
split of in_proj's output, groups repeated with expand+reshape (repeat_kv), depthwise Conv1d with padding
d_conv-1 truncated to the sequence, silu, delta_bias added to dt, softplus, exp(delta A), delta B u, C h, + D u,
* silu(z); and the one-token step path with its rolling conv state. Both paths must agree; the forward path's
inputs and results are written to a binary file that the C++ test MambaTorchMirror.MatchesDump reads
(tests/data/mamba_torch_mirror.bin, made by this script; DS_MAMBA_TORCH_DUMP=<file> reads another), comparing
them with ref::mamba_mixer and the GPU kernels.

Usage: python3 scripts/mamba_torch_mirror.py OUT_FILE   (needs torch and numpy; Debian: python3-torch)
File: int32 d_inner, d_xb, d_state, d_conv, n_tokens, then float32 arrays in the engine's layouts (GGUF order,
fastest first): zxbc [rows, T], dt [d_inner, T], conv_w [d_conv, d_inner], conv_b, dt_bias [d_inner],
a_log [d_state, d_inner], D [d_inner], y [d_inner, T], conv_state [d_inner, d_conv-1], ssm [d_state, d_inner].
"""
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F


def groups_repeated(t, d_state, repeat):
    """(L, G*d_state) -> (L, G*repeat*d_state): group g becomes groups g*repeat .. g*repeat+repeat-1."""
    L, width = t.shape
    g = width // d_state
    t = t.reshape(L, g, 1, d_state).expand(L, g, repeat, d_state)
    return t.reshape(L, g * repeat * d_state)


def forward_path(zxbc, dt, conv_w, conv_b, dt_bias, a_log, D, d_inner, d_xb, d_state, d_conv):
    """The reference's prefill: whole sequence, zero initial state. zxbc (L, rows), dt (L, d_inner)."""
    L = zxbc.shape[0]
    repeat = d_inner // d_xb
    z, x, B, C = torch.split(zxbc, [d_inner, d_xb, d_xb, d_inner], dim=-1)
    A = -torch.exp(a_log)                                   # (d_inner, d_state)
    B = groups_repeated(B, d_state, repeat)                 # (L, d_inner): head k's B at [k*d_state, ...)
    x = groups_repeated(x, d_state, repeat).T               # (d_inner, L): repeat_kv_before_conv
    conv_state = F.pad(x, (d_conv - L, 0))                  # last d_conv inputs, zeros in front
    u = F.conv1d(x[None], conv_w[:, None, :], conv_b, padding=d_conv - 1, groups=d_inner)[0, :, :L]
    u = F.silu(u)                                           # (d_inner, L)
    delta = F.softplus(dt.T + dt_bias[:, None])             # (d_inner, L): dt_proj's bias a second time
    h = torch.zeros(d_inner, d_state, dtype=zxbc.dtype)
    ys = []
    for t in range(L):
        head_B = B[t].reshape(-1, d_state).repeat_interleave(d_state, dim=0)  # (d_inner, d_state), per channel
        head_C = C[t].reshape(-1, d_state).repeat_interleave(d_state, dim=0)
        h = torch.exp(delta[:, t, None] * A) * h + delta[:, t, None] * head_B * u[:, t, None]
        ys.append((h * head_C).sum(-1))
    y = torch.stack(ys, dim=1) + u * D[:, None]             # (d_inner, L)
    y = y * F.silu(z.T)
    return y.T, conv_state, h


def step_path(zxbc, dt, conv_w, conv_b, dt_bias, a_log, D, d_inner, d_xb, d_state, d_conv):
    """The reference's decode: one token at a time with a rolling conv state of d_conv inputs."""
    repeat = d_inner // d_xb
    A = -torch.exp(a_log)
    conv_state = torch.zeros(d_inner, d_conv, dtype=zxbc.dtype)
    h = torch.zeros(d_inner, d_state, dtype=zxbc.dtype)
    ys = []
    for t in range(zxbc.shape[0]):
        z, x, B, C = torch.split(zxbc[t], [d_inner, d_xb, d_xb, d_inner], dim=-1)
        B = B.reshape(-1, d_state).repeat_interleave(repeat, dim=0)           # (heads, d_state)
        C = C.reshape(-1, d_state)
        x = x.reshape(-1, d_state).repeat_interleave(repeat, dim=0).reshape(-1)
        conv_state = torch.roll(conv_state, shifts=-1, dims=-1)
        conv_state[:, -1] = x
        u = F.silu((conv_state * conv_w).sum(-1) + conv_b)
        delta = F.softplus(dt[t] + dt_bias)
        hb = B.repeat_interleave(d_state, dim=0)
        hc = C.repeat_interleave(d_state, dim=0)
        h = h * torch.exp(A * delta[:, None]) + hb * delta[:, None] * u[:, None]
        ys.append(((h * hc).sum(-1) + u * D) * F.silu(z))
    return torch.stack(ys), conv_state, h


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    d_inner, d_xb, d_state, d_conv, L = 128, 32, 16, 4, 40  # 8 heads over 2 x/B groups; 3 prefill chunks
    rows = 2 * d_inner + 2 * d_xb
    f64 = torch.float64

    def rnd(*shape, lo=-1.0, hi=1.0):
        return (torch.rand(*shape, dtype=f64) * (hi - lo) + lo).float().double()  # exactly float32 values

    zxbc = rnd(L, rows, lo=-1.5, hi=1.5)
    dt = rnd(L, d_inner, lo=-3, hi=1)
    conv_w = rnd(d_inner, d_conv, lo=-0.6, hi=0.6)
    conv_b = rnd(d_inner, lo=-0.5, hi=0.5)
    dt_bias = rnd(d_inner, lo=-3, hi=0)
    a_log = rnd(d_inner, d_state, lo=-1, hi=2.8)
    D = rnd(d_inner, lo=0.5, hi=1.5)
    args = (zxbc, dt, conv_w, conv_b, dt_bias, a_log, D, d_inner, d_xb, d_state, d_conv)
    y, conv_state, h = forward_path(*args)
    y2, conv_state2, h2 = step_path(*args)
    print("forward vs step: max |dy| %.3e, max |dh| %.3e, conv states equal: %s" % (
        (y - y2).abs().max().item(), (h - h2).abs().max().item(), bool(torch.equal(conv_state, conv_state2))))
    assert (y - y2).abs().max().item() < 1e-10 and torch.equal(conv_state, conv_state2)

    with open(out, "wb") as f:
        f.write(struct.pack("<5i", d_inner, d_xb, d_state, d_conv, L))
        for t in (zxbc, dt, conv_w, conv_b, dt_bias, a_log, D, y, conv_state[:, 1:].T.contiguous(), h):
            f.write(np.ascontiguousarray(t.numpy(), dtype="<f4").tobytes())
    print("wrote", out)


if __name__ == "__main__":
    main()
