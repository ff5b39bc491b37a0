"""Before / after table of the native kernel for two git revisions, measured interleaved.

    python benchmarks/cpp_boundary_ab.py                       # HEAD~1 against HEAD
    python benchmarks/cpp_boundary_ab.py --before 4eafa0d --after HEAD --rounds 5
    python benchmarks/cpp_boundary_ab.py --suite quick streaming --out benchmarks/results/ab.txt
    python benchmarks/cpp_boundary_ab.py --clock cpu --rounds 4     # on a loaded machine

Each revision is exported (``git archive``) into a work folder and runs its own
``benchmarks/run.py`` (parity first, then rnnkit against torch.nn in alternating rounds) in
a process of its own, with that revision's sources first on the path and one kernel cache
for both (the cache is keyed on the sources, so each revision gets its own binary; both are
built before any timing). The runs alternate, before/after then after/before, for
``--rounds`` rounds, so that a change in the machine's load falls on both sides alike; the
table gives, per workload, the median over rounds of rnnkit's µs per step and of its
speed-up against torch.nn from the same run (the ratio is the steadier number on a loaded
machine), and the load average seen around the runs. A workload whose parity check failed
in any round of a revision shows FAILED, with no time for it.

On a machine that other processes load, wall times swing by 10x and more between runs;
``--clock cpu`` then times the native kernel alone (``_cputime_child.py``: rnnkit.nn's
LSTM, GRU and RNN with ``backend="cpu"``, their variants and the streaming cells, one torch
thread) in the CPU time of its thread, which the other processes change much less. It
checks no parity itself: run the wall-clock mode (or the tests) for that.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def export(rev: str, dest: Path) -> str:
    """Write the tree of `rev` into dest; returns its full commit id."""
    sha = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    data = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", sha], check=True,
                          capture_output=True).stdout
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return sha


def _env(tree: Path, cache: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree / "src"), RNNKIT_CACHE_DIR=str(cache))
    env.pop("RNNKIT_CPU_KERNEL", None)
    return env


def build(tree: Path, cache: Path) -> None:
    """Compile (or find) the revision's kernel before any timing; raise if it can't load."""
    code = ("import sys; from rnnkit.kernels.cpu import build; r = build.why_unavailable(); "
            "print(r or 'ok'); sys.exit(r is not None)")
    r = subprocess.run([sys.executable, "-c", code], cwd=tree, env=_env(tree, cache),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"the kernel of {tree.name} is unavailable: "
                         f"{(r.stdout + r.stderr).strip()[-2000:]}")


def run_once(tree: Path, cache: Path, args, out: Path) -> list[dict]:
    cmd = [sys.executable, "benchmarks/run.py", "--suite", *args.suite, "--threads",
           str(args.threads), "--rounds", str(args.inner_rounds), "--budget", str(args.budget),
           "--json", str(out)]
    r = subprocess.run(cmd, cwd=tree, env=_env(tree, cache), capture_output=True,
                       text=True)
    if r.returncode != 0 or not out.exists():
        raise SystemExit(f"benchmarks/run.py failed in {tree.name} (status {r.returncode}):\n"
                         f"{(r.stdout + r.stderr)[-3000:]}")
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line]


CHILD = Path(__file__).with_name("_cputime_child.py")


def run_cputime(tree: Path, cache: Path, reps: int) -> dict:
    """--clock cpu: this checkout's _cputime_child.py, importing the revision's rnnkit."""
    r = subprocess.run([sys.executable, str(CHILD), "--reps", str(reps)], cwd=tree,
                       env=_env(tree, cache), capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"_cputime_child.py failed in {tree.name} (status {r.returncode}):\n"
                         f"{(r.stdout + r.stderr)[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def format_cputime(runs: dict[str, list[dict]]) -> str:
    head = f"{'workload (T=100, I=64, H=128)':44} {'before µs':>10} {'after µs':>10} {'after/before':>12}"
    lines = [head, "-" * len(head)]
    for k in runs["before"][0]:
        b = statistics.median(r[k] for r in runs["before"])
        a = statistics.median(r[k] for r in runs["after"])
        lines.append(f"{k:44} {b:10.2f} {a:10.2f} {a / b:12.2f}")
    return "\n".join(lines)


def summarise(runs: dict[str, list[list[dict]]]) -> dict:
    """label -> workload key -> {"us": median µs/step, "speedup": median, "failed": bool}."""
    table = {}
    for label, rounds in runs.items():
        per = {}
        for rows in rounds:
            for row in rows:
                key = (row["workload"], row["kernel"])
                e = per.setdefault(key, {"us": [], "speedup": [], "failed": False})
                if row["status"] != "ok":
                    e["failed"] = True
                    continue
                e["us"].append(row["rnnkit_us_per_step"])
                e["speedup"].append(row["speedup"])
        table[label] = {k: {"us": statistics.median(v["us"]) if v["us"] else None,
                            "speedup": statistics.median(v["speedup"]) if v["speedup"] else None,
                            "failed": v["failed"], "n": len(v["us"])} for k, v in per.items()}
    return table


def format_table(table: dict, before: str, after: str) -> str:
    keys = list(dict.fromkeys([*table[before], *table[after]]))
    head = (f"{'workload':44} {'kernel':9} {'before µs':>10} {'after µs':>10} {'after/before':>12}"
            f" {'vs torch before':>15} {'vs torch after':>14}")
    lines = [head, "-" * len(head)]
    for k in keys:
        b, a = table[before].get(k), table[after].get(k)
        cells = []
        for e in (b, a):
            cells.append("FAILED" if e is None or e["failed"] or e["us"] is None else f"{e['us']:.1f}")
        ratio = (f"{a['us'] / b['us']:.2f}" if "FAILED" not in cells else "-")
        sp = ["-" if e is None or e["failed"] or e["speedup"] is None else f"{e['speedup']:.2f}x"
              for e in (b, a)]
        lines.append(f"{k[0]:44} {k[1]:9} {cells[0]:>10} {cells[1]:>10} {ratio:>12} {sp[0]:>15}"
                     f" {sp[1]:>14}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", default="HEAD~1", help="git revision (default HEAD~1)")
    p.add_argument("--after", default="HEAD", help="git revision (default HEAD)")
    p.add_argument("--suite", nargs="+", default=["quick"], help="benchmarks/run.py suites")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--inner-rounds", type=int, default=5, help="run.py --rounds (default 5)")
    p.add_argument("--budget", type=float, default=1.0, help="run.py --budget (default 1.0)")
    p.add_argument("--threads", type=int, default=2, help="run.py --threads (default 2)")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="wall: each revision's benchmarks/run.py (parity, then rnnkit against "
                   "torch.nn, wall time); cpu: _cputime_child.py, the native kernel alone in CPU "
                   "time of one thread, steadier on a loaded machine (default wall)")
    p.add_argument("--reps", type=int, default=20, help="--clock cpu: calls timed per "
                   "workload and round (default 20)")
    p.add_argument("--workdir", type=Path, help="where the trees, cache and raw JSON go "
                   "(default: a new temporary folder, kept)")
    p.add_argument("--out", type=Path, help="also write the report here")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.inner_rounds < 1:
        p.error(f"--rounds and --inner-rounds must be positive, got {args.rounds}, "
                f"{args.inner_rounds}")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="rnnkit-ab-"))
    work.mkdir(parents=True, exist_ok=True)
    cache = work / "cache"
    trees, shas = {}, {}
    for label, rev in (("before", args.before), ("after", args.after)):
        trees[label] = work / label
        if trees[label].exists():
            raise SystemExit(f"{trees[label]} exists already: give a new --workdir")
        shas[label] = export(rev, trees[label])
        print(f"{label}: {rev} = {shas[label][:12]}", flush=True)
        build(trees[label], cache)
    runs = {"before": [], "after": []}
    loads = []
    for r in range(args.rounds):
        order = ("before", "after") if r % 2 == 0 else ("after", "before")
        for label in order:
            l0 = os.getloadavg()[0]
            t0 = time.time()
            if args.clock == "cpu":
                rows = run_cputime(trees[label], cache, args.reps)
            else:
                rows = run_once(trees[label], cache, args, work / f"{label}_{r}.jsonl")
            loads.append(l0)
            loads.append(os.getloadavg()[0])
            runs[label].append(rows)
            print(f"round {r + 1}/{args.rounds} {label}: {len(rows)} rows in "
                  f"{time.time() - t0:.0f} s, load {l0:.2f} -> {loads[-1]:.2f}", flush=True)
    uname = os.uname()
    report = "\n".join([
        f"native kernel before/after: {args.before} ({shas['before'][:12]}) vs {args.after} "
        f"({shas['after'][:12]})",
        f"host {uname.nodename}, {os.cpu_count()} CPUs; " + (
            f"suites {' '.join(args.suite)}; {args.rounds} interleaved rounds of run.py --rounds "
            f"{args.inner_rounds} --budget {args.budget} --threads {args.threads}; medians over "
            "rounds" if args.clock == "wall" else
            f"CPU time of one thread (torch.set_num_threads(1)), {args.rounds} interleaved "
            f"rounds of {args.reps} timed calls per workload; medians over calls, then rounds"),
        f"1-minute load average around the runs: min {min(loads):.2f}, median "
        f"{statistics.median(loads):.2f}, max {max(loads):.2f}",
        "",
        format_table(summarise(runs), "before", "after") if args.clock == "wall"
        else format_cputime(runs),
        "",
        "after/before: rnnkit's µs per step, after over before (below 1: faster)." + (
            " vs torch: rnnkit's speed-up over torch.nn timed in the same run (above 1: rnnkit "
            "faster)." if args.clock == "wall" else ""),
    ])
    print(report)
    if args.out:
        tmp = args.out.with_suffix(args.out.suffix + ".tmp")
        tmp.write_text(report + "\n", encoding="utf-8")
        tmp.replace(args.out)
    print(f"raw rows and trees: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
