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

import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import torch

GATES = {"lstm": 4, "gru": 3, "rnn": 1}
FAMILIES = tuple(GATES)


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


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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


# --- the seed model end to end (issue 4) ------------------------------------------------------
# The seed's Keras model, Sequential([LSTM(64, return_sequences=True), LSTM(32), Dense(1)])
# compiled with adam/mse, timed one `fit` epoch at a time against a hand-written PyTorch loop
# over torch.nn.LSTM on the same batches. Optional peers: Keras 3's own fit, each backend
# in its own process (KERAS_BACKEND is read once, at import).

SEED_UNITS = (64, 32)
KERAS_BACKENDS = ("torch", "jax", "tensorflow")


def seed_data(n: int, T: int = 100, seed: int = 0):
    """``n`` windows of a noisy sine: x (n, T, 1) and y (n, 1), the value after each window
    (float32)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    s = np.sin(0.1 * np.arange(n + T)) + 0.1 * rng.standard_normal(n + T)  # (n+T,)
    idx = np.arange(n)[:, None] + np.arange(T)[None, :]  # (n, T)
    return s[idx][..., None].astype(np.float32), s[T:T + n, None].astype(np.float32)


def seed_model(family: str, T: int = 100, seed: int = 0):
    """The seed's model with ``family`` ("lstm" | "gru") layers, compiled with adam/mse."""
    from rnnkit.layers import GRU, LSTM, Dense
    from rnnkit.models import Sequential

    rnn = {"lstm": LSTM, "gru": GRU}[family]
    torch.manual_seed(seed)
    model = Sequential([rnn(SEED_UNITS[0], input_shape=(T, 1), return_sequences=True),
                        rnn(SEED_UNITS[1]), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


class PlainSeed(torch.nn.Module):
    """The same model as a plain PyTorch user writes it, with rnnkit's weights copied in."""

    def __init__(self, model) -> None:
        super().__init__()
        r1, r2, dense = model.layers
        cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[r1.mode]
        self.rnn1 = cls(1, SEED_UNITS[0], batch_first=True)
        self.rnn2 = cls(SEED_UNITS[0], SEED_UNITS[1], batch_first=True)
        self.out = torch.nn.Linear(SEED_UNITS[1], 1)
        with torch.no_grad():
            for mine, layer in ((self.rnn1, r1), (self.rnn2, r2)):
                w = layer.cell_weights()  # torch's layout and gate order already
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    if name in w:
                        getattr(mine, f"{name}_l0").copy_(w[name])
                if "bias_hh" not in w:
                    # Keras's LSTM has one bias; torch's second one stays 0 and untrained, so
                    # that Adam moves the same numbers on both sides.
                    mine.bias_hh_l0.zero_()
                    mine.bias_hh_l0.requires_grad_(False)
            self.out.weight.copy_(dense.kernel.t())  # Keras (F, 1) -> torch (1, F)
            self.out.bias.copy_(dense.bias)

    def forward(self, x):  # x (B, T, 1)
        h, _ = self.rnn1(x)  # (B, T, 64)
        h, _ = self.rnn2(h)  # (B, T, 32)
        return self.out(h[:, -1])  # (B, 1)

    def weights(self) -> list:
        """Every weight in rnnkit's order (layer by layer, torch's layout), for parity."""
        out = []
        for mine in (self.rnn1, self.rnn2):
            out += [p for n, p in mine.named_parameters() if p.requires_grad]
        return out + [self.out.weight.t(), self.out.bias]


def plain_epoch(net: PlainSeed, batches: list, opt) -> float:
    """The hand-written training loop: one pass over ``batches``; returns the mean loss."""
    total = 0.0
    for xb, yb in batches:
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item()
    return total / len(batches)


def plain_optimizer(net: PlainSeed):
    # Keras adds ε to √v before the bias correction, torch after it; at step 1 (where parity
    # is checked) torch's ε = Keras's 1e-7 / √(1 − β₂) gives the same update.
    return torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-3,
                            betas=(0.9, 0.999), eps=1e-7 / (1 - 0.999) ** 0.5)


def _seed_weights(model) -> list:
    return [p for layer in model.layers[:2] for p in layer.cell_weights().values()] + \
        [model.layers[2].kernel, model.layers[2].bias]


def seed_parity(family: str, x, y, B: int) -> float:
    """One training step from identical weights: the loss and every updated weight,
    rnnkit's fit vs the plain loop (scaled max |difference|, see :func:`max_diff`)."""
    model = seed_model(family)
    net = PlainSeed(model)
    hist = model.fit(x[:B], y[:B], batch_size=B, epochs=1, shuffle=False, verbose=0)
    loss = plain_epoch(net, [(torch.from_numpy(x[:B]), torch.from_numpy(y[:B]))],
                       plain_optimizer(net))
    return max_diff((torch.tensor(hist.history["loss"][0]), *_seed_weights(model)),
                    (torch.tensor(loss), *net.weights()))


@register("seed")
def seed(w: Workload) -> Pair:
    """rnnkit's ``fit(epochs=1)`` vs the plain loop on the same N windows, batch B, in order."""
    x, y = seed_data(w.samples, w.T)
    model = seed_model(w.family, w.T)
    net = PlainSeed(model)
    opt = plain_optimizer(net)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    batches = [(xt[i:i + w.B], yt[i:i + w.B]) for i in range(0, len(x), w.B)]

    def run_mine():
        return model.fit(x, y, batch_size=w.B, epochs=1, shuffle=False, verbose=0)

    G, (h1, h2) = GATES[w.family], SEED_UNITS
    per_sample = 2.0 * w.T * G * (h1 * (1 + h1) + h2 * (h1 + h2)) * 3  # forward + 2 backward GEMMs
    model.train()
    model(xt[:w.B])  # a training-mode forward, so that the kernel named is the one fit runs
    kernel = "/".join(dict.fromkeys(layer.last_choice.kernel if layer.last_choice else "?"
                                    for layer in model.layers[:2]))
    return Pair(run_mine, lambda: plain_epoch(net, batches, opt),
                lambda: seed_parity(w.family, x, y, w.B), tolerance=1e-5,
                flops=per_sample * w.samples, kernel=kernel,
                steps=w.T * len(batches), peak_shape=(w.T * w.B, h1, G * h1))


def format_epoch(row: dict) -> str:
    """The seed row's epoch times, printed under its table line."""
    if row.get("status") != "ok":
        return ""
    return (f"    one fit epoch: rnnkit {row['rnnkit_s_per_call']:.3f} s, plain PyTorch loop "
            f"{row['torch_s_per_call']:.3f} s (rnnkit takes "
            f"{row['rnnkit_s_per_call'] / row['torch_s_per_call']:.2f}x the loop's time)")


def _keras_seed_model(keras, family: str, T: int):
    rnn = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[family]
    model = keras.Sequential([keras.Input((T, 1)), rnn(SEED_UNITS[0], return_sequences=True),
                              rnn(SEED_UNITS[1]), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def keras_peer(family: str, samples: int, rounds: int, T: int = 100, B: int = 32) -> dict:
    """Run inside a process whose KERAS_BACKEND is set: parity of one step of Keras's fit
    with rnnkit's (same Keras-layout weights), then the median of ``rounds`` fit epochs
    after two warm-ups. The plain loop is not timed here: beside a JAX or TensorFlow
    runtime, torch's loop ran up to 18x slower, so the caller divides by the main run's."""
    import keras
    import numpy as np

    x, y = seed_data(samples, T)
    mine, theirs = seed_model(family, T), _keras_seed_model(keras, family, T)
    theirs.set_weights(mine.get_weights())
    loss = float(np.ravel(theirs.train_on_batch(x[:B], y[:B]))[0])
    hist = mine.fit(x[:B], y[:B], batch_size=B, epochs=1, shuffle=False, verbose=0)

    def as_t(arrays):
        return [torch.as_tensor(np.asarray(a, dtype=np.float32)) for a in arrays]

    diff = max_diff([torch.tensor(loss), *as_t(theirs.get_weights())],
                    [torch.tensor(hist.history["loss"][0]), *as_t(mine.get_weights())])
    row = {"peer": f"keras {keras.__version__} [{keras.backend.backend()}]",
           "parity_scaled_diff": diff}
    if not diff <= 1e-5:
        return dict(row, status="FAILED")
    fit = lambda: theirs.fit(x, y, batch_size=B, epochs=1, shuffle=False, verbose=0)  # noqa: E731
    for _ in range(2):  # warm-ups: tracing / XLA compilation happen in the first epoch
        fit()
    return dict(row, status="ok", rounds=rounds,
                epoch_s=statistics.median(_time(fit, 1) for _ in range(rounds)))


def keras_peers(w: Workload, threads: int, rounds: int, plain_s: Optional[float] = None,
                timeout_s: float = 900) -> list[dict]:
    """Keras 3's fit on each installed backend, each in a fresh process; a backend that is
    not installed is reported as skipped. ``plain_s``: the plain loop's epoch time from
    the main run, the ratios' denominator."""
    import importlib.util
    import json
    import os
    import subprocess
    import sys

    rows = []
    for backend in KERAS_BACKENDS:
        row = {"peer": f"keras [{backend}]", "workload": w.name}
        missing = [m for m in ("keras", backend) if importlib.util.find_spec(m) is None]
        if missing:
            rows.append(dict(row, status="skipped", why=f"{' and '.join(missing)} not installed"))
            continue
        env = dict(os.environ, KERAS_BACKEND=backend, OMP_NUM_THREADS=str(threads))
        if backend == "jax" and threads == 1:  # XLA's CPU client has no thread-count knob
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
                                " intra_op_parallelism_threads=1").strip()
        code = ("import sys, json; from rnnkit.tools.bench import _peer_main; "
                "print(json.dumps(_peer_main(*sys.argv[1:])))")
        args = [w.family, w.samples, rounds, w.T, w.B, threads]
        try:
            proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env,
                                  capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            rows.append(dict(row, status="error", why=f"no answer within {timeout_s:g} s"))
            continue
        lines = proc.stdout.strip().splitlines()
        if proc.returncode or not lines:
            err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            rows.append(dict(row, status="error", why=err))
            continue
        row.update(json.loads(lines[-1]))
        if row["status"] == "ok" and plain_s:
            row["vs_plain"] = row["epoch_s"] / plain_s
        rows.append(row)
    return rows


def _peer_main(family, samples, rounds, T, B, threads) -> dict:
    torch.set_num_threads(int(threads))
    if __import__("os").environ.get("KERAS_BACKEND") == "tensorflow":
        import tensorflow as tf  # pinned before its runtime starts

        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(threads))
    return keras_peer(family, int(samples), int(rounds), int(T), int(B))


def format_peer(row: dict) -> str:
    head = f"    peer {row['peer']}:"
    if row["status"] == "ok":
        ratio = (f" = {row['vs_plain']:.2f}x the plain PyTorch loop's time above"
                 if "vs_plain" in row else "")
        return (f"{head} {row['epoch_s']:.3f} s per fit epoch{ratio} (its own process, median of "
                f"{row['rounds']} epochs), parity ok {row['parity_scaled_diff']:.1e}")
    if row["status"] == "FAILED":
        return f"{head} FAILED parity with rnnkit ({row['parity_scaled_diff']:.1e}), not timed"
    return f"{head} {row['status']}: {row['why']}"
