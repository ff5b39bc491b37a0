"""The thread policy (rnnkit.kernels.threads): its table, the load guard, the user's
setting winning, and torch's count restored after fit / evaluate / predict."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.kernels import threads
from rnnkit.kernels.spec import RecurrentSpec
from rnnkit.layers import GRU, LSTM, Dense
from rnnkit.models import Sequential
from rnnkit.training.callbacks import Callback


class FakeMeter:
    """Stands in for cpu_load.LoadMeter: other processes' load is whatever the test says."""

    def __init__(self, others=0.0):
        self.value = others
        self.works = True
        self.last_time = float("-inf")  # no earlier reading: the first check comes later

    def others(self):
        return self.value


@pytest.fixture
def clean(monkeypatch):
    """A process where the user set nothing: torch's count is its default (2 here), no
    env vars, no pin; 2 CPUs; a meter that reads no other load."""
    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "_DEFAULT", 2)
    monkeypatch.setattr(threads, "_PINNED", None)
    monkeypatch.setattr(threads, "_OURS", None)
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    meter = FakeMeter()
    monkeypatch.setattr(threads, "_METER", meter)
    torch.set_num_threads(2)
    yield meter
    torch.set_num_threads(before)


def work(*specs, batch=32, training=True, device="cpu"):
    return threads.Work(tuple(specs), batch, training, device)


# --- the table ----------------------------------------------------------------------------------

def test_per_step_products_decide_between_one_thread_and_all():
    seed = RecurrentSpec("lstm", 1, 64)  # the seed's first layer: 32·4·64·64 = 524,288
    d = threads.decide(work(seed, RecurrentSpec("lstm", 64, 32)), cores=4)
    assert (d.threads, d.source) == (4, "policy")
    assert "524,288 multiply-adds" in d.why and "all 4 CPUs" in d.why
    small = threads.decide(work(RecurrentSpec("gru", 1, 16), batch=8), cores=4)  # 8·3·16·16
    assert small.threads == 1 and "6,144 multiply-adds" in small.why and "under 50,000" in small.why


def test_the_threshold_is_inclusive_and_counts_the_projected_state():
    # Elman RNN: G = 1, so B·H·H = 20·50·50 = 50,000 exactly; one row less is 47,500.
    assert threads.decide(work(RecurrentSpec("rnn", 3, 50), batch=20), cores=2).threads == 2
    assert threads.decide(work(RecurrentSpec("rnn", 3, 50), batch=19), cores=2).threads == 1
    # LSTM with proj_size: the recurrent product is (B, P) x (P, 4H): 32·4·100·4 = 51,200
    proj = RecurrentSpec("lstm", 3, 100, proj_size=4)
    assert threads.per_step_madds(proj, 32) == 51_200
    assert threads.decide(work(proj, batch=30), cores=2).threads == 1  # 48,000


def test_rows_that_leave_the_count_alone():
    n = torch.get_num_threads()
    gpu = threads.decide(work(RecurrentSpec("gru", 1, 512), device="cuda"), cores=8)
    assert (gpu.threads, gpu.source) == (n, "untouched") and "cuda" in gpu.why
    dense = threads.decide(work(), cores=8)
    assert (dense.threads, dense.source) == (n, "untouched")
    one = threads.decide(work(RecurrentSpec("gru", 1, 512)), cores=1)
    assert one.threads == 1 and "one CPU" in one.why


# --- fit / evaluate / predict ------------------------------------------------------------------

class Spy(Callback):
    """Records torch's count and the first layer's kernel report during training."""

    def __init__(self, fail_at=None):
        super().__init__()
        self.seen, self.reports, self.fail_at = [], [], fail_at

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(torch.get_num_threads())
        self.reports.append(self.model.layers[0].kernel_report())
        if self.fail_at == batch:
            raise RuntimeError("boom")


def model(cell=GRU, units=64):
    torch.manual_seed(0)
    m = Sequential([cell(units, input_shape=(10, 1)), Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    return m


def data(n=64):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 10, 1)).astype("float32"), rng.standard_normal((n, 1)).astype("float32")


def test_fit_uses_the_policy_and_restores_the_count(clean, capsys):
    x, y = data()
    m, spy = model(GRU, 64), Spy()  # 32·3·64·64 = 393,216 per step: both CPUs
    torch.set_num_threads(2)
    m.fit(x[:32], y[:32], batch_size=8, epochs=1, verbose=0)  # 8·3·64·64 = 98,304: both
    m.fit(x, y, batch_size=2, epochs=1, verbose=2, callbacks=[spy])  # 2·3·64·64 = 24,576: one
    assert set(spy.seen) == {1}
    assert "threads: 1 (rnnkit's policy: 24,576 multiply-adds" in spy.reports[-1]
    assert "threads: 1 (rnnkit's policy: 24,576" in capsys.readouterr().out
    assert torch.get_num_threads() == 2


def test_the_count_comes_back_when_fit_raises(clean, monkeypatch):
    x, y = data()
    m, spy = model(GRU, 64), Spy(fail_at=1)
    with pytest.raises(RuntimeError, match="boom"):
        m.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[spy])
    assert spy.seen == [1, 1] and torch.get_num_threads() == 2
    assert threads._ACTIVE is None
    seen = []
    # A NaN loss raises FloatingPointError from inside the training loop.
    monkeypatch.setattr(m, "_compute_loss", lambda *a: (seen.append(torch.get_num_threads()),
                                                        torch.tensor(float("nan")))[1])
    with pytest.raises(FloatingPointError, match="training diverged"):
        m.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert seen == [1] and torch.get_num_threads() == 2


def test_evaluate_and_predict_follow_the_policy_too(clean, monkeypatch):
    x, y = data()
    m = model(GRU, 64)
    seen = []
    inner = m._forward_with_mask
    monkeypatch.setattr(m, "_forward_with_mask",
                        lambda *a: (seen.append(torch.get_num_threads()), inner(*a))[1])
    m.evaluate(x, y, batch_size=2, verbose=0)
    m.predict(x, batch_size=32)
    assert seen == [1] * 32 + [2, 2] and torch.get_num_threads() == 2


@pytest.mark.parametrize("how,expected", [
    ("torch", "set by the user: torch.set_num_threads(3); torch's default is 2"),
    ("rnnkit", "set by the user: rnnkit.set_threads(3)"),
    ("env", "set by the user: OMP_NUM_THREADS=3 in the environment"),
])
def test_an_explicit_user_setting_wins(clean, monkeypatch, how, expected):
    import rnnkit

    x, y = data()
    m, spy = model(GRU, 64), Spy()  # the policy alone would pick 1 thread at batch 2
    if how == "torch":
        torch.set_num_threads(3)
    elif how == "rnnkit":
        rnnkit.set_threads(3)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", "3")
        torch.set_num_threads(3)
    m.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[spy])
    assert set(spy.seen) == {3} and torch.get_num_threads() == 3
    assert f"threads: 3 ({expected})" in spy.reports[-1]
    rnnkit.set_threads(None)
    assert threads.get_threads() is None and torch.get_num_threads() == 2


def test_set_threads_refuses_bad_counts():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="`n`: expected a positive integer number of threads"):
            threads.set_threads(bad)


# --- the load guard --------------------------------------------------------------------------------

def test_the_load_guard_gives_up_a_thread_while_another_process_takes_a_core(clean, monkeypatch):
    monkeypatch.setattr(threads, "FIRST_CHECK_S", 0.0)
    monkeypatch.setattr(threads, "CHECK_S", 0.0)
    reports = []
    with threads.policy(work(RecurrentSpec("gru", 1, 64)), report=reports.append) as d:
        assert d.threads == 2
        clean.value = 0.2  # under BUSY_CORE: noise, keep both
        threads.tick()
        assert torch.get_num_threads() == 2
        clean.value = 1.0  # `yes` on one core
        threads.tick()
        assert torch.get_num_threads() == 1
        assert threads.current().startswith("1 (rnnkit's load guard: other processes kept 1.0 of 2")
        clean.value = 0.0
        threads.tick()
        assert torch.get_num_threads() == 2 and threads.current() == str(d)
    assert len(reports) == 3 and reports[1].startswith("threads: 1 (rnnkit's load guard")
    assert torch.get_num_threads() == 2


def test_a_nested_block_keeps_the_outer_count(clean):
    with threads.policy(work(RecurrentSpec("gru", 1, 4), batch=1)) as outer:  # one thread
        with threads.policy(work(RecurrentSpec("gru", 1, 512))) as inner:  # would be two
            assert inner is outer and torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


# --- the CLI's settings ----------------------------------------------------------------------------

def test_between_fits_is_rnnkits_count_not_the_users(clean):
    from rnnkit.cli._common import torch_threads

    with torch_threads(None):  # the CLI's default: 1 outside fit, the policy inside
        assert torch.get_num_threads() == 1 and threads.user_setting() is None
        with threads.policy(work(RecurrentSpec("gru", 1, 64))) as d:
            assert d.threads == 2 and torch.get_num_threads() == 2
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with torch_threads(3):  # --threads 3 pins it for the command, fits included
        with threads.policy(work(RecurrentSpec("gru", 1, 4), batch=1)) as d:
            assert d.threads == 3 and d.source == "user"
    assert torch.get_num_threads() == 2 and threads.get_threads() is None


def test_a_block_starts_from_the_load_seen_since_the_last_reading(clean, monkeypatch):
    clean.value, clean.last_time = 1.0, threads.time.monotonic() - 1.0  # read 1 s ago
    with threads.policy(work(RecurrentSpec("gru", 1, 64))) as d:
        assert d.threads == 1 and d.source == "load" and torch.get_num_threads() == 1
    clean.last_time = threads.time.monotonic() - 2 * threads.STALE_S  # too old to tell
    with threads.policy(work(RecurrentSpec("gru", 1, 64))) as d:
        assert d.threads == 2 and d.source == "policy"
