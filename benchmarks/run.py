"""rnnkit vs torch.nn on the CPU: parity first, then alternating timed rounds.

    python benchmarks/run.py --suite quick            # < 2 minutes
    python benchmarks/run.py --suite grid --batch 1 8 32 64 --hidden 64 128 256 512
    python benchmarks/run.py --suite fastrnns streaming variants --json out.jsonl
    python benchmarks/run.py --suite seed --threads 1     # the seed model's fit epoch + Keras peers

Each workload's parity check (outputs and, in training, every gradient) runs
before it is timed; a failure is reported as FAILED with no speed-up. Timing:
warm-ups, then rounds that alternate rnnkit and torch.nn in one process; the
speed-up is the median of the per-round ratios. The seed suite times one
``fit`` epoch of the seed's Keras model against a hand-written PyTorch loop,
then Keras 3's own fit on each installed backend (torch, jax, tensorflow), each
in its own process, alternating with the plain loop there. GFLOP/s are set against a
torch.mm of the same shape as the hoisted input projection, timed in the same run.
The protocol and the runners are :mod:`rnnkit.tools.bench` (``rnnkit bench`` is
the short run).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import runners  # noqa: E402,F401  registers any runners defined beside this script

from rnnkit.tools.bench import (HEADER, format_epoch, format_peer, format_row,  # noqa: E402
                                keras_peers, machine, measure, suites)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", nargs="+", default=["quick"],
                   choices=["quick", "short", "grid", "fastrnns", "streaming", "variants", "seed"])
    p.add_argument("--batch", nargs="+", type=int, default=[1, 8, 32, 64], help="grid batch sizes")
    p.add_argument("--hidden", nargs="+", type=int, default=[64, 128, 256, 512],
                   help="grid hidden sizes")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--rounds", type=int, default=5, help="alternating timed rounds (default 5)")
    p.add_argument("--budget", type=float, default=1.0,
                   help="seconds of timing per workload, both sides together (default 1.0)")
    p.add_argument("--samples", type=int, default=640,
                   help="seed suite: training windows per epoch (default 640)")
    p.add_argument("--no-peers", action="store_true",
                   help="seed suite: skip the Keras peers")
    p.add_argument("--json", type=Path, help="also write one JSON object per line here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(machine())
    if args.samples < 1:
        p.error(f"--samples must be a positive integer, got {args.samples}")
    table = suites(args.batch, args.hidden, args.samples)
    rows = []
    print(HEADER)
    print("-" * len(HEADER))
    for suite in args.suite:
        for w in table[suite]:
            row = measure(w, args.rounds, args.budget)
            rows.append(row)
            print(format_row(row))
            if w.runner == "seed":
                print(format_epoch(row))
                if row["status"] == "ok" and not args.no_peers:
                    plain_s = row["torch_s_per_call"]
                    for peer in keras_peers(w, args.threads, args.rounds, plain_s):
                        rows.append(peer)
                        print(format_peer(peer))
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
