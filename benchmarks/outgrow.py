"""Outgrowing one process (issue 15): data-parallel scaling, memory against T with
and without checkpointing, bfloat16 against float32.

    python benchmarks/outgrow.py --suite ddp memory bf16      # ~5 minutes on 2 cores
    python benchmarks/outgrow.py --suite ddp --samples 1280 --epochs 3

ddp     one `fit` epoch of the seed model (LSTM 64 -> LSTM 32 -> Dense, T=100) and of
        a larger LSTM (one layer of 256): 1 process x 2 threads against 2 processes x
        1 thread (torchrun, gloo), and 1 process x 1 thread as a control. Parity first: the 2-process weights after the
        epochs must match the 1-process weights to 1e-5 relative, else FAILED and
        no ratio. Epoch time = the median of the epochs after the first.
memory  peak resident memory of forward + backward of an LSTM(1 -> 32), batch 4,
        against T, with checkpoint_every=None and sqrt(T): each point in a fresh
        process (RSS sampled every 0.5 ms, above the level before the forward), and
        the bytes autograd keeps for backward. Parity first: gradients with and
        without chunks equal (float64, T=300).
bf16    one `fit` epoch of the seed model under "float32" and "mixed_bfloat16",
        alternating in one process. Parity first: the bfloat16 model's outputs
        within 4e-2 of float32's (the tolerance of tests/test_mixed_precision.py).

Every figure is from the machine this runs on, printed first; nothing here is
asserted in a test.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve()
SRC = str(HERE.parents[1] / "src")


def _env(threads: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS=str(threads), PYTHONPATH=SRC + os.pathsep + env.get("PYTHONPATH", ""))
    return env


def _model(kind: str):
    from rnnkit.layers import LSTM, Dense
    from rnnkit.models import Sequential
    import rnnkit.tools.bench  # noqa: F401  (imports bench_seed in the order it needs)
    from rnnkit.tools.bench_seed import seed_model

    if kind == "seed":
        return seed_model("lstm")
    torch.manual_seed(0)
    m = Sequential([LSTM(256, input_shape=(100, 1)), Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    return m


# --- workers (run in their own processes) ----------------------------------------------------
def worker_fit(kind: str, samples: int, epochs: int, out: str) -> None:
    from rnnkit.callbacks import Callback
    from rnnkit.distributed import is_writer
    import rnnkit.tools.bench  # noqa: F401  (imports bench_seed in the order it needs)
    from rnnkit.tools.bench_seed import seed_data

    x, y = seed_data(samples)
    model = _model(kind)
    times = []

    class Clock(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    model.fit(x, y, epochs=epochs, batch_size=32, shuffle=False, verbose=0, callbacks=[Clock()])
    if is_writer():
        np.savez(out, times=np.array(times), *[w for w in model.get_weights()])


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def worker_memory(T: int, every: int) -> None:
    """Peak RSS above the level before the forward (sampled every 0.5 ms by a thread),
    and the bytes autograd keeps for backward (saved-tensor hooks)."""
    import threading

    import rnnkit.nn as rnn

    torch.manual_seed(0)
    m = rnn.LSTM(1, 32, checkpoint_every=every or None)
    x = torch.randn(T, 4, 1)
    # warm-up through the same path (chunks too: checkpoint's first call imports modules)
    m(x[:max(10, 2 * every + 1)])[0].sum().backward()
    saved = {}

    def pack(t):
        saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    base, peak, done = _rss(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.0005)

    th = threading.Thread(target=sample)
    th.start()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out, _ = m(x)
    out[-1].pow(2).sum().backward()
    done.set()
    th.join()
    print(json.dumps({"T": T, "every": every, "peak_mb": (max(peak[0], _rss()) - base) / 2**20,
                      "saved_mb": sum(saved.values()) / 2**20}))


# --- suites ----------------------------------------------------------------------------------
def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_fit(kind: str, nproc: int, samples: int, epochs: int, folder: str,
             threads: int) -> dict:
    out = os.path.join(folder, f"{kind}-{nproc}-{threads}.npz")
    cmd = [str(HERE), "--worker", "fit", "--kind", kind, "--samples", str(samples),
           "--epochs", str(epochs), "--out", out]
    if nproc == 1:
        cmd = [sys.executable] + cmd
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
               "--master_addr", "127.0.0.1", "--master_port", str(_port())] + cmd
    subprocess.run(cmd, env=_env(threads), check=True, capture_output=True)
    z = np.load(out)
    return {"times": z["times"], "weights": [z[k] for k in z.files if k != "times"]}


def suite_ddp(samples: int, epochs: int) -> None:
    print(f"\nddp: one fit epoch, {samples} windows of T=100, global batch 32, median of "
          f"epochs 2..{epochs}")
    with tempfile.TemporaryDirectory() as folder:
        for kind in ("seed", "lstm256"):
            one = _run_fit(kind, 1, samples, epochs, folder, 2)
            solo = _run_fit(kind, 1, samples, epochs, folder, 1)  # control: 1 x 1
            two = _run_fit(kind, 2, samples, epochs, folder, 1)
            err = max(float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))
                      for a, b in zip(two["weights"], one["weights"]))
            t1, t11, t2 = (float(np.median(r["times"][1:])) for r in (one, solo, two))
            if err > 1e-5:
                print(f"  {kind:8s} FAILED parity: weights differ by {err:.1e} relative")
                continue
            print(f"  {kind:8s} parity {err:.1e} | 1 proc x 2 threads {t1:6.2f} s | "
                  f"1 proc x 1 thread {t11:6.2f} s | 2 procs x 1 thread {t2:6.2f} s | "
                  f"2 procs vs 1x2: {t1 / t2:4.2f}x, vs 1x1: {t11 / t2:4.2f}x")


def suite_memory(lengths) -> None:
    import rnnkit.nn as rnn

    torch.manual_seed(0)
    a = rnn.LSTM(1, 8, dtype=torch.float64)
    b = rnn.LSTM(1, 8, dtype=torch.float64, checkpoint_every=17)
    b.load_state_dict(a.state_dict())
    x = torch.randn(300, 2, 1, dtype=torch.float64)
    ga = torch.autograd.grad(a(x)[0].sum(), list(a.parameters()))
    gb = torch.autograd.grad(b(x)[0].sum(), list(b.parameters()))
    err = max(float((u - v).abs().max()) for u, v in zip(ga, gb))
    print(f"\nmemory: peak RSS of forward+backward, LSTM(1->32), batch 4 (parity {err:.1e})")
    if err > 1e-10:
        print("  FAILED parity: no figures")
        return
    print(f"  {'T':>8s} | {'peak RSS, no checkpoint':>24s} | {'every sqrt(T)':>14s} | "
          f"{'kept for backward: none':>24s} | {'every sqrt(T)':>14s}")
    for T in lengths:
        row = []
        for every in (0, int(round(T ** 0.5))):
            r = subprocess.run([sys.executable, str(HERE), "--worker", "memory", "--T", str(T),
                                "--every", str(every)], env=_env(1), capture_output=True,
                               text=True, check=True)
            row.append(json.loads(r.stdout.strip().splitlines()[-1]))
        print(f"  {T:8d} | {row[0]['peak_mb']:21.1f} MB | {row[1]['peak_mb']:11.1f} MB | "
              f"{row[0]['saved_mb']:21.1f} MB | {row[1]['saved_mb']:11.1f} MB")


def suite_bf16(samples: int, rounds: int) -> None:
    from rnnkit import mixed_precision
    import rnnkit.tools.bench  # noqa: F401  (imports bench_seed in the order it needs)
    from rnnkit.tools.bench_seed import seed_data

    x, y = seed_data(samples)
    model = _model("seed")
    xt = torch.from_numpy(x[:64])
    with torch.no_grad():
        ref = model(xt)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(xt)
    err = float((low.float() - ref).abs().max())
    print(f"\nbf16: one fit epoch of the seed model, {samples} windows, batch 32 "
          f"(parity: outputs within {err:.1e} of float32)")
    if not err < 4e-2:
        print("  FAILED parity: no figures")
        return
    times = {"float32": [], "mixed_bfloat16": []}
    for _ in range(rounds):
        for name in times:
            mixed_precision.set_global_policy(name)
            t = time.perf_counter()
            model.fit(x, y, epochs=1, batch_size=32, verbose=0)
            times[name].append(time.perf_counter() - t)
    mixed_precision.set_global_policy("float32")
    f32, b16 = (statistics.median(times[k]) for k in ("float32", "mixed_bfloat16"))
    print(f"  float32 {f32:.2f} s | mixed_bfloat16 {b16:.2f} s | bf16 speed-up {f32 / b16:.2f}x "
          f"(median of {rounds} alternating rounds; the recurrences compute in float32 either "
          "way, see the kernel report)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", nargs="+", default=["ddp", "memory", "bf16"],
                   choices=["ddp", "memory", "bf16"])
    p.add_argument("--samples", type=int, default=640)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--lengths", nargs="+", type=int, default=[1000, 10_000, 100_000])
    p.add_argument("--worker", choices=["fit", "memory"], help=argparse.SUPPRESS)
    p.add_argument("--kind", default="seed", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--T", type=int, help=argparse.SUPPRESS)
    p.add_argument("--every", type=int, default=0, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker == "fit":
        worker_fit(a.kind, a.samples, a.epochs, a.out)
        return 0
    if a.worker == "memory":
        torch.set_num_threads(1)
        worker_memory(a.T, a.every)
        return 0
    sys.path.insert(0, SRC)
    from rnnkit.tools.bench import machine

    torch.set_num_threads(2)
    print(machine(), f"| cores: {len(os.sched_getaffinity(0))} | load avg "
          f"{os.getloadavg()[0]:.1f}")
    for suite in a.suite:
        {"ddp": lambda: suite_ddp(a.samples, a.epochs), "memory": lambda: suite_memory(a.lengths),
         "bf16": lambda: suite_bf16(a.samples, a.rounds)}[suite]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
