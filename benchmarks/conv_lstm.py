"""ConvLSTM: rnnkit's conv kernel vs a per-step PyTorch ConvLSTM module, parity first.

    python benchmarks/conv_lstm.py                       # CPU, 2 threads, the issue's grid
    python benchmarks/conv_lstm.py --device cuda --threads 16
    python benchmarks/conv_lstm.py --quick               # one small workload (a smoke run)

Training: one epoch (``--samples`` sequences of T=10 frames, 64x64, one input
channel, batch 8) of a next-frame model: ConvLSTM(1 -> F, kernel k) + a 1x1
convolution head, MSE, Adam. Peers, each built with the same weights:

- ``per-step``: the module people write (one ``conv2d`` over the concatenated
  [x, h] per step, four gates split from it), as in most public ConvLSTMs;
- ``rnnkit``: ``rnnkit.nn.ConvLSTM`` under backend="auto" (on the CPU the
  ``conv-cpu`` kernel: native fused gates, hand-written backward);
- ``conv``: rnnkit's ``conv`` kernel (the same hoisting, gates and backward in
  torch ops), the previous fast path;
- ``flipped``: rnnkit under "auto" with the other memory format than its own
  choice (channels-last or not: ``channels_last_for`` in
  rnnkit/kernels/conv_recurrent.py), which is how those choices are made;
- ``keras-jax``: Keras 3's ConvLSTM2D on JAX, jit-compiled, in its own process
  (benchmarks/conv_lstm_keras_jax.py) run by ``--keras-jax-python`` (or
  $RNNKIT_KERAS_JAX_PYTHON), a Python with ``rnnkit[bench]``'s keras and jax;
  compile time is excluded from its epochs and frames and reported apart.

Before timing, each workload checks that every rnnkit peer gives the per-step
module's loss and weight gradients (float64, 1e-9), and that Keras-JAX gives its
float32 loss under the same weights (rtol 1e-4); a peer that fails is reported
FAILED with no ratio. Timing: a warm-up, then rounds that alternate all peers
(Keras-JAX included: its process waits for a command each round); ratios are
medians of per-round ratios (per-step time / peer time, so > 1 means faster than
the per-step module). Inference: per frame at B=1 for a streaming video (T=1
calls that carry the state), ``torch.no_grad``. The load average is printed at
the start and the end: on a shared machine it says how far to trust the numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
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
    def __init__(self, filters: int, k: int, backend: str, flipped: bool = False):
        super().__init__()
        self.rnn = rnn.ConvLSTM(1, filters, k, batch_first=True, backend=backend)
        self.filters, self.flipped = filters, flipped  # flipped: the other memory format

    def forward(self, x, state=None):
        hx = None if state is None else tuple(s.unsqueeze(0) for s in state)
        if not self.flipped:
            out, (h, c) = self.rnn(x, hx)
        else:  # the other layout than the kernel's choice (the joint form when training)
            own = conv_recurrent.channels_last_for(x.device.type, self.filters, 2,
                                                   torch.is_grad_enabled(), joint=True)
            conv_recurrent.FORCE_CHANNELS_LAST = not own
            try:
                out, (h, c) = self.rnn(x, hx)
            finally:
                conv_recurrent.FORCE_CHANNELS_LAST = None
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


TORCH_PEERS = ("per-step", "rnnkit", "conv", "flipped")


def make_models(filters, k, device, dtype, with_reference=False):
    torch.manual_seed(0)
    base = PerStepConvLSTM(1, filters, k).to(device, dtype)
    peers = {"per-step": base}
    rnnkit_peers = [("rnnkit", "auto", False), ("conv", "conv", False), ("flipped", "auto", True)]
    if with_reference:
        rnnkit_peers.append(("reference", "reference", None))
    for name, backend, flipped in rnnkit_peers:
        m = Ours(filters, k, backend, flipped).to(device, dtype)
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
    peers, heads = make_models(filters, k, device, torch.float64, with_reference=True)
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


def time_convs_only(filters, k, data, batch, device) -> float:
    """The convolutions alone of rnnkit's training path for the same epoch (conv-cpu's
    joint form, kernels/conv_joint.py ConvLSTMJointSeq, in its memory format): per batch
    and step one forward convolution of [X_t, H_{t-1}] and one input gradient, and one
    weight-gradient call over all steps, on random maps of the same shapes. The per-step
    module's time / this time is the ceiling of any kernel that runs these convolutions
    (oneDNN's, same threads): the speed-up it would reach if the gates, the head, the loss
    and the optimizer cost nothing."""
    cl = conv_recurrent.channels_last_for(device.type, filters, 2, grad=True, joint=True)
    fmt = torch.channels_last if cl else torch.contiguous_format
    T, p = data.shape[1] - 1, k // 2  # loss_of feeds frames 0..T-1
    g = torch.Generator().manual_seed(2)
    w_x, w_h = (torch.randn(4 * filters, c, k, k, generator=g).to(device) for c in (1, filters))
    w = torch.cat([w_x, w_h], dim=1)  # as the kernel builds it (conv_fused.run)
    bias = torch.zeros(4 * filters, device=device)
    bwd = torch.ops.aten.convolution_backward
    maps = {}  # per batch size: (T·B, 1 + F, *S) inputs, (T·B, 4F, *S) gate gradients
    for B in {min(batch, len(data) - i) for i in range(0, len(data), batch)}:
        maps[B] = tuple(torch.rand(T * B, c, *data.shape[3:], generator=g).to(device)
                        .contiguous(memory_format=fmt) for c in (1 + filters, 4 * filters))
    sync(device)
    t0 = time.perf_counter()
    for i in range(0, len(data), batch):
        B = min(batch, len(data) - i)
        xh, dy = maps[B]
        for t in range(T):
            F.conv2d(xh[t * B:(t + 1) * B], w, bias, padding=p)
        for t in range(1, T):
            bwd(dy[t * B:(t + 1) * B], xh[t * B:(t + 1) * B], w, None, (1, 1), (p, p), (1, 1),
                False, (0, 0), 1, [True, False, False])
        bwd(dy, xh, w, [4 * filters], (1, 1), (p, p), (1, 1), False, (0, 0), 1,
            [False, True, True])  # weight and bias gradients, one call
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


class KerasJax:
    """The Keras-JAX peer's process (benchmarks/conv_lstm_keras_jax.py): started per
    workload, it compiles, reports its loss and compile times, then runs one epoch or
    one streamed clip per command, so that its rounds alternate with the torch peers'."""

    def __init__(self, python: str, base: PerStepConvLSTM, head: nn.Conv2d, data, stream,
                 args, filters: int, k: int):
        import numpy as np  # only for this peer's workload file

        w = base.conv.weight.detach().cpu()  # (4F, 1 + F, k, k); Keras: (k, k, in, 4F)
        arrays = {
            "kernel": w[:, :1].permute(2, 3, 1, 0), "recurrent_kernel": w[:, 1:].permute(2, 3, 1, 0),
            "bias": base.conv.bias.detach().cpu(),
            "head_kernel": head.weight.detach().cpu().permute(2, 3, 1, 0),
            "head_bias": head.bias.detach().cpu(),
            "data": data.cpu().permute(0, 1, 3, 4, 2), "stream": stream.cpu().permute(0, 1, 3, 4, 2)}
        self.dir = tempfile.TemporaryDirectory()
        path = Path(self.dir.name) / "workload.npz"
        np.savez(path, filters=filters, kernel_size=k, batch=args.batch,
                 **{n: a.float().contiguous().numpy() for n, a in arrays.items()})
        script = Path(__file__).with_name("conv_lstm_keras_jax.py")
        env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
        self.proc = subprocess.Popen([python, str(script), str(path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env)
        self.info = self._read()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read().strip().splitlines()
            raise RuntimeError("the Keras-JAX process ended: " + " | ".join(err[-3:]))
        return json.loads(line)

    def ask(self, cmd: str) -> float:
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self._read()[cmd]

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=60)
        self.dir.cleanup()


def run(filters, k, args, device) -> dict:
    row = {"filters": filters, "kernel": k, "device": str(device), "size": args.size,
           "threads": torch.get_num_threads(), "load_before": os.getloadavg()[0]}
    why = parity(filters, k, device)
    if why is not None:
        row["status"] = f"FAILED parity: {why}"
        return row
    peers, heads = make_models(filters, k, device, torch.float32)
    g = torch.Generator().manual_seed(0)
    data = torch.rand(args.samples, 10, 1, args.size, args.size, generator=g).to(device)
    stream = torch.rand(1, args.frames, 1, args.size, args.size, generator=g).to(device)
    keras = None
    if args.keras_jax_python:
        try:
            keras = KerasJax(args.keras_jax_python, peers["per-step"], heads["per-step"], data,
                             stream, args, filters, k)
        except (OSError, RuntimeError, ValueError) as e:
            row["keras_jax"] = f"not run: {e}"
        else:
            with torch.no_grad():
                want = float(loss_of(peers["per-step"], heads["per-step"], data[:2]))
            got = keras.info["loss"]
            row.update({f"keras_{n}": v for n, v in keras.info.items() if n != "loss"})
            if abs(got - want) > 1e-4 * abs(want):
                row["keras_jax"] = f"FAILED parity: loss {got:.6g} vs per-step {want:.6g}"
                keras.close()
                keras = None
    for name in peers:  # warm-up
        time_epoch(peers[name], heads[name], data[:args.batch], args.batch, device)
        time_streaming(peers[name], stream[:, :2], device)
    names = list(peers) + (["keras-jax"] if keras else [])
    train = {n: [] for n in names}
    convs_only = []
    infer = {n: [] for n in names}
    try:
        for _ in range(args.rounds):
            for name in peers:
                train[name].append(time_epoch(peers[name], heads[name], data, args.batch, device))
                infer[name].append(time_streaming(peers[name], stream, device))
            convs_only.append(time_convs_only(filters, k, data, args.batch, device))
            if keras:
                train["keras-jax"].append(keras.ask("train"))
                infer["keras-jax"].append(keras.ask("stream"))
    finally:
        if keras:
            keras.close()
    row["status"] = "ok"
    row["load_after"] = os.getloadavg()[0]
    for name in names:
        row[f"train_s_{name}"] = statistics.median(train[name])
        row[f"frame_ms_{name}"] = 1e3 * statistics.median(infer[name])
        row[f"train_x_{name}"] = statistics.median(
            a / b for a, b in zip(train["per-step"], train[name]))
        row[f"frame_x_{name}"] = statistics.median(
            a / b for a, b in zip(infer["per-step"], infer[name]))
    row["train_s_convs_only"] = statistics.median(convs_only)
    row["train_x_ceiling"] = statistics.median(
        a / b for a, b in zip(train["per-step"], convs_only))
    if keras:  # Keras-JAX's time / rnnkit's, per round: > 1 means rnnkit is faster
        row["train_rnnkit_vs_keras"] = statistics.median(
            a / b for a, b in zip(train["keras-jax"], train["rnnkit"]))
        row["frame_rnnkit_vs_keras"] = statistics.median(
            a / b for a, b in zip(infer["keras-jax"], infer["rnnkit"]))
    return row


def _print_row(r: dict) -> None:
    f, k = r["filters"], r["kernel"]
    if r["status"] != "ok":
        print(f"{f:>3} {k:>2} | {r['status']}")
        return
    kj = (f"{r['train_s_keras-jax']:>9.2f} {r['train_rnnkit_vs_keras']:>6.2f}x"
          if "train_s_keras-jax" in r else f"{'-':>9} {'-':>7}")
    kf = f"{r['frame_ms_keras-jax']:>8.1f}" if "frame_ms_keras-jax" in r else f"{'-':>8}"
    print(f"{f:>3} {k:>2} | {r['train_s_per-step']:>10.2f} {r['train_s_rnnkit']:>7.2f} "
          f"{r['train_x_rnnkit']:>7.2f}x {r['train_x_ceiling']:>7.2f}x "
          f"{r['train_x_conv']:>6.2f}x {r['train_x_flipped']:>7.2f}x "
          f"{kj} | {r['frame_ms_per-step']:>8.1f} {r['frame_ms_rnnkit']:>7.1f} "
          f"{r['frame_x_rnnkit']:>7.2f}x {kf} | {r['load_before']:.1f}-{r['load_after']:.1f}",
          flush=True)
    if "keras_jax" in r:
        print(f"       Keras-JAX: {r['keras_jax']}")


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
    p.add_argument("--keras-jax-python", default=os.environ.get("RNNKIT_KERAS_JAX_PYTHON"),
                   help="a Python with keras and jax (rnnkit[bench]) for the Keras-JAX peer")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        args.filters, args.kernels, args.size, args.samples, args.rounds = [8], [3], 32, 8, 1
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"torch {torch.__version__} | {name} | threads {torch.get_num_threads()} | "
          f"{args.samples} sequences x 10 frames of {args.size}x{args.size}, batch {args.batch}")
    if not args.keras_jax_python:
        print("Keras-JAX peer: skipped (give --keras-jax-python, a Python with "
              "'rnnkit[bench]' installed)")
    print(f"load average {os.getloadavg()[0]:.1f} | speed-up = per-step time / peer time; "
          "vs Keras = Keras-JAX time / rnnkit time")
    print("ceiling = per-step time / the time of rnnkit's convolutions alone (time_convs_only)")
    head = (f"{'F':>3} {'k':>2} | {'per-step s':>10} {'rnnkit':>7} {'speed-up':>8} "
            f"{'ceiling':>8} {'conv':>7} "
            f"{'flipped':>8} {'keras-jax':>9} {'vs Keras':>7} | {'frame ms':>8} {'rnnkit':>7} "
            f"{'speed-up':>8} {'keras':>8} | load")
    print(head + "\n" + "-" * len(head))
    rows = []
    for filters in args.filters:
        for k in args.kernels:
            r = run(filters, k, args, device)
            rows.append(r)
            _print_row(r)
            if "keras_versions" in r:
                print(f"       Keras-JAX {r['keras_versions']}: compile {r['keras_compile_train_s']:.1f} s "
                      f"(training), {r['keras_compile_stream_s']:.1f} s (streaming), excluded")
    if args.json:
        tmp = args.json.with_suffix(args.json.suffix + ".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        tmp.replace(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
