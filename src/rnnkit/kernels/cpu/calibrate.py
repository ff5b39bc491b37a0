"""This CPU's measured choice between rnnkit's native LSTM and torch's oneDNN LSTM.

Whether the native loop beats oneDNN on a plain LSTM depends on the CPU: on a
Sapphire Rapids VM it won training at batch <= 8 (1.0-1.8x), on an AMD EPYC VM
it lost there (0.43-0.69x; README "Results"). So ``backend="auto"`` gives a
plain LSTM to oneDNN unless this CPU was calibrated:
``python -m rnnkit.kernels.cpu --calibrate`` times both kernels on a grid
(training and inference × batch × hidden size × thread count) and writes the
ratios as JSON beside the compiled kernel in its cache folder, which is keyed
on the CPU's flags, the sources, torch and the compiler (build.py), so a
calibration never outlives the build it measured. :func:`native_wins` reads it.

Each point: parity first (outputs and, in training, the gradients of x and
every weight; a point that fails counts as a loss), warm-ups, then rounds
that alternate the two kernels; the ratio is the median of per-round
oneDNN time / native time, and the smaller of two passes over the grid.
Loading is JSON only, never code.
"""
from __future__ import annotations

import json
import os
import statistics
import time
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional

import torch

from rnnkit.kernels.cpu import build
from rnnkit.util.atomic import write_text
from rnnkit.util.machine import cpu_model

FILE = "calibration.json"
VERSION = 1
# The native kernel keeps a point only when it measured this much faster: below it, a
# 2-core VM's noise could hand the point to the slower kernel.
MARGIN = 1.05
GRID = {"batch": (1, 8, 32, 64), "hidden": (64, 128, 256, 512), "T": 50}
PARITY = 2e-5


def path() -> Path:
    """Where this CPU's calibration lives: beside the loaded kernel build."""
    if build.why_unavailable() is not None:
        raise RuntimeError(f"the native CPU kernel is unavailable ({build.why_unavailable()}); "
                           "there is nothing to calibrate")
    if build.loaded_from is None:  # loaded, but not from a cache folder we know
        raise RuntimeError("the native CPU kernel was not loaded from a cache folder")
    return Path(build.loaded_from).parent / FILE


def _time(fn: Callable[[], object], reps: int) -> float:
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def measure_point(training: bool, B: int, H: int, T: int, rounds: int = 5,
                  budget_s: float = 0.6) -> float:
    """oneDNN time / native time (median over alternating rounds) for a plain 1-layer LSTM,
    input size H, on torch's current thread count; 0.0 when parity fails."""
    from rnnkit.cells import param_shapes, torch_default_init_
    from rnnkit.kernels import torch_fused
    from rnnkit.kernels.cpu import kernel
    from rnnkit.kernels.spec import RecurrentSpec

    spec = RecurrentSpec("lstm", H, H)
    g = torch.Generator().manual_seed(0)
    w = {n: torch.empty(s) for n, s in param_shapes("lstm", H, H).items()}
    torch_default_init_(w, H)
    w = {n: t.requires_grad_(training) for n, t in w.items()}
    x = torch.randn(T, B, H, generator=g).requires_grad_(training)
    hx = (torch.zeros(1, B, H), torch.zeros(1, B, H))
    grad_out = torch.randn(T, B, H, generator=g)
    leaves = [x, *w.values()]

    def call(run):
        def go():
            if not training:
                with torch.no_grad():
                    return run(spec, [w], x, hx, None, training=False)[0]
            out = run(spec, [w], x, hx, None, training=True)[0]
            return torch.autograd.grad(out, leaves, grad_out)
        return go

    native, onednn = call(kernel.run), call(torch_fused.run)
    a, b = native(), onednn()
    # the suite's float32 parity bound, scaled as benchmarks/ scale it: max |a − b| / max(1, max |b|)
    pairs = zip([a] if not training else a, [b] if not training else b)
    if any(not (p - q).abs().max() <= PARITY * max(1.0, q.abs().max().item()) for p, q in pairs):
        return 0.0
    for _ in range(2):  # warm-ups: allocator, BLAS packing, thread pools
        native()
        onednn()
    once = max(_time(native, 1), _time(onednn, 1), 1e-6)
    reps = max(1, int(budget_s / rounds / 2 / once))
    return statistics.median(_time(onednn, reps) / _time(native, reps) for _ in range(rounds))


def calibrate(batch=GRID["batch"], hidden=GRID["hidden"], T: int = GRID["T"],
              threads: Optional[list] = None, rounds: int = 5, budget_s: float = 0.6,
              passes: int = 2, out: Optional[Path] = None, progress=print) -> Path:
    """Measure the grid on thread counts ``threads`` (default: 1 and torch's current count)
    and write it (atomically) to :func:`path`; returns where. The grid is measured
    ``passes`` times and each point keeps its smallest ratio: a point goes to the native
    kernel only if it won every time (a busy moment can make either side look slow)."""
    out = out or path()
    before = torch.get_num_threads()
    threads = sorted(set(threads or [1, before]))
    if _busy():
        progress(f"warning: this machine is busy (load average {os.getloadavg()[0]:.1f} on "
                 f"{os.cpu_count()} CPUs); the timings will be noisy. Calibrate when it is idle.")
    ratios: dict = {}
    try:
        for _ in range(passes):
            for n in threads:
                torch.set_num_threads(n)
                for training in (True, False):
                    for B in batch:
                        for H in hidden:
                            r = measure_point(training, B, H, T, rounds, budget_s)
                            key = (n, training, B, H)
                            ratios[key] = min(r, ratios.get(key, r))
                            progress(f"threads={n} {'train' if training else 'infer'} B={B} "
                                     f"H={H}: native {r:.2f}x oneDNN's speed")
    finally:
        torch.set_num_threads(before)
    points = [{"threads": n, "training": tr, "batch": B, "hidden": H, "ratio": round(r, 3)}
              for (n, tr, B, H), r in ratios.items()]
    doc = {"version": VERSION, "cpu": cpu_model(),
           "torch": torch.__version__, "T": T, "margin": MARGIN,
           "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "points": points}
    write_text(out, json.dumps(doc, indent=1))
    load.cache_clear()
    return out


def _busy() -> bool:
    """Whether other work holds more than half the CPUs (1-minute load average)."""
    try:
        return os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1)
    except OSError:
        return False


@lru_cache(maxsize=4)
def load(where: Optional[Path] = None) -> Optional[dict]:
    """The calibration's points as {(threads, training): sorted list of (B, H, ratio)}, or
    None when there is none (or it can't be read: then the conservative rule applies)."""
    try:
        where = where or path()
        doc = json.loads(Path(where).read_text())
    except (OSError, RuntimeError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        return None
    table: dict = {}
    try:
        for p in doc["points"]:
            key = (int(p["threads"]), bool(p["training"]))
            table.setdefault(key, []).append((int(p["batch"]), int(p["hidden"]), float(p["ratio"])))
    except (KeyError, TypeError, ValueError):
        return None
    return {k: sorted(v) for k, v in table.items()}


def native_wins(training: bool, batch: int, hidden: int, threads: int,
                table: Optional[dict]) -> Optional[bool]:
    """Whether the calibration measured the native LSTM at least MARGIN faster at the point
    that covers (batch, hidden): the smallest measured batch and hidden size at or above
    them (the largest when beyond the grid). None: no calibration for this thread count
    and mode."""
    points = (table or {}).get((threads, bool(training)))
    if not points:
        return None
    def cover(values, v):
        above = [u for u in values if u >= v]
        return min(above) if above else max(values)
    B = cover({b for b, _, _ in points}, batch)
    H = cover({h for b, h, _ in points if b == B}, hidden)
    ratio = next(r for b, h, r in points if b == B and h == H)
    return ratio >= MARGIN
