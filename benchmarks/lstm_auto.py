"""Where rnnkit's native LSTM beats torch.nn's (oneDNN) LSTM on this CPU: the evidence
behind ``backend="auto"``'s plain-LSTM rule (``rnnkit.kernels.cpu.kernel.yields``).

    python benchmarks/lstm_auto.py                        # 1 and 2 threads, B x H grid
    python benchmarks/lstm_auto.py --threads 2 --batch 1 8 --hidden 128 --json out.jsonl

For each point: parity of rnnkit.nn.LSTM(backend="cpu") against torch.nn.LSTM on the
same weights (outputs, and in training the gradients of x and every weight), then
alternating timed rounds in one process; the ratio is the median of the per-round
torch.nn time / native time (above 1 = the native kernel is faster). A point whose
parity fails reports no ratio. Timing protocol: :func:`rnnkit.tools.bench.measure`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from rnnkit.tools.bench import (Pair, Workload, _flops, _torch_call, machine, max_diff, measure,
                                register)


@register("native_lstm")
def native_lstm(w: Workload) -> Pair:
    """rnnkit.nn.LSTM forced onto the native kernel vs torch.nn.LSTM, same weights."""
    import rnnkit.nn as rnn_nn

    torch.manual_seed(0)
    ref = torch.nn.LSTM(w.in_size, w.H).train(w.training)
    mine = rnn_nn.LSTM(w.in_size, w.H, backend="cpu").train(w.training)
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(w.T, w.B, w.in_size, requires_grad=w.training)
    g = torch.randn(w.T, w.B, w.H)
    p_mine, p_ref = list(mine.parameters()), list(ref.parameters())

    def run_mine():
        if not w.training:
            with torch.no_grad():
                return mine(x)[0]
        return torch.autograd.grad(mine(x)[0], [x, *p_mine], g)

    def run_ref():
        return _torch_call(ref, x, g, p_ref, w.training)

    return Pair(run_mine, run_ref, lambda: max_diff(run_mine(), run_ref()), tolerance=2e-5,
                flops=_flops(w), kernel="cpu")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", nargs="+", type=int, default=[2, 1])
    p.add_argument("--batch", nargs="+", type=int, default=[1, 8, 32])
    p.add_argument("--hidden", nargs="+", type=int, default=[64, 128, 256, 512])
    p.add_argument("--T", type=int, default=100)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--budget", type=float, default=1.0, help="seconds of timing per point")
    p.add_argument("--json", type=Path, help="also write one JSON object per line here")
    args = p.parse_args(argv)
    rows = []
    for n in args.threads:
        torch.set_num_threads(n)
        print(machine())
        print(f"{'threads':>7} {'mode':>5} {'B':>4} {'H':>4} {'native µs/step':>14} "
              f"{'torch µs/step':>13} {'torch/native':>12}")
        for training in (True, False):
            for B in args.batch:
                for H in args.hidden:
                    w = Workload("native_lstm", "lstm", args.T, B, H, training=training)
                    row = measure(w, args.rounds, args.budget)
                    row["threads"] = n
                    rows.append(row)
                    mode = "train" if training else "infer"
                    if row["status"] != "ok":
                        print(f"{n:>7} {mode:>5} {B:>4} {H:>4} parity FAILED "
                              f"({row['parity_scaled_diff']:.1e}): no ratio")
                        continue
                    print(f"{n:>7} {mode:>5} {B:>4} {H:>4} {row['rnnkit_us_per_step']:14.1f} "
                          f"{row['torch_us_per_step']:13.1f} {row['speedup']:11.2f}x", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
