"""The seed suite (rnnkit.tools.bench_seed): its data, the plain PyTorch twin of the seed
model, the one-step parity gate (and that it can fail), a tiny timed run, and the
Keras peers (skipped when a backend is missing; Keras-on-torch checked in process)."""
import os

import numpy as np
import pytest
import torch

from rnnkit.tools import bench, bench_seed


def test_seed_data_are_overlapping_windows_whose_target_is_the_next_value():
    x, y = bench_seed.seed_data(10, T=7)
    assert x.shape == (10, 7, 1) and y.shape == (10, 1) and x.dtype == y.dtype == np.float32
    np.testing.assert_array_equal(x[1:, :-1], x[:-1, 1:])  # each window moves by one step
    np.testing.assert_array_equal(y[:-1, 0], x[1:, -1, 0])  # the target is the next value
    assert 0.5 < np.abs(x).max() < 1.6  # a sine of amplitude 1 plus noise of std 0.1


@pytest.mark.parametrize("family", ["lstm", "gru"])
def test_the_plain_twin_computes_the_seed_model_from_its_weights(family):
    model = bench_seed.seed_model(family, T=12)
    net = bench_seed.PlainSeed(model)
    x = torch.randn(3, 12, 1)
    with torch.no_grad():
        torch.testing.assert_close(net(x), model(x), rtol=0, atol=1e-6)
    # the LSTM's second torch bias is the frozen zero that Keras's single bias implies
    n_bias_hh = sum(1 for n, p in net.named_parameters() if "bias_hh" in n and p.requires_grad)
    assert n_bias_hh == (2 if family == "gru" else 0)
    assert len(net.weights()) == len(bench_seed._seed_weights(model))


@pytest.mark.parametrize("family", ["lstm", "gru"])
def test_one_step_of_fit_and_of_the_plain_loop_agree(family):
    x, y = bench_seed.seed_data(8, T=20)
    assert bench_seed.seed_parity(family, x, y, B=8) <= 1e-5


def test_the_parity_gate_fails_when_the_plain_loop_trains_differently(monkeypatch):
    x, y = bench_seed.seed_data(8, T=20)
    plain = bench_seed.plain_optimizer

    def doubled_lr(net):
        opt = plain(net)
        opt.param_groups[0]["lr"] *= 2
        return opt

    monkeypatch.setattr(bench_seed, "plain_optimizer", doubled_lr)
    assert bench_seed.seed_parity("lstm", x, y, B=8) > 1e-4


def test_a_tiny_seed_run_is_timed_after_its_parity_check():
    w = bench.suites(samples=64)["seed"][1]
    assert (w.family, w.samples, w.T, w.B, w.in_size) == ("gru", 64, 100, 32, 1)
    row = bench.measure(w, rounds=1, budget_s=0.01)
    assert row["status"] == "ok" and row["parity_scaled_diff"] <= 1e-5
    assert row["speedup"] > 0 and row["rnnkit_s_per_call"] > 0 and row["torch_s_per_call"] > 0
    # µs per time step of one batch: the epoch runs T steps for each of its 2 batches
    assert row["rnnkit_us_per_step"] == pytest.approx(row["rnnkit_s_per_call"] / 200 * 1e6)
    assert bench.format_row(row).split()[0:3] == ["gru", "seed", "model"]
    assert "plain PyTorch loop" in bench_seed.format_epoch(row)


def test_a_peer_whose_backend_is_missing_is_skipped_without_a_process(monkeypatch):
    import importlib.util
    import subprocess

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "jax" else real(name, *a))
    monkeypatch.setattr(subprocess, "run", _never)
    monkeypatch.setattr(bench_seed, "KERAS_BACKENDS", ("jax",))
    (row,) = bench_seed.keras_peers(bench.suites(samples=64)["seed"][0], threads=1, rounds=1)
    assert row["status"] == "skipped" and row["why"] == "jax not installed"
    assert bench_seed.format_peer(row) == "    peer keras [jax]: skipped: jax not installed"


def test_keras_on_torch_agrees_with_rnnkit_and_is_timed():
    os.environ.setdefault("KERAS_BACKEND", "torch")  # read once, when keras is first imported
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch" or os.environ.get("KERAS_BACKEND") != "torch":
        pytest.skip("keras was imported on another backend")
    row = bench_seed.keras_peer("gru", samples=32, rounds=1, T=10, B=16)
    assert row["status"] == "ok" and row["parity_scaled_diff"] <= 1e-5
    assert row["epoch_s"] > 0 and row["rounds"] == 1
    assert "[torch]" in bench_seed.format_peer(row) and "loop" not in bench_seed.format_peer(row)
    row["vs_plain"] = 2.0
    assert "= 2.00x the plain PyTorch loop" in bench_seed.format_peer(row)


def _never(*a, **k):
    raise AssertionError("a missing backend must not start a process")
