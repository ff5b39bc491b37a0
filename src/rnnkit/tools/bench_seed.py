"""The seed's model end to end, for ``rnnkit bench --suite seed``: one ``fit``
epoch of rnnkit's Sequential against a hand-written PyTorch loop over
torch.nn.LSTM/GRU on the same batches, and Keras 3's own fit as optional peers.

Registered into :mod:`rnnkit.tools.bench`'s runners when that module loads.
"""
from __future__ import annotations

import statistics
from typing import Optional

import torch

from rnnkit.tools.bench import GATES, Pair, Workload, _time, max_diff, register

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
    model = seed_model(family, T=x.shape[1])  # the seed's model, built for these windows
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
        code = ("import sys, json; import rnnkit.tools.bench; from rnnkit.tools.bench_seed import _peer_main; "
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
