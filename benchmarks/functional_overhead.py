"""What a functional model's graph costs over the same model written by hand.

    python benchmarks/functional_overhead.py                 # all workloads, ~1 minute
    python benchmarks/functional_overhead.py --rounds 30 --json out.jsonl

Each workload is built once as ``rnnkit.Model(inputs, outputs)``; the
hand-written twin is a plain ``torch.nn.Module`` whose ``forward`` calls the
SAME layer objects in the same order, so both compute the same numbers with
the same weights. Parity first: outputs (and, for training, every gradient)
must be identical, or the workload is reported as FAILED with no ratio.
Then rounds alternate the two in one process (warm-ups first); each round
times ``--iters`` calls of each, and the reported figure is the median over
rounds of functional time / hand-written time, for inference (no_grad,
eval) and for a training step (forward + backward). Issue 13's bar is at most
1.05. Small models show the graph's fixed cost most; that is the point.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch
from torch import nn

import rnnkit as keras
from rnnkit import layers


def encoder_decoder(B, T, H):
    enc_in = keras.Input((None, 16))
    enc = layers.LSTM(H, return_state=True)
    _, h, c = enc(enc_in)
    dec_in = keras.Input((None, 16))
    dec = layers.LSTM(H, return_sequences=True)
    dense = layers.Dense(16)
    model = keras.Model([enc_in, dec_in], dense(dec(dec_in, initial_state=[h, c])))

    class Hand(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.dec, self.dense = enc, dec, dense

        def forward(self, xs):
            _, h, c = self.enc(xs[0])
            return self.dense(self.dec(xs[1], initial_state=[h, c]))

    return model, Hand(), [torch.randn(B, T, 16), torch.randn(B, T, 16)]


def masked_text(B, T, H):
    tokens = keras.Input((None,), dtype="int32")
    emb = layers.Embedding(1000, 32, mask_zero=True)
    bi = layers.Bidirectional(layers.GRU(H, return_sequences=True))
    last = layers.GRU(H)
    head = layers.Dense(1, activation="sigmoid")
    model = keras.Model(tokens, head(last(bi(emb(tokens)))))

    class Hand(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.bi, self.last, self.head = emb, bi, last, head

        def forward(self, xs):
            ids = xs[0]
            m = ids != 0
            return self.head(self.last(self.bi(self.emb(ids), mask=m), mask=m))

    ids = torch.randint(1, 1000, (B, T))
    ids[: B // 2, T // 2:] = 0  # half the batch padded
    return model, Hand(), [ids]


def multi_branch(B, T, H):
    seq, meta = keras.Input((T, 8)), keras.Input((4,))
    rnn, d1 = layers.SimpleRNN(H), layers.Dense(H, activation="relu")
    cat, d2 = layers.Concatenate(), layers.Dense(1)
    model = keras.Model([seq, meta], d2(cat([rnn(seq), d1(meta)])))

    class Hand(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.d1, self.cat, self.d2 = rnn, d1, cat, d2

        def forward(self, xs):
            return self.d2(self.cat([self.rnn(xs[0]), self.d1(xs[1])]))

    return model, Hand(), [torch.randn(B, T, 8), torch.randn(B, 4)]


WORKLOADS = {"encoder_decoder": encoder_decoder, "masked_text": masked_text,
             "multi_branch": multi_branch}
SIZES = [(1, 10, 32), (32, 50, 128)]


def _parity(model, hand, xs) -> str | None:
    model.train()
    out_f = model(xs)
    g_f = torch.autograd.grad(out_f.sum(), list(model.parameters()))
    out_h = hand(xs)
    g_h = torch.autograd.grad(out_h.sum(), list(model.parameters()))
    if not torch.equal(out_f, out_h):
        return f"outputs differ by {float((out_f - out_h).abs().max()):.3g}"
    if not all(torch.equal(a, b) for a, b in zip(g_f, g_h)):
        return "gradients differ"
    return None


def _time(fn, iters: int) -> float:
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    return time.perf_counter() - start


def measure(model, hand, xs, rounds: int, iters: int) -> dict:
    def infer(m):
        def run():
            with torch.no_grad():
                m(xs)
        return run

    def train(m):
        params = list(model.parameters())

        def run():
            torch.autograd.grad(m(xs).sum(), params)
        return run

    out = {}
    for mode, make in (("inference", infer), ("training", train)):
        (model.eval if mode == "inference" else model.train)()
        f, h = make(model), make(hand)
        for _ in range(3):
            f(), h()
        ratios = []
        for r in range(rounds):  # alternate which goes first
            if r % 2:
                th, tf = _time(h, iters), _time(f, iters)
            else:
                tf, th = _time(f, iters), _time(h, iters)
            ratios.append(tf / th)
        out[mode] = {"ratio_median": statistics.median(ratios),
                     "ratio_min": min(ratios), "ratio_max": max(ratios)}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", default=None, help="append one JSON line per workload")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    keras.utils.set_random_seed(0)
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; ratio = functional / hand-written (median of "
          f"{args.rounds} alternating rounds of {args.iters} calls)")
    print(f"{'workload':<16} {'B,T,H':<12} {'inference':>10} {'training':>10}")
    for name, build in WORKLOADS.items():
        for B, T, H in SIZES:
            model, hand, xs = build(B, T, H)
            why = _parity(model, hand, xs)
            if why is not None:
                print(f"{name:<16} {f'{B},{T},{H}':<12} FAILED parity: {why}")
                continue
            res = measure(model, hand, xs, args.rounds, args.iters)
            print(f"{name:<16} {f'{B},{T},{H}':<12} {res['inference']['ratio_median']:>10.3f} "
                  f"{res['training']['ratio_median']:>10.3f}")
            if args.json:
                with open(args.json, "a") as fh:
                    fh.write(json.dumps({"workload": name, "B": B, "T": T, "H": H,
                                         "threads": torch.get_num_threads(), **res}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
