"""Child of cpp_boundary_ab.py --clock cpu: times the native kernel ("cpu" backend) of the
rnnkit on PYTHONPATH in CPU time of this thread (time.thread_time), on one torch thread, so
that other processes on a loaded machine add little to it. Prints one JSON object:
workload -> median µs of CPU time per time step over --reps calls. No parity check here:
the run.py side of cpp_boundary_ab.py checks it, and the tests do."""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

T, I, H = 100, 64, 128


def workloads():
    import rnnkit.nn as rnn_nn

    seq = {"lstm": rnn_nn.LSTM, "gru": rnn_nn.GRU, "rnn": rnn_nn.RNN}
    for fam, cls in seq.items():
        for B in (1, 8):
            for training in (False, True):
                yield f"{fam} {'train' if training else 'infer'} B={B}", cls, {}, B, training
    extras = [("lstm", "layer_norm", dict(layer_norm=True)),
              ("lstm", "peephole", dict(peephole=True)),
              ("lstm", "proj_size=64", dict(proj_size=64)),
              ("lstm", "zoneout 0.1", dict(zoneout=0.1)),
              ("lstm", "recurrent_dropout 0.25", dict(recurrent_dropout=0.25)),
              ("gru", "layer_norm", dict(layer_norm=True)),
              ("gru", "reset_after=False", dict(reset_after=False)),
              ("rnn", "layer_norm", dict(layer_norm=True)),
              ("rnn", "relu", dict(nonlinearity="relu"))]
    for fam, label, kw in extras:
        yield f"{fam} {label} train B=8", seq[fam], kw, 8, True


def time_calls(fn, reps: int, steps: int) -> float:
    fn()  # warm-up (and the kernel's first load)
    fn()
    per = []
    for _ in range(reps):
        t0 = time.thread_time()
        fn()
        per.append((time.thread_time() - t0) / steps * 1e6)
    return statistics.median(per)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=20)
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    res = {}
    for name, cls, kw, B, training in workloads():
        m = cls(I, H, backend="cpu", **kw).train(training)
        x = torch.randn(T, B, I, requires_grad=training)
        g = torch.Generator()

        def call():
            g.manual_seed(0)
            if not training:
                with torch.no_grad():
                    return m(x, generator=g)[0]
            out = m(x, generator=g)[0]
            return torch.autograd.grad(out.sum(), [x, *m.parameters()])

        res[name] = time_calls(call, args.reps, T)
    import rnnkit.nn as rnn_nn

    for fam, cls in (("lstm", rnn_nn.LSTMCell), ("gru", rnn_nn.GRUCell), ("rnn", rnn_nn.RNNCell)):
        cell = cls(H, H)
        x, h = torch.randn(1, H), torch.randn(1, H)
        state = (h, torch.randn(1, H)) if fam == "lstm" else h

        def steps():
            with torch.no_grad():
                for _ in range(200):
                    cell(x, state)

        res[f"{fam} step B=1"] = time_calls(steps, args.reps, 200)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
