"""The Triton gate kernels compiled on a CUDA device: parity first, then speed.

    python scripts/gpu_conv_check.py [--json out/triton_conv.json] [--quick]
    TRITON_INTERPRET=1 python scripts/gpu_conv_check.py --device cpu --quick --size 8 --samples 4
        # the script itself, in Triton's interpreter (its times mean nothing)

1. Parity (a red gate stops the script before any timing, exit 1): the compiled
   kernels (rnnkit.kernels.triton_conv) against their torch-ops twins on CUDA, and
   the step built on them against the cells' update functions (the oracle), on
   outputs and every gradient, float32 and float64, odd sizes and 3-D maps.
2. The gate update alone, forward and forward+backward, Triton vs torch ops,
   at B=8, 64x64 maps, F = 16 and 64 (CUDA events, medians of alternating rounds).
3. One ConvLSTM training epoch of a next-frame model (ConvLSTM(1 -> F, kernel k),
   a 1x1 head, MSE, Adam; T=10 frames of 64x64, batch 8), the input convolution
   hoisted over all steps as rnnkit's conv kernel does, the per-step gate update
   either in torch ops or in Triton; the same weights and data, and the two
   runs' losses compared before their times are reported.
Ratios are torch-ops time / Triton time from the same run (> 1: Triton faster).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from rnnkit.cells.conv_base import conv_param_shapes  # noqa: E402
from rnnkit.cells.conv_gru import conv_gru_update  # noqa: E402
from rnnkit.cells.conv_lstm import conv_lstm_input, conv_lstm_update  # noqa: E402
from rnnkit.kernels import triton_conv as tc  # noqa: E402
from rnnkit.kernels.triton_conv_torch import conv_gru_step_update, conv_lstm_step_update  # noqa: E402

DEV = torch.device("cuda")  # main() sets it from --device
TOL = {torch.float32: 2e-5, torch.float64: 1e-12}


def _max_err(got, want) -> float:
    """The largest |got − want| over the tensors, each scaled by max(1, its largest |want|)
    (a weight gradient sums over every position and sample)."""
    return max(float((a - b).detach().abs().max() / max(1.0, float(b.detach().abs().max()))) if a.numel() else 0.0
               for a, b in zip(got, want))


def _grads(out, leaves):
    out = out if isinstance(out, tuple) else (out,)
    w = [torch.linspace(-2, 1, o.numel(), dtype=o.dtype, device=o.device).view(o.shape)
         for o in out]
    return torch.autograd.grad(sum((o * k).sum() for o, k in zip(out, w)), leaves)


def _leaf(g, *shape, dtype):
    return (torch.randn(*shape, generator=g, dtype=dtype, device="cpu") * 1.5).to(DEV) \
        .requires_grad_()


def parity() -> list[dict]:
    """With TF32 off: the step's and the cell's convolutions differ in shape (one 3F
    convolution against 2F + F for the GRU), and TF32 would round them differently."""
    tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        return _parity()
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32


def _parity() -> list[dict]:
    rows = []
    g = torch.Generator().manual_seed(0)

    def row(name, dtype, got, want, leaves):
        err = max(_max_err(got, want), _max_err(_grads(got, leaves), _grads(want, leaves)))
        rows.append(dict(check=name, dtype=str(dtype), max_err=err, ok=err <= TOL[dtype]))

    for dtype in (torch.float32, torch.float64):
        for B, Fc, S in [(3, 1, (5, 7)), (2, 3, (4, 3, 2)), (8, 16, (64, 64)), (5, 7, (33, 29))]:
            pre, c = _leaf(g, B, 4 * Fc, *S, dtype=dtype), _leaf(g, B, Fc, *S, dtype=dtype)
            row(f"lstm_gates B={B} F={Fc} S={S}", dtype, tc.lstm_gates(pre, c),
                tc.lstm_gates_torch(pre, c), [pre, c])
            xg, hg = _leaf(g, B, 3 * Fc, *S, dtype=dtype), _leaf(g, B, 3 * Fc, *S, dtype=dtype)
            h = _leaf(g, B, Fc, *S, dtype=dtype)
            for ra in (True, False):
                row(f"gru_gates reset_after={ra} B={B} F={Fc} S={S}", dtype,
                    (tc.gru_gates(xg, hg, h, ra),), (tc.gru_gates_torch(xg, hg, h, ra),),
                    [xg, hg, h])
            row(f"gru_reset B={B} F={Fc} S={S}", dtype, (tc.gru_reset(xg, hg, h),),
                (tc.gru_reset_torch(xg, hg, h),), [xg, hg, h])
        # the step on the fused gates against the cells' own update
        for mode in ("conv_lstm", "conv_gru"):
            shapes = conv_param_shapes(mode, 2, 4, (3, 3), bias_hh=True)
            w = {n: (torch.randn(s, generator=g, dtype=dtype) * 0.4).to(DEV).requires_grad_()
                 for n, s in shapes.items()}
            G = 4 if mode == "conv_lstm" else 3
            gx, h = _leaf(g, 3, G * 4, 9, 10, dtype=dtype), _leaf(g, 3, 4, 9, 10, dtype=dtype)
            if mode == "conv_lstm":
                c = _leaf(g, 3, 4, 9, 10, dtype=dtype)
                leaves = [gx, h, c, w["weight_hh"], w["bias_hh"]]
                row("conv_lstm step vs cell", dtype,
                    conv_lstm_step_update(gx, h, c, w, gates=tc.lstm_gates),
                    conv_lstm_update(gx, h, c, w), leaves)
                continue
            leaves = [gx, h, w["weight_hh"], w["bias_hh"]]
            for ra in (True, False):
                row(f"conv_gru step reset_after={ra} vs cell", dtype,
                    (conv_gru_step_update(gx, h, w, reset_after=ra, gates=tc.gru_gates,
                                          reset=tc.gru_reset),),
                    (conv_gru_update(gx, h, w, reset_after=ra),), leaves)
    return rows


class _Clock:
    """Milliseconds between start() and stop(): CUDA events on CUDA, else wall time."""

    def start(self):
        if DEV.type == "cuda":
            self.a, self.b = (torch.cuda.Event(enable_timing=True) for _ in range(2))
            self.a.record()
        else:
            self.t = time.perf_counter()

    def stop(self) -> float:
        if DEV.type == "cuda":
            self.b.record()
            torch.cuda.synchronize()
            return self.a.elapsed_time(self.b)
        return (time.perf_counter() - self.t) * 1000


def _time(fn, reps: int) -> float:
    """Mean ms per call over ``reps`` calls."""
    clock = _Clock()
    clock.start()
    for _ in range(reps):
        fn()
    return clock.stop() / reps


def gate_timing(rounds: int, filters: list, size: int) -> list[dict]:
    rows = []
    for Fc in filters:
        pre = torch.randn(8, 4 * Fc, size, size, device=DEV, requires_grad=True)
        c = torch.randn(8, Fc, size, size, device=DEV, requires_grad=True)
        for what in ("forward", "forward+backward"):
            def run(fn):
                def call():
                    if what == "forward":
                        with torch.no_grad():
                            fn(pre, c)
                    else:
                        h, c_new = fn(pre, c)
                        torch.autograd.grad((h.sum() + c_new.sum()), (pre, c))
                return call
            peers = {"torch ops": run(tc.lstm_gates_torch), "triton": run(tc.lstm_gates)}
            for call in peers.values():  # warm-up (includes Triton's compilation)
                call()
            ms = {k: [] for k in peers}
            for _ in range(rounds):  # alternate the peers
                for k, call in peers.items():
                    ms[k].append(_time(call, 20 if DEV.type == "cuda" else 1))
            med = {k: statistics.median(v) for k, v in ms.items()}
            rows.append(dict(what=f"lstm_gates {what}", F=Fc, ms_torch=med["torch ops"],
                             ms_triton=med["triton"], ratio=med["torch ops"] / med["triton"]))
    return rows


def _epoch(gates, w, head, data, batch: int, seed: int) -> tuple[float, list]:
    """One training epoch; returns (seconds, per-batch losses)."""
    torch.manual_seed(seed)
    params = list(w.values()) + list(head.values())
    opt = torch.optim.Adam(params, lr=1e-3)
    losses = []
    clock = _Clock()
    clock.start()
    for i in range(0, data.shape[0], batch):
        seq = data[i:i + batch]  # (B, T+1, 1, H, W)
        x, y = seq[:, :-1], seq[:, 1:]
        B, T = x.shape[:2]
        gx_all = conv_lstm_input(x.reshape((B * T,) + x.shape[2:]), w, stride=(1, 1),
                                 padding="same", dilation=(1, 1))  # (B·T, 4F, H, W)
        gx_steps = gx_all.view((B, T) + gx_all.shape[1:]).unbind(1)
        h = c = x.new_zeros(B, w["weight_hh"].shape[1], *x.shape[3:])
        outs = []
        for t in range(T):
            h, c = conv_lstm_step_update(gx_steps[t], h, c, w, gates=gates)
            outs.append(h)
        hs = torch.stack(outs, 1).flatten(0, 1)  # (B·T, F, H, W)
        pred = F.conv2d(hs, head["w"], head["b"]).view_as(y)
        loss = F.mse_loss(pred, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.detach())
    return clock.stop() / 1000, [float(v) for v in losses]


def epoch_timing(rounds: int, filters: list, kernels: list, samples: int,
                 size: int) -> list[dict]:
    rows = []
    g = torch.Generator().manual_seed(1)
    data = torch.rand(samples, 11, 1, size, size, generator=g).to(DEV)
    for Fc in filters:
        for k in kernels:
            shapes = conv_param_shapes("conv_lstm", 1, Fc, (k, k), bias_hh=True)
            init = {n: torch.randn(s, generator=g) * 0.1 for n, s in shapes.items()}
            head0 = {"w": torch.randn(1, Fc, 1, 1, generator=g) * 0.1, "b": torch.zeros(1)}

            def fresh():
                return ({n: v.to(DEV, copy=True).requires_grad_() for n, v in init.items()},
                        {n: v.to(DEV, copy=True).requires_grad_() for n, v in head0.items()})
            peers = {"torch ops": tc.lstm_gates_torch, "triton": tc.lstm_gates}
            losses = {}
            for name, gates in peers.items():  # warm-up, and the losses to compare
                _, losses[name] = _epoch(gates, *fresh(), data, 8, seed=0)
            rel = max(abs(a - b) / max(abs(a), 1e-12)
                      for a, b in zip(losses["torch ops"], losses["triton"]))
            row = dict(F=Fc, k=k, loss_rel_diff=rel, ok=rel <= 1e-3)
            if row["ok"]:
                secs = {n: [] for n in peers}
                for _ in range(rounds):
                    for name, gates in peers.items():
                        secs[name].append(_epoch(gates, *fresh(), data, 8, seed=0)[0])
                med = {n: statistics.median(v) for n, v in secs.items()}
                row.update(s_torch=med["torch ops"], s_triton=med["triton"],
                           ratio=med["torch ops"] / med["triton"])
            rows.append(row)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", type=Path)
    p.add_argument("--quick", action="store_true", help="F=16, k=3 only, fewer rounds")
    p.add_argument("--samples", type=int, default=64, help="sequences per epoch (default 64)")
    p.add_argument("--size", type=int, default=64, help="frame side for the timings (default 64)")
    p.add_argument("--device", default="cuda",
                   help="cuda (default); cpu runs the script in Triton's interpreter, to test it")
    args = p.parse_args(argv)
    global DEV
    DEV = torch.device(args.device)
    if DEV.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: nothing checked")
        return 2
    why = tc.available(torch.zeros(1, device=DEV))
    if DEV.type == "cuda" and os.environ.get("TRITON_INTERPRET", "0") == "1":
        why = "TRITON_INTERPRET=1 is set: unset it to check the compiled kernels"
    if why:
        print(f"the Triton kernels cannot run here: {why}")
        return 2
    import triton
    device = torch.cuda.get_device_name(DEV) if DEV.type == "cuda" else "cpu (Triton's interpreter)"
    print(f"torch {torch.__version__}, triton {triton.__version__}, {device}")
    if DEV.type == "cpu":
        print("the interpreter runs each kernel in numpy: the times below test the script only")
    report = {"torch": torch.__version__, "triton": triton.__version__, "device": device}
    report["parity"] = rows = parity()
    bad = [r for r in rows if not r["ok"]]
    print(f"parity: {len(rows) - len(bad)}/{len(rows)} within tolerance "
          f"(float32 {TOL[torch.float32]}, float64 {TOL[torch.float64]})")
    for r in bad:
        print(f"  FAILED {r['check']} {r['dtype']}: max error {r['max_err']:.3g}")
    if bad:
        print("parity failed: no timing reported")
        return _write(args.json, report, 1)
    rounds = 3 if args.quick else 5
    filters, kernels = ([16], [3]) if args.quick else ([16, 64], [3, 5])
    report["gates"] = gate_timing(rounds, filters, args.size)
    print(f"\ngate update, B=8, {args.size}x{args.size} (ms per call; ratio = torch ops / triton):")
    for r in report["gates"]:
        print(f"  {r['what']:28s} F={r['F']:3d}  torch {r['ms_torch']:.4f}  "
              f"triton {r['ms_triton']:.4f}  ratio {r['ratio']:.2f}x")
    report["epochs"] = epoch_timing(rounds, filters, kernels, args.samples, args.size)
    print(f"\nConvLSTM training epoch, {args.samples} sequences, T=10, {args.size}x{args.size}, "
          "batch 8 "
          "(s; ratio = torch-ops gates / triton gates):")
    for r in report["epochs"]:
        if not r["ok"]:
            print(f"  F={r['F']} k={r['k']}: FAILED, losses differ by {r['loss_rel_diff']:.3g}")
            continue
        print(f"  F={r['F']:3d} k={r['k']}  torch {r['s_torch']:.3f}  triton {r['s_triton']:.3f}"
              f"  ratio {r['ratio']:.2f}x  (loss rel. diff {r['loss_rel_diff']:.1e})")
    failed = any(not r["ok"] for r in report["epochs"])
    return _write(args.json, report, 1 if failed else 0)


def _write(path, report, code: int) -> int:
    if path is not None:
        from rnnkit.util.atomic import atomic_path
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            Path(tmp).write_text(json.dumps(report, indent=1))
    return code


if __name__ == "__main__":
    sys.exit(main())
