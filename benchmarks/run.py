"""rnnkit vs torch.nn on the CPU: parity first, then alternating timed rounds.

    python benchmarks/run.py --suite quick            # < 2 minutes
    python benchmarks/run.py --suite grid --batch 1 8 32 64 --hidden 64 128 256 512
    python benchmarks/run.py --suite fastrnns streaming variants --json out.jsonl

Each workload's parity check (outputs and, in training, every gradient) runs
before it is timed; a failure is reported as FAILED with no speed-up. Timing:
warm-ups, then rounds that alternate rnnkit and torch.nn in one process; the
speed-up is the median of the per-round ratios. GFLOP/s are set against a
torch.mm of the same shape as the hoisted input projection, timed in the same run.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from runners import GATES, RUNNERS, Workload  # noqa: E402

from rnnkit.kernels.cpu import build  # noqa: E402


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def suites(args) -> dict[str, list[Workload]]:
    grid = [Workload("sequence", fam, 100, B, H, training=tr)
            for fam in ("lstm", "gru", "rnn") for tr in (False, True)
            for B in args.batch for H in args.hidden]
    variants = [Workload("sequence", "lstm", 100, 8, 128, training=True, extras=kw, label=label)
                for label, kw in [("plain", ()), ("layer_norm", (("layer_norm", True),)),
                                  ("peephole", (("peephole", True),)),
                                  ("zoneout", (("zoneout", 0.1),)),
                                  ("recurrent_dropout", (("recurrent_dropout", 0.25),))]]
    return {
        "fastrnns": [Workload("sequence", fam, 100, 64, 512, training=True)
                     for fam in ("lstm", "gru", "rnn")],
        "grid": grid,
        "streaming": [Workload("streaming", fam, 1, 1, 128) for fam in ("lstm", "gru", "rnn")],
        "variants": variants,
        "quick": [Workload("sequence", fam, 100, B, 128, training=tr)
                  for fam in ("lstm", "gru", "rnn") for tr in (False, True) for B in (1, 8)]
        + [Workload("streaming", fam, 1, 1, 128) for fam in ("lstm", "gru", "rnn")]
        + variants[1:],
    }


def _time(fn, reps: int) -> float:
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def gemm_peak(w: Workload) -> float:
    """GFLOP/s of torch.mm shaped like the hoisted input projection (T*B, I) x (I, G*H)."""
    a = torch.randn(w.T * w.B, w.in_size)
    b = torch.randn(w.in_size, GATES[w.family] * w.H)
    reps = max(1, int(2e8 / (2 * a.shape[0] * a.shape[1] * b.shape[1])))
    _time(lambda: torch.mm(a, b), reps)
    t = min(_time(lambda: torch.mm(a, b), reps) for _ in range(5))
    return 2 * a.shape[0] * a.shape[1] * b.shape[1] / t / 1e9


def measure(w: Workload, rounds: int, budget_s: float) -> dict:
    pair = RUNNERS[w.runner](w)
    row = {"workload": w.name, "kernel": pair.kernel, "T": w.T, "B": w.B, "H": w.H,
           "family": w.family, "training": w.training, "extras": dict(w.extras)}
    diff = pair.parity()
    row["parity_scaled_diff"] = diff  # max |a − b| / max(1, max |b|)
    if not diff <= pair.tolerance:  # NaN fails too
        row["status"] = "FAILED"
        return row
    for _ in range(2):  # warm-ups: allocator, BLAS packing, thread pools
        pair.rnnkit()
        pair.torch()
    once = max(_time(pair.rnnkit, 1), _time(pair.torch, 1), 1e-6)
    reps = max(1, int(budget_s / rounds / 2 / once))
    ratios, mine, theirs = [], [], []
    for _ in range(rounds):
        a = _time(pair.rnnkit, reps)
        b = _time(pair.torch, reps)
        mine.append(a)
        theirs.append(b)
        ratios.append(b / a)
    t_mine, t_theirs = statistics.median(mine), statistics.median(theirs)
    gflops = pair.flops / t_mine / 1e9
    peak = gemm_peak(w)
    row.update(status="ok", speedup=statistics.median(ratios), rnnkit_us_per_step=t_mine / w.T * 1e6,
               torch_us_per_step=t_theirs / w.T * 1e6, gflops=gflops, gemm_peak_gflops=peak,
               pct_of_gemm_peak=100 * gflops / peak)
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", nargs="+", default=["quick"],
                   choices=["quick", "grid", "fastrnns", "streaming", "variants"])
    p.add_argument("--batch", nargs="+", type=int, default=[1, 8, 32, 64], help="grid batch sizes")
    p.add_argument("--hidden", nargs="+", type=int, default=[64, 128, 256, 512],
                   help="grid hidden sizes")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--rounds", type=int, default=5, help="alternating timed rounds (default 5)")
    p.add_argument("--budget", type=float, default=1.0,
                   help="seconds of timing per workload, both sides together (default 1.0)")
    p.add_argument("--json", type=Path, help="also write one JSON object per line here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    reason = build.why_unavailable()
    print(f"torch {torch.__version__} | CPU: {cpu_model()} | threads: {torch.get_num_threads()}")
    print(f"rnnkit cpu kernel: {'unavailable: ' + reason if reason else build.load().blas_name()}")
    table = suites(args)
    rows = []
    head = (f"{'workload':44} {'kernel':10} {'parity':>9} {'rnnkit µs/step':>14} "
            f"{'torch µs/step':>13} {'speed-up':>8} {'GFLOP/s':>8} {'% peak':>7}")
    print(head)
    print("-" * len(head))
    for suite in args.suite:
        for w in table[suite]:
            row = measure(w, args.rounds, args.budget)
            rows.append(row)
            if row["status"] != "ok":
                print(f"{w.name:44} {row['kernel']:10} {'FAILED':>9} "
                      f"(scaled |diff| {row['parity_scaled_diff']:.2e}; no speed-up reported)")
            else:
                print(f"{w.name:44} {row['kernel']:10} {row['parity_scaled_diff']:9.1e} "
                      f"{row['rnnkit_us_per_step']:14.1f} {row['torch_us_per_step']:13.1f} "
                      f"{row['speedup']:7.2f}x {row['gflops']:8.1f} {row['pct_of_gemm_peak']:6.1f}%")
            sys.stdout.flush()
    if args.json:
        tmp = args.json.with_suffix(args.json.suffix + ".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        tmp.replace(args.json)
    for r in rows:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
