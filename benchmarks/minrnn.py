"""minGRU / minLSTM (parallel scan) training time against rnnkit's GRU/LSTM and torch.nn's.

    python benchmarks/minrnn.py                       # T = 100, 1000, 4096; B=8, I=64, H=128
    python benchmarks/minrnn.py --T 100 1000 --batch 32 --json out.jsonl

What one timed call is: a training step's forward and backward (loss = Σ output ⊙ w)
of a one-layer, batch-first module on a (B, T, I) float32 batch. Before any time
is taken, each min* module's scan is checked against the reference step loop on
the same weights (on min(T, 1000) steps and min(B, 4) rows, to bound the loop's time): in float64 (must agree to 1e-10 relative to each tensor's size,
outputs and every gradient, or the row reports FAILED and no time), and the float32 scan's largest relative error
against the float64 loop is printed (the log-space scan loses precision as T grows).
Timing: a warm-up, then rounds that run every module once in turn; each module's
time is its median over rounds, and the ratio is against torch.nn.GRU in the same
rounds. Thread count and machine are printed; timings from a shared, loaded
machine are only comparable within one run.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

import rnnkit.nn as rnn
from rnnkit.tools.bench import machine

MODULES = {
    "rnnkit MinGRU (scan)": lambda I, H: rnn.MinGRU(I, H, batch_first=True),
    "rnnkit MinLSTM (scan)": lambda I, H: rnn.MinLSTM(I, H, batch_first=True),
    "rnnkit GRU (auto)": lambda I, H: rnn.GRU(I, H, batch_first=True),
    "rnnkit LSTM (auto)": lambda I, H: rnn.LSTM(I, H, batch_first=True),
    "torch.nn GRU": lambda I, H: torch.nn.GRU(I, H, batch_first=True),
    "torch.nn LSTM": lambda I, H: torch.nn.LSTM(I, H, batch_first=True),
}
BASE = "torch.nn GRU"


def _loss(out):
    w = torch.sin(torch.arange(out.numel(), dtype=out.dtype)).view(out.shape)
    return (out * w).sum()


def _train_step(m, x):
    out, _ = m(x)
    grads = torch.autograd.grad(_loss(out), [x, *m.parameters()])
    return out, grads


def parity(name: str, T: int, B: int, I: int, H: int) -> dict:
    """scan vs the reference step loop: float64 (the gate), and float32's drift."""
    cls = rnn.MinGRU if "MinGRU" in name else rnn.MinLSTM
    torch.manual_seed(0)
    scan64 = cls(I, H, batch_first=True).double()
    loop64 = cls(I, H, batch_first=True, backend="reference").double()
    loop64.load_state_dict(scan64.state_dict())
    x = torch.randn(B, T, I, dtype=torch.float64, requires_grad=True)
    (o1, g1), (o2, g2) = _train_step(scan64, x), _train_step(loop64, x)
    # scaled: |a − b| / max(1, |b|), so long sequences' large weight gradients are fair
    diff64 = max(((a - b).abs().max() / b.abs().max().clamp_min(1.0)).item()
                 for a, b in zip((o1, *g1), (o2, *g2)))
    scan32 = cls(I, H, batch_first=True)
    scan32.load_state_dict({k: v.float() for k, v in scan64.state_dict().items()})
    with torch.no_grad():
        o32, _ = scan32(x.detach().float())
    rel32 = ((o32.double() - o2.detach()).abs() / o2.detach().abs().clamp_min(1e-6)).max().item()
    return {"parity_f64_scaled": diff64, "f32_max_rel_vs_f64_loop": rel32,
            "ok": diff64 <= 1e-10}


def bench(T: int, B: int, I: int, H: int, rounds: int) -> list[dict]:
    torch.manual_seed(0)
    x = torch.randn(B, T, I, requires_grad=True)
    mods = {name: make(I, H) for name, make in MODULES.items()}
    checks = {name: parity(name, min(T, 1000), min(B, 4), I, H)
              for name in mods if "scan" in name}
    for name, m in mods.items():  # warm-up (and the native kernel's build)
        if checks.get(name, {"ok": True})["ok"]:
            _train_step(m, x)
    times: dict[str, list[float]] = {name: [] for name in mods}
    for _ in range(rounds):
        for name, m in mods.items():
            if not checks.get(name, {"ok": True})["ok"]:
                continue
            t0 = time.perf_counter()
            _train_step(m, x)
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times[BASE])
    rows = []
    for name in mods:
        row = {"T": T, "B": B, "I": I, "H": H, "module": name, **checks.get(name, {})}
        if times[name]:
            med = statistics.median(times[name])
            row.update(ms=med * 1e3, vs_torch_gru=base / med)
        rows.append(row)
    return rows


def fmt(row: dict) -> str:
    head = f"T={row['T']:5d} {row['module']:24}"
    if "ms" not in row:
        return f"{head} FAILED parity (f64 diff {row['parity_f64_scaled']:.1e}): not timed"
    s = f"{head} {row['ms']:10.1f} ms  {row['vs_torch_gru']:5.2f}x torch.nn GRU's speed"
    if "parity_f64_scaled" in row:
        s += (f"   parity f64 {row['parity_f64_scaled']:.1e}, "
              f"f32 rel. error {row['f32_max_rel_vs_f64_loop']:.1e}")
    return s


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--T", nargs="+", type=int, default=[100, 1000, 4096])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--input", type=int, default=64)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: on a shared, loaded machine two threads "
                        "spin against other processes and time the contention)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(machine())
    print("one training step (forward + backward), float32, batch-first, 1 layer; "
          "median over rounds")
    rows = []
    for T in args.T:
        for row in bench(T, args.batch, args.input, args.hidden, args.rounds):
            print(fmt(row), flush=True)
            rows.append(row)
    if args.json:
        with args.json.open("a") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
    return 0 if all(r.get("ok", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
