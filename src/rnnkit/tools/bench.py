"""The benchmark core shared by ``rnnkit bench`` and ``benchmarks/run.py``:
workloads, runners registered by name (as PyTorch's benchmarks/fastrnns), and
the protocol — parity first, then alternating timed rounds against torch.nn.

A runner turns a :class:`Workload` into a :class:`Pair`: the rnnkit callable,
the torch.nn callable it is measured against, a parity check that must pass
before anything is timed, and the FLOPs of one call. :func:`measure` runs the
parity check (a failure is reported as FAILED with no speed-up), warms both
sides up, then times rounds that alternate rnnkit and torch.nn in one process;
the speed-up is the median of the per-round ratios. GFLOP/s are set against a
torch.mm shaped like the hoisted input projection, timed in the same run.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import torch

from rnnkit.cells.family import family
from rnnkit.util.machine import cpu_model

FAMILIES = ("lstm", "gru", "rnn")  # the families benchmarked against torch.nn
GATES = {f: family(f).n_gates for f in FAMILIES}  # read from the family table


@dataclass(frozen=True)
class Workload:
    runner: str  # a key of RUNNERS
    family: str  # "lstm" | "gru" | "rnn"
    T: int
    B: int
    H: int
    I: Optional[int] = None  # input features; default H
    training: bool = False
    extras: tuple = ()  # rnnkit-only keyword arguments, as (name, value) pairs
    label: str = ""
    samples: int = 0  # the seed model's training set size (N); 0 elsewhere

    @property
    def name(self) -> str:
        if self.runner == "seed":
            return f"{self.family} seed model fit N={self.samples} T={self.T} B={self.B}"
        mode = "train" if self.training else "infer"
        tag = f" {self.label}" if self.label else ""
        return f"{self.family}{tag} {mode} T={self.T} B={self.B} H={self.H}"

    @property
    def in_size(self) -> int:
        return self.I or self.H


@dataclass
class Pair:
    rnnkit: Callable[[], object]
    torch: Callable[[], object]
    parity: Callable[[], float]  # scaled max |difference| (see max_diff); the caller judges it
    tolerance: float
    flops: float  # per call
    kernel: str = "?"  # which rnnkit kernel ran
    notes: dict = field(default_factory=dict)
    steps: Optional[int] = None  # time steps per call (µs/step divides by it); default T
    peak_shape: Optional[tuple] = None  # (m, k, n) of the reference GEMM; default: input projection


RUNNERS: dict[str, Callable[[Workload], Pair]] = {}


def register(name: str):
    def deco(fn):
        RUNNERS[name] = fn
        return fn
    return deco


def machine() -> str:
    """The line every result table starts with: what produced the numbers."""
    from rnnkit.kernels.cpu import build

    reason = build.why_unavailable()
    native = f"unavailable: {reason}" if reason else build.load().blas_name()
    return (f"torch {torch.__version__} | CPU: {cpu_model()} | threads: "
            f"{torch.get_num_threads()} | rnnkit cpu kernel: {native}")


def suites(batch=(1, 8, 32, 64), hidden=(64, 128, 256, 512),
           samples: int = 640) -> dict[str, list[Workload]]:
    grid = [Workload("sequence", fam, 100, B, H, training=tr)
            for fam in FAMILIES for tr in (False, True) for B in batch for H in hidden]
    variants = [Workload("sequence", "lstm", 100, 8, 128, training=True, extras=kw, label=label)
                for label, kw in [("plain", ()), ("layer_norm", (("layer_norm", True),)),
                                  ("peephole", (("peephole", True),)),
                                  ("zoneout", (("zoneout", 0.1),)),
                                  ("recurrent_dropout", (("recurrent_dropout", 0.25),))]]
    streaming = [Workload("streaming", fam, 1, 1, 128) for fam in FAMILIES]
    return {
        "fastrnns": [Workload("sequence", fam, 100, 64, 512, training=True) for fam in FAMILIES],
        "grid": grid,
        "streaming": streaming,
        "variants": variants,
        "quick": [Workload("sequence", fam, 100, B, 128, training=tr)
                  for fam in FAMILIES for tr in (False, True) for B in (1, 8)]
        + streaming + variants[1:],
        # `rnnkit bench --quick`: one training point per family and the streaming cells.
        "short": [Workload("sequence", fam, 100, 8, 128, training=True) for fam in FAMILIES]
        + streaming,
        # issue 4: the seed's Keras model end to end, one `fit` epoch against a plain loop
        "seed": [Workload("seed", fam, 100, 32, 64, I=1, training=True, samples=samples)
                 for fam in ("lstm", "gru")],
    }


def _flops(w: Workload) -> float:
    """Multiply-adds of the two projections, ×2 FLOPs; backward costs two more GEMMs each."""
    fwd = 2.0 * w.T * w.B * GATES[w.family] * w.H * (w.in_size + w.H)
    return fwd * (3 if w.training else 1)


def _torch_call(module, x, grad_out, params, training):
    """One measured call: forward, plus backward of the whole output against grad_out."""
    if not training:
        with torch.no_grad():
            return module(x)[0]
    out = module(x)[0]
    return torch.autograd.grad(out, [x, *params], grad_out)


def max_diff(a, b) -> float:
    """max over tensors of max |a − b| / max(1, max |b|): gradients summed over
    T·B terms are large, and fp32 rounding grows with them."""
    a = a if isinstance(a, (tuple, list)) else (a,)
    b = b if isinstance(b, (tuple, list)) else (b,)
    return max(((u.detach() - v.detach()).abs().max() / v.detach().abs().max().clamp(min=1)).item()
               for u, v in zip(a, b))


@register("sequence")
def sequence(w: Workload) -> Pair:
    """rnnkit.nn.{LSTM,GRU,RNN} vs torch.nn's, on the same weights; with extras
    (layer norm, zoneout, ...) the baseline is still plain torch.nn and parity is
    checked against rnnkit's reference kernel instead."""
    import rnnkit.nn as rnn_nn

    torch.manual_seed(0)
    extras = dict(w.extras)
    ref_mod = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[w.family](
        w.in_size, w.H)
    mine = {"lstm": rnn_nn.LSTM, "gru": rnn_nn.GRU, "rnn": rnn_nn.RNN}[w.family](
        w.in_size, w.H, **extras)
    if not extras:
        mine.load_state_dict(ref_mod.state_dict())
    mine.train(w.training)
    ref_mod.train(w.training)
    x = torch.randn(w.T, w.B, w.in_size, requires_grad=w.training)
    g = torch.randn(w.T, w.B, w.H)
    p_mine, p_ref = list(mine.parameters()), list(ref_mod.parameters())
    gen = torch.Generator()

    def run_mine():
        gen.manual_seed(0)
        if not w.training:
            with torch.no_grad():
                return mine(x, generator=gen)[0]
        return torch.autograd.grad(mine(x, generator=gen)[0], [x, *p_mine], g)

    def parity() -> float:
        if not extras:  # the same numbers as torch.nn, outputs and every gradient
            return max_diff(run_mine(), _torch_call(ref_mod, x, g, p_ref, w.training))
        # variants: against the oracle loop on a short prefix (it is slow)
        t = min(w.T, 8)
        xs = x[:t].detach().requires_grad_(w.training)
        res = []
        for backend in (mine.backend, "reference"):
            mine.backend = backend
            gen.manual_seed(0)
            out = mine(xs, generator=gen)[0]
            res.append(torch.autograd.grad(out, [xs, *p_mine], g[:t]) if w.training else out)
        mine.backend = "auto"
        return max_diff(*res)

    run_mine()
    kernel = mine.last_choice.kernel if mine.last_choice else "?"
    return Pair(run_mine, lambda: _torch_call(ref_mod, x, g, p_ref, w.training), parity,
                tolerance=2e-5, flops=_flops(w), kernel=kernel)


@register("streaming")
def streaming_cells(w: Workload) -> Pair:
    """One step at a time (T=1), no grad: rnnkit.nn.*Cell (through the step
    registry, as users call it) vs torch.nn.*Cell with the same weights."""
    import rnnkit.nn as rnn_nn

    torch.manual_seed(0)
    name = {"lstm": "LSTMCell", "gru": "GRUCell", "rnn": "RNNCell"}[w.family]
    cell = getattr(torch.nn, name)(w.in_size, w.H)
    mine = getattr(rnn_nn, name)(w.in_size, w.H)
    mine.load_state_dict(cell.state_dict())
    x, h, c = torch.randn(w.B, w.in_size), torch.randn(w.B, w.H), torch.randn(w.B, w.H)
    hx = (h, c) if w.family == "lstm" else h

    def no_grad(f):
        def g():
            with torch.no_grad():
                return f(x, hx)
        return g

    no_grad(mine)()
    kernel = f"{mine.last_choice.kernel} step" if mine.last_choice else "?"
    flops = 2.0 * w.B * GATES[w.family] * w.H * (w.in_size + w.H)
    return Pair(no_grad(mine), no_grad(cell), lambda: max_diff(no_grad(mine)(), no_grad(cell)()),
                tolerance=2e-5, flops=flops, kernel=kernel)


def _time(fn, reps: int) -> float:
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - start) / reps


def gemm_peak(w: Workload, shape: Optional[tuple] = None) -> float:
    """GFLOP/s of torch.mm shaped like the hoisted input projection (T*B, I) x (I, G*H),
    or like ``shape`` = (m, k, n)."""
    m, k, n = shape or (w.T * w.B, w.in_size, GATES[w.family] * w.H)
    a, b = torch.randn(m, k), torch.randn(k, n)
    reps = max(1, int(2e8 / (2 * a.shape[0] * a.shape[1] * b.shape[1])))
    _time(lambda: torch.mm(a, b), reps)
    t = min(_time(lambda: torch.mm(a, b), reps) for _ in range(5))
    return 2 * a.shape[0] * a.shape[1] * b.shape[1] / t / 1e9


def measure(w: Workload, rounds: int, budget_s: float) -> dict:
    """Parity, then ``rounds`` alternating rounds within about ``budget_s`` seconds."""
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
    peak = gemm_peak(w, pair.peak_shape)
    steps = pair.steps or w.T
    row.update(status="ok", speedup=statistics.median(ratios),
               rnnkit_us_per_step=t_mine / steps * 1e6, torch_us_per_step=t_theirs / steps * 1e6,
               rnnkit_s_per_call=t_mine, torch_s_per_call=t_theirs, gflops=gflops,
               gemm_peak_gflops=peak, pct_of_gemm_peak=100 * gflops / peak)
    return row


HEADER = (f"{'workload':44} {'kernel':16} {'parity':>6} {'|diff|':>8} {'rnnkit µs/step':>14} "
          f"{'torch µs/step':>13} {'speed-up':>8} {'GFLOP/s':>8} {'% peak':>7}")


def format_row(row: dict) -> str:
    """One table line; a failed parity check shows no speed-up."""
    head = f"{row['workload']:44} {row['kernel']:16}"
    if row["status"] != "ok":
        return f"{head} {'FAILED':>6} {row['parity_scaled_diff']:8.1e} (no speed-up reported)"
    return (f"{head} {'ok':>6} {row['parity_scaled_diff']:8.1e} {row['rnnkit_us_per_step']:14.1f} "
            f"{row['torch_us_per_step']:13.1f} {row['speedup']:7.2f}x {row['gflops']:8.1f} "
            f"{row['pct_of_gemm_peak']:6.1f}%")


# The seed-model suite registers its runner here, and its helpers are reachable from this module.
from rnnkit.tools.bench_seed import (  # noqa: E402,F401
    KERAS_BACKENDS, SEED_UNITS, PlainSeed, format_epoch, format_peer, keras_peer, keras_peers,
    plain_epoch, plain_optimizer, seed_data, seed_model, seed_parity)
