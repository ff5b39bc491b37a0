"""The thread policy under load (issue 11): the seed model's fit epoch, LSTM and GRU, in
three conditions in one run, against plain PyTorch; parity first.

    python benchmarks/threads.py                        # 2,048 windows, 5 epochs, ~5-10 min
    python benchmarks/threads.py --epochs 3 --conditions idle busy --families gru

Conditions: ``idle`` (nothing started; other users' load is whatever it is, and the
load average is printed), ``busy`` (one ``yes > /dev/null`` started and killed here:
one core kept busy), ``bursts`` (a process started here that burns 0.1 s of CPU every
0.3 s, like short jobs now and then). Runners, taking turns epoch by epoch:

- ``rnnkit``: ``fit`` as a user calls it, the thread policy choosing;
- ``rnnkit N threads``: ``fit`` pinned to all N CPUs, the count before the policy;
- ``plain PyTorch``: a hand-written loop over torch.nn at torch's default count, and
  at one thread.

Before any timing, one fit step of rnnkit (under the policy) is checked against the
plain loop from the same weights (loss and every updated weight); a family that fails
is reported FAILED and not timed. Reported: median and worst epoch per runner and
condition, with the issue's ratios (busy / idle; policy / pinned at idle; policy /
plain). A runner over ``--budget`` seconds in a condition stops early (its n says so).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import torch

import rnnkit.tools.bench  # noqa: F401  (registers the seed runner before bench_seed loads)
from rnnkit.kernels import threads
from rnnkit.kernels.cpu_load import available_cores
from rnnkit.tools.bench import machine
from rnnkit.tools.bench_seed import (PlainSeed, plain_epoch, plain_optimizer, seed_data,
                                     seed_model, seed_parity)

BURST = ("import time\nwhile True:\n    t = time.perf_counter()\n"
         "    while time.perf_counter() - t < 0.1: pass\n    time.sleep(0.2)\n")


@contextmanager
def condition(name: str):
    """Start what the condition needs, and kill it after."""
    proc = None
    if name == "busy":
        proc = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL)
    elif name == "bursts":
        proc = subprocess.Popen([sys.executable, "-c", BURST])
    try:
        time.sleep(0.5)  # let it start
        yield
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()


def _how(choice_threads: str) -> str:
    """'1 (rnnkit's load guard: ...)' -> '1 by the load guard' (the reasons carry numbers)."""
    n, _, why = choice_threads.partition(" (")
    for key, short in (("load guard", "by the load guard"), ("policy", "by the policy"),
                       ("user", "set by the user")):
        if key in why:
            return f"{n} {short}"
    return choice_threads


def runners(family: str, x, y, cores: int) -> dict:
    """name -> a function running one epoch, or with warm=True 256 windows of one
    (thread pools, allocator, BLAS packing); each returns who chose its thread count."""
    B, W = 32, 256
    model = seed_model(family, x.shape[1])
    net = PlainSeed(model)
    opt = plain_optimizer(net)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    batches = [(xt[i:i + B], yt[i:i + B]) for i in range(0, len(x), B)]
    today = seed_model(family, x.shape[1])

    def policy(warm=False):
        n = W if warm else len(x)
        model.fit(x[:n], y[:n], batch_size=B, epochs=1, shuffle=False, verbose=0)
        return _how(model.layers[0].last_choice.threads)

    def pinned_all(warm=False):
        n = W if warm else len(x)
        with threads.pinned(cores):
            today.fit(x[:n], y[:n], batch_size=B, epochs=1, shuffle=False, verbose=0)
        return f"{cores} pinned"

    def plain_default(warm=False):
        plain_epoch(net, batches[:W // B] if warm else batches, opt)
        return f"{torch.get_num_threads()} (torch's default)"

    def plain_one(warm=False):
        with threads.pinned(1):
            plain_epoch(net, batches[:W // B] if warm else batches, opt)
        return "1 pinned"

    return {"rnnkit": policy, f"rnnkit {cores} threads": pinned_all,
            "plain PyTorch": plain_default, "plain PyTorch 1 thread": plain_one}


def run_condition(name: str, table: dict, epochs: int, budget: float) -> dict:
    """Epochs taken in turns (one warm-up each first); -> runner -> row."""
    rows = {r: {"times": [], "threads": set()} for r in table}
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with condition(name):
        for fn in table.values():
            fn(warm=True)
        for _ in range(epochs):
            for r, fn in table.items():
                if sum(rows[r]["times"]) > budget:
                    continue
                t = time.perf_counter()
                how = fn()
                rows[r]["times"].append(time.perf_counter() - t)
                rows[r]["threads"].add(how)
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    for row in rows.values():
        ts = row["times"]
        row.update(median=statistics.median(ts), worst=max(ts), n=len(ts),
                   threads=sorted(row["threads"]), load=(load0, load1))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", nargs="+", default=["lstm", "gru"], choices=["lstm", "gru"])
    p.add_argument("--conditions", nargs="+", default=["idle", "busy", "bursts"],
                   choices=["idle", "busy", "bursts"])
    p.add_argument("--samples", type=int, default=2048, help="windows per epoch (default 2048)")
    p.add_argument("--epochs", type=int, default=5, help="timed epochs per runner (default 5)")
    p.add_argument("--budget", type=float, default=45.0,
                   help="seconds per runner and condition before it stops early (default 45)")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    cores = available_cores()
    print(machine(), f"| CPUs available: {cores}")
    x, y = seed_data(args.samples)
    results = []
    for family in args.families:
        diff = seed_parity(family, x, y, 32)
        print(f"\n{family.upper()}: parity of one fit step with the plain loop: {diff:.1e}")
        if not diff <= 1e-5:
            print(f"{family.upper()}: FAILED parity, not timed")
            results.append({"family": family, "status": "FAILED", "parity": diff})
            continue
        table = runners(family, x, y, cores)
        by_cond = {}
        for cond in args.conditions:
            by_cond[cond] = run_condition(cond, table, args.epochs, args.budget)
            print(f"  {cond} (load average {by_cond[cond]['rnnkit']['load'][0]:.1f} -> "
                  f"{by_cond[cond]['rnnkit']['load'][1]:.1f})")
            for r, row in by_cond[cond].items():
                print(f"    {r:<24} median {row['median']:7.3f} s  worst {row['worst']:7.3f} s  "
                      f"n={row['n']}  threads: {' | '.join(row['threads'])}")
            results.append({"family": family, "condition": cond, "parity": diff,
                            **{r: {k: v for k, v in row.items()} for r, row in by_cond[cond].items()}})
        summary(family, by_cond, cores)
    if args.json:
        tmp = args.json.with_suffix(args.json.suffix + ".tmp")
        tmp.write_text("".join(json.dumps(r, default=list) + "\n" for r in results), "utf-8")
        tmp.replace(args.json)
    return 0


def summary(family: str, by_cond: dict, cores: int) -> None:
    """The issue's three goals, as measured in this run."""
    med = {c: {r: row["median"] for r, row in rows.items()} for c, rows in by_cond.items()}
    print(f"  {family.upper()} goals (medians):")
    if "idle" in med:
        idle = med["idle"]["rnnkit"]
        print(f"    policy at idle / {cores} threads pinned at idle: "
              f"{idle / med['idle'][f'rnnkit {cores} threads']:.2f}x (goal <= 1.10)")
        for c in med:
            if c != "idle":
                print(f"    policy {c} / policy idle: {med[c]['rnnkit'] / idle:.2f}x (goal <= 1.5)")
    for c in med:
        best_plain = min(med[c]["plain PyTorch"], med[c]["plain PyTorch 1 thread"])
        print(f"    {c}: policy / plain PyTorch at torch's default: "
              f"{med[c]['rnnkit'] / med[c]['plain PyTorch']:.2f}x, / the faster plain: "
              f"{med[c]['rnnkit'] / best_plain:.2f}x (goal < 1)")


if __name__ == "__main__":
    sys.exit(main())
