"""ConvLSTM with peepholes (Shi et al. 2015): rnnkit's conv-cpu kernel vs a per-step PyTorch
module with the same peephole terms, parity first. The workload of benchmarks/conv_lstm.py
(8 videos x 10 frames, batch 8, ConvLSTM(1 -> F) + a 1x1 head, MSE, Adam; streaming per
frame at B=1); peephole weights are per position, so each frame size gets its own models.

    python benchmarks/conv_lstm_peephole.py               # 64x64, F=16/64, k=3/5, 2 threads

Speed-up = the per-step module's time / rnnkit's, medians of per-round ratios (rounds
alternate the peers). Before timing, rnnkit's loss and weight gradients (input, recurrent
and the three peephole weights) must equal the module's in float64 (1e-9); a workload that
fails is reported FAILED with no ratio.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import conv_lstm as bench  # noqa: E402  (epoch, streaming and loss of the main benchmark)
import rnnkit.nn as rnn  # noqa: E402


class PerStepPeepholeConvLSTM(nn.Module):
    """One conv2d over cat([x, h]) per step, plus the per-position peephole terms."""

    def __init__(self, c_in: int, filters: int, k: int, size: int):
        super().__init__()
        self.filters = filters
        self.conv = nn.Conv2d(c_in + filters, 4 * filters, k, padding=k // 2)
        self.w_ci, self.w_cf, self.w_co = (nn.Parameter(0.1 * torch.randn(filters, size, size))
                                           for _ in range(3))

    def forward(self, x, state=None):  # x (B, T, C, H, W)
        B, T, _, H, W = x.shape
        h, c = state if state is not None else (x.new_zeros(B, self.filters, H, W),) * 2
        outs = []
        for t in range(T):
            a_i, a_f, a_g, a_o = self.conv(torch.cat([x[:, t], h], dim=1)).chunk(4, dim=1)
            i = torch.sigmoid(a_i + self.w_ci * c)
            f = torch.sigmoid(a_f + self.w_cf * c)
            c = f * c + i * torch.tanh(a_g)
            h = torch.sigmoid(a_o + self.w_co * c) * torch.tanh(c)
            outs.append(h)
        return torch.stack(outs, dim=1), (h, c)


class Ours(nn.Module):
    def __init__(self, filters: int, k: int, size: int):
        super().__init__()
        self.rnn = rnn.ConvLSTM(1, filters, k, batch_first=True, peephole=True,
                                state_size=(size, size))

    def forward(self, x, state=None):
        hx = None if state is None else tuple(s.unsqueeze(0) for s in state)
        out, (h, c) = self.rnn(x, hx)
        return out, (h[0], c[0])


def make_models(filters, k, size, dtype):
    torch.manual_seed(0)
    base = PerStepPeepholeConvLSTM(1, filters, k, size).to(dtype)
    ours = Ours(filters, k, size).to(dtype)
    with torch.no_grad():
        ours.rnn.weight_ih_l0.copy_(base.conv.weight[:, :1])
        ours.rnn.weight_hh_l0.copy_(base.conv.weight[:, 1:])
        ours.rnn.bias_ih_l0.copy_(base.conv.bias)
        ours.rnn.bias_hh_l0.zero_()
        for name in ("ci", "cf", "co"):
            getattr(ours.rnn, f"weight_{name}_l0").copy_(getattr(base, f"w_{name}"))
    heads = []
    for _ in range(2):
        torch.manual_seed(1)
        heads.append(nn.Conv2d(filters, 1, 1).to(dtype))
    return {"per-step": (base, heads[0]), "rnnkit": (ours, heads[1])}


def _grads(model, head, x, names):
    loss = bench.loss_of(model, head, x)
    params = dict(model.named_parameters())
    return loss.detach(), torch.autograd.grad(loss, [params[n] for n in names])


def parity(filters, k) -> str | None:
    peers = make_models(filters, k, 12, torch.float64)
    x = torch.rand(2, 4, 1, 12, 12, dtype=torch.float64)
    base, bh = peers["per-step"]
    ours, oh = peers["rnnkit"]
    l1, (gw, *gp) = _grads(base, bh, x, ["conv.weight", "w_ci", "w_cf", "w_co"])
    l2, (gi, gh, *gq) = _grads(ours, oh, x, ["rnn.weight_ih_l0", "rnn.weight_hh_l0",
                                            "rnn.weight_ci_l0", "rnn.weight_cf_l0",
                                            "rnn.weight_co_l0"])
    if ours.rnn.last_choice.kernel != "conv-cpu":
        return f"rnnkit ran {ours.rnn.last_choice.kernel}, not conv-cpu"
    for a, b in zip((l2, torch.cat([gi, gh], dim=1), *gq), (l1, gw, *gp)):
        if not torch.allclose(a, b, atol=1e-9, rtol=1e-9):
            return f"differs from the per-step module by {float((a - b).abs().max()):.2e}"
    return None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--filters", nargs="+", type=int, default=[16, 64])
    p.add_argument("--kernels", nargs="+", type=int, default=[3, 5])
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--samples", type=int, default=8)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cpu = torch.device("cpu")
    print(f"torch {torch.__version__} | CPU | threads {torch.get_num_threads()} | peepholes | "
          f"{args.samples} sequences x 10 frames of {args.size}x{args.size}, batch {args.batch}")
    print(f"load average {os.getloadavg()[0]:.1f} | speed-up = per-step time / rnnkit time")
    print(f"{'F':>3} {'k':>2} | {'per-step s':>10} {'rnnkit':>7} {'speed-up':>8} | "
          f"{'frame ms':>8} {'rnnkit':>7} {'speed-up':>8} | load")
    for filters in args.filters:
        for k in args.kernels:
            load0 = os.getloadavg()[0]
            why = parity(filters, k)
            if why is not None:
                print(f"{filters:>3} {k:>2} | FAILED parity: {why}")
                continue
            peers = make_models(filters, k, args.size, torch.float32)
            g = torch.Generator().manual_seed(0)
            data = torch.rand(args.samples, 10, 1, args.size, args.size, generator=g)
            stream = torch.rand(1, args.frames, 1, args.size, args.size, generator=g)
            train = {n: [] for n in peers}
            infer = {n: [] for n in peers}
            for name, (m, h) in peers.items():  # warm-up
                bench.time_epoch(m, h, data[:args.batch], args.batch, cpu)
                bench.time_streaming(m, stream[:, :2], cpu)
            for _ in range(args.rounds):
                for name, (m, h) in peers.items():
                    train[name].append(bench.time_epoch(m, h, data, args.batch, cpu))
                    infer[name].append(bench.time_streaming(m, stream, cpu))
            tx = statistics.median(a / b for a, b in zip(train["per-step"], train["rnnkit"]))
            fx = statistics.median(a / b for a, b in zip(infer["per-step"], infer["rnnkit"]))
            print(f"{filters:>3} {k:>2} | {statistics.median(train['per-step']):>10.2f} "
                  f"{statistics.median(train['rnnkit']):>7.2f} {tx:>7.2f}x | "
                  f"{1e3 * statistics.median(infer['per-step']):>8.1f} "
                  f"{1e3 * statistics.median(infer['rnnkit']):>7.1f} {fx:>7.2f}x | "
                  f"{load0:.1f}-{os.getloadavg()[0]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
