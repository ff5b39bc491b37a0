"""ConvLSTM: rnnkit's conv kernel vs a per-step PyTorch ConvLSTM module, parity first.

    python benchmarks/conv_lstm.py                       # CPU, 2 threads, the issue's grid
    python benchmarks/conv_lstm.py --device cuda --threads 16
    python benchmarks/conv_lstm.py --quick               # one small workload (a smoke run)

Training: one epoch (``--samples`` sequences of T=10 frames, 64x64, one input
channel, batch 8) of a next-frame model: ConvLSTM(1 -> F, kernel k) + a 1x1
convolution head, MSE, Adam. Peers, each built with the same weights:

- ``per-step``: the module people write (one ``conv2d`` over the concatenated
  [x, h] per step, four gates split from it), as in most public ConvLSTMs;
- ``reference``: rnnkit's plain loop (one input convolution per step);
- ``rnnkit``: ``rnnkit.nn.ConvLSTM`` under backend="auto" (the ``conv`` kernel:
  the input convolution of all steps hoisted into one batched convolution);
- ``rnnkit-flipped``: the same with the other memory format (channels-last or
  not, see ``CHANNELS_LAST`` in rnnkit/kernels/conv_recurrent.py), which is how
  that table's entries were chosen.

Before timing, each workload checks that every peer gives the per-step module's
outputs and gradients (float64, 1e-9); a workload that fails is reported FAILED
with no ratio. Timing: a warm-up, then rounds that alternate the peers in one
process; ratios are medians of per-round ratios (per-step time / peer time, so
> 1 means faster than the per-step module). Inference: per frame at B=1 for a
streaming video (T=1 calls that carry the state), ``torch.no_grad``.
Keras 3's ConvLSTM2D on JAX is a peer only where jax is installed (``[bench]``
extra); where it is not, the table says so.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
import rnnkit.nn as rnn  # noqa: E402
from rnnkit.kernels import conv_recurrent  # noqa: E402


class PerStepConvLSTM(nn.Module):
    """A ConvLSTM as usually written: one conv2d over cat([x, h]) per step."""

    def __init__(self, c_in: int, filters: int, k: int):
        super().__init__()
        self.filters = filters
        self.conv = nn.Conv2d(c_in + filters, 4 * filters, k, padding=k // 2)

    def forward(self, x, state=None):  # x (B, T, C, H, W)
        B, T, _, H, W = x.shape
        h, c = state if state is not None else (x.new_zeros(B, self.filters, H, W),) * 2
        outs = []
        for t in range(T):
            i, f, g, o = self.conv(torch.cat([x[:, t], h], dim=1)).chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        return torch.stack(outs, dim=1), (h, c)


class Ours(nn.Module):
    def __init__(self, filters: int, k: int, backend: str, channels_last=None):
        super().__init__()
        self.rnn = rnn.ConvLSTM(1, filters, k, batch_first=True, backend=backend)
        self.channels_last = channels_last  # None: the kernel's own choice

    def forward(self, x, state=None):
        hx = None if state is None else tuple(s.unsqueeze(0) for s in state)
        if self.channels_last is None:
            out, (h, c) = self.rnn(x, hx)
        else:  # the other memory format, to measure the kernel's choice
            saved = dict(conv_recurrent.CHANNELS_LAST)
            conv_recurrent.CHANNELS_LAST[x.device.type] = self.channels_last
            try:
                out, (h, c) = self.rnn(x, hx)
            finally:
                conv_recurrent.CHANNELS_LAST.update(saved)
        return out, (h[0], c[0])


def copy_weights(src: PerStepConvLSTM, dst: Ours) -> None:
    F_ = src.filters
    with torch.no_grad():
        w = src.conv.weight  # (4F, 1 + F, k, k)
        dst.rnn.weight_ih_l0.copy_(w[:, :1])
        dst.rnn.weight_hh_l0.copy_(w[:, 1:])
        dst.rnn.bias_ih_l0.copy_(src.conv.bias)
        dst.rnn.bias_hh_l0.zero_()
    assert dst.rnn.weight_hh_l0.shape[1] == F_


def make_models(filters, k, device, dtype):
    torch.manual_seed(0)
    base = PerStepConvLSTM(1, filters, k).to(device, dtype)
    peers = {"per-step": base}
    flip = not conv_recurrent.CHANNELS_LAST.get(device.type, False)
    for name, backend, cl in (("reference", "reference", None), ("rnnkit", "auto", None),
                              ("rnnkit-flipped", "auto", flip)):
        m = Ours(filters, k, backend, cl).to(device, dtype)
        copy_weights(base, m)
        peers[name] = m
    heads = {}
    for name in peers:
        torch.manual_seed(1)
        heads[name] = nn.Conv2d(filters, 1, 1).to(device, dtype)
    return peers, heads


def loss_of(model, head, x):
    out, _ = model(x[:, :-1])  # (B, T-1, F, H, W)
    B, T = out.shape[:2]
    pred = head(out.flatten(0, 1)).view(B, T, 1, *out.shape[3:])
    return F.mse_loss(pred, x[:, 1:])


def parity(filters, k, device) -> str | None:
    """None if every peer matches the per-step module (outputs, input and weight grads)."""
    peers, heads = make_models(filters, k, device, torch.float64)
    x = torch.rand(2, 4, 1, 12, 12, device=device, dtype=torch.float64)
    ref = None
    for name, m in peers.items():
        loss = loss_of(m, heads[name], x)
        ws = ([m.conv.weight] if name == "per-step" else [m.rnn.weight_ih_l0, m.rnn.weight_hh_l0])
        grads = torch.autograd.grad(loss, ws)
        g = grads[0] if name == "per-step" else torch.cat(grads, dim=1)
        if ref is None:
            ref = (loss.detach(), g)
            continue
        if not (torch.allclose(loss, ref[0], atol=1e-9, rtol=1e-9)
                and torch.allclose(g, ref[1], atol=1e-9, rtol=1e-9)):
            return f"{name} differs from per-step: loss {float(loss - ref[0]):.2e}"
    return None


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_epoch(model, head, data, batch, device) -> float:
    opt = torch.optim.Adam(list(model.parameters()) + list(head.parameters()), 1e-3)
    sync(device)
    t0 = time.perf_counter()
    for i in range(0, len(data), batch):
        opt.zero_grad(set_to_none=True)
        loss_of(model, head, data[i:i + batch]).backward()
        opt.step()
    sync(device)
    return time.perf_counter() - t0


@torch.no_grad()
def time_streaming(model, frames, device) -> float:
    """Seconds per frame at B=1, state carried between T=1 calls."""
    state = None
    sync(device)
    t0 = time.perf_counter()
    for t in range(frames.shape[1]):
        _, state = model(frames[:, t:t + 1], state)
    sync(device)
    return (time.perf_counter() - t0) / frames.shape[1]


def run(filters, k, args, device) -> dict:
    row = {"filters": filters, "kernel": k, "device": str(device), "size": args.size,
           "threads": torch.get_num_threads()}
    why = parity(filters, k, device)
    if why is not None:
        row["status"] = f"FAILED parity: {why}"
        return row
    peers, heads = make_models(filters, k, device, torch.float32)
    g = torch.Generator().manual_seed(0)
    data = torch.rand(args.samples, 10, 1, args.size, args.size, generator=g).to(device)
    stream = torch.rand(1, args.frames, 1, args.size, args.size, generator=g).to(device)
    for name in peers:  # warm-up
        time_epoch(peers[name], heads[name], data[:args.batch], args.batch, device)
        time_streaming(peers[name], stream[:, :2], device)
    train = {n: [] for n in peers}
    infer = {n: [] for n in peers}
    for _ in range(args.rounds):
        for name in peers:
            train[name].append(time_epoch(peers[name], heads[name], data, args.batch, device))
            infer[name].append(time_streaming(peers[name], stream, device))
    row["status"] = "ok"
    for name in peers:
        row[f"train_s_{name}"] = statistics.median(train[name])
        row[f"frame_ms_{name}"] = 1e3 * statistics.median(infer[name])
        row[f"train_x_{name}"] = statistics.median(
            a / b for a, b in zip(train["per-step"], train[name]))
        row[f"frame_x_{name}"] = statistics.median(
            a / b for a, b in zip(infer["per-step"], infer[name]))
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--filters", nargs="+", type=int, default=[16, 64])
    p.add_argument("--kernels", nargs="+", type=int, default=[3, 5])
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--samples", type=int, default=32, help="sequences per epoch (default 32)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--frames", type=int, default=20, help="streamed frames at B=1")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="one small workload")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        args.filters, args.kernels, args.size, args.samples, args.rounds = [8], [3], 32, 8, 1
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"torch {torch.__version__} | {name} | threads {torch.get_num_threads()} | "
          f"{args.samples} sequences x 10 frames of {args.size}x{args.size}, batch {args.batch}")
    if importlib.util.find_spec("jax") is None:
        print("Keras-JAX peer: skipped, jax is not installed (pip install 'rnnkit[bench]')")
    head = (f"{'F':>3} {'k':>2} | {'per-step s':>10} {'reference':>10} {'rnnkit':>10} "
            f"{'speed-up':>8} {'flipped':>8} | {'frame ms per-step':>17} {'rnnkit':>7} "
            f"{'speed-up':>8}")
    print(head + "\n" + "-" * len(head))
    rows = []
    for filters in args.filters:
        for k in args.kernels:
            r = run(filters, k, args, device)
            rows.append(r)
            if r["status"] != "ok":
                print(f"{filters:>3} {k:>2} | {r['status']}")
                continue
            print(f"{filters:>3} {k:>2} | {r['train_s_per-step']:>10.3f} "
                  f"{r['train_s_reference']:>10.3f} {r['train_s_rnnkit']:>10.3f} "
                  f"{r['train_x_rnnkit']:>7.2f}x {r['train_x_rnnkit-flipped']:>7.2f}x | "
                  f"{r['frame_ms_per-step']:>17.2f} "
                  f"{r['frame_ms_rnnkit']:>7.2f} {r['frame_x_rnnkit']:>7.2f}x", flush=True)
    if args.json:
        tmp = args.json.with_suffix(args.json.suffix + ".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        tmp.replace(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
