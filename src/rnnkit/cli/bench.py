"""`rnnkit bench`: a short benchmark of rnnkit against torch.nn on this machine.

Parity first (outputs and every gradient against torch.nn), then alternating
timed rounds in one process; prints the machine (CPU, threads, torch) and a
table with the median speed-up per workload. ``--suite seed`` times one ``fit``
epoch of the seed's model against a plain PyTorch loop, then Keras 3's own fit
on each installed backend. The protocol and the workloads
are :mod:`rnnkit.tools.bench`; ``benchmarks/run.py`` runs the long suites.
"""
from __future__ import annotations

import argparse

from rnnkit.cli._common import positive_float, positive_int

SUITES = ("short", "quick", "streaming", "fastrnns", "variants", "grid", "seed")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "bench", help="time rnnkit against torch.nn on this machine (parity checked first)",
        description="Check parity with torch.nn, then time rnnkit and torch.nn in alternating "
                    "rounds; print the machine and a table of median speed-ups.",
        epilog="example: rnnkit bench --suite streaming --threads 1")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--quick", action="store_true",
                       help="the quick suite, a few minutes: exactly --suite quick (without "
                            "either flag: the short suite, under 30 s, one training point per "
                            "cell family and the streaming cells)")
    which.add_argument("--suite", nargs="+", choices=SUITES, metavar="SUITE",
                       help=f"run these suites: {', '.join(SUITES)} (default short, under "
                            f"30 s; quick takes a few minutes, grid much longer)")
    p.add_argument("--family", nargs="+", choices=("lstm", "gru", "rnn"), metavar="CELL",
                   help="only these cell families (lstm, gru, rnn; default all)")
    p.add_argument("--threads", type=positive_int, default=1, metavar="N",
                   help="torch CPU threads, pinned for the whole run (default 1)")
    p.add_argument("--rounds", type=positive_int, default=5,
                   help="alternating timed rounds per workload (default 5)")
    p.add_argument("--budget", type=positive_float, default=0.6, metavar="SECONDS",
                   help="timing per workload, both sides together (default 0.6)")
    p.add_argument("--samples", type=positive_int, default=640, metavar="N",
                   help="seed suite: training windows per epoch (default 640)")
    p.add_argument("--no-peers", action="store_true",
                   help="seed suite: skip the Keras peers (Keras 3 on torch, jax, tensorflow)")
    return p


def run(args) -> int:
    import torch

    from rnnkit.tools.bench import (HEADER, format_epoch, format_peer, format_row,
                                    keras_peers, machine, measure, suites)
    from rnnkit.tools.threads import torch_threads

    table = suites(samples=args.samples)
    chosen = ["quick"] if args.quick else (args.suite or ["short"])
    work = [w for s in chosen for w in table[s]
            if args.family is None or w.family in args.family]
    failed = 0
    with torch_threads(args.threads):
        print(machine())
        print(HEADER)
        print("-" * len(HEADER))
        for w in work:
            row = measure(w, args.rounds, args.budget)
            failed += row["status"] != "ok"
            print(format_row(row), flush=True)
            if w.runner == "seed":
                print(format_epoch(row), flush=True)
                if row["status"] == "ok" and not args.no_peers:
                    plain_s = row["torch_s_per_call"]
                    for peer in keras_peers(w, args.threads, args.rounds, plain_s):
                        failed += peer["status"] == "FAILED"
                        print(format_peer(peer), flush=True)
    print(f"torch {torch.__version__}; speed-up = torch.nn time / rnnkit time, median of "
          f"{args.rounds} alternating rounds")
    if failed:
        print(f"{failed} workload(s) FAILED parity: no speed-up is reported for them")
        return 1
    return 0
