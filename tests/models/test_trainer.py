"""The one training loop (src/rnnkit/models/trainer.py): every model kind goes through
its Trainer, callbacks reach it through the public interface (epoch, step,
stop_training, state_dict / load_state_dict), an exact resume needs nothing else,
and Seq2Seq.fit through the Trainer gives the losses of its loop written by hand."""
import copy

import numpy as np
import pytest
import torch

from rnnkit.callbacks import BackupAndRestore, Callback
from rnnkit.layers import LSTM, Dense, Input
from rnnkit.models import Model, Seq2Seq, Sequential, Trainer
from rnnkit.seed import set_random_seed

pytestmark = pytest.mark.usefixtures("one_thread")


def _data(n=24, T=5, F=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, F)).astype(np.float32)
    return X, X[:, -1, :1] * 2.0 + X[:, 0, 1:]


def _sequential():
    m = Sequential([LSTM(4, input_shape=(5, 2)), Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    return m


def _functional():
    x = Input(shape=(5, 2))
    m = Model(x, Dense(1)(LSTM(4)(x)))
    m.compile(optimizer="adam", loss="mse")
    return m


def _pairs(n=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(2, 5, (n,), generator=g)
    src, tgt = torch.zeros(n, 4, dtype=torch.long), torch.zeros(n, 5, dtype=torch.long)
    for i, L in enumerate(lengths.tolist()):
        s = torch.randint(4, 9, (L,), generator=g)
        src[i, :L], tgt[i, :L], tgt[i, L] = s, s.flip(0), 3
    return src, tgt


# --- the spy: no model kind bypasses the trainer -------------------------------------------
@pytest.mark.parametrize("kind", ["sequential", "functional", "seq2seq"])
def test_every_model_kind_trains_through_its_trainer(kind, monkeypatch):
    fits, batches = [], []
    real_fit, real_to_device = Trainer.fit, Trainer.to_device

    def spy_fit(self, *a, **k):
        fits.append(self.model)
        return real_fit(self, *a, **k)

    def spy_to_device(self, batch):
        batches.append(self.model)
        return real_to_device(self, batch)

    monkeypatch.setattr(Trainer, "fit", spy_fit)
    monkeypatch.setattr(Trainer, "to_device", spy_to_device)
    torch.manual_seed(0)
    if kind == "seq2seq":
        m = Seq2Seq(9, 9, cell="gru", embed_size=4, hidden_size=5)
        src, tgt = _pairs(10)
        m.fit(src, tgt, epochs=2, batch_size=4, seed=1)  # 3 batches per epoch
    else:
        m = _sequential() if kind == "sequential" else _functional()
        X, y = _data(12)
        m.fit(X, y, epochs=2, batch_size=4, verbose=0)  # 3 batches per epoch
    assert fits == [m] and m.trainer.model is m
    assert batches == [m] * 6
    assert m.history is m.trainer.history and m.history.epoch == [0, 1]


def test_one_trainer_per_model_and_one_stop_flag():
    a, b = _sequential(), _sequential()
    assert a.trainer is a.trainer and a.trainer is not b.trainer
    a.stop_training = True
    assert a.trainer.stop_training is True
    a.trainer.stop_training = False
    assert a.stop_training is False


# --- callbacks through the public interface ------------------------------------------------
class Watcher(Callback):
    """Reads epoch and step, stops through trainer.stop_training, and checks state_dict()
    inside on_epoch_end: using nothing but ``self.trainer``."""

    def __init__(self, stop_at=None):
        super().__init__()
        self.seen, self.states, self.stop_at = [], [], stop_at

    def on_train_batch_end(self, batch, logs=None):
        t = self.trainer
        self.seen.append((t.epoch, t.step))
        if (t.epoch, t.step) == self.stop_at:
            t.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.states.append(self.trainer.state_dict())


def test_a_callback_sees_epoch_step_and_stops_through_the_trainer():
    set_random_seed(0)
    m, w = _sequential(), Watcher(stop_at=(1, 1))
    X, y = _data(12)
    hist = m.fit(X, y, epochs=5, batch_size=4, callbacks=[w], verbose=0)
    assert w.trainer is m.trainer
    assert w.seen == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]  # stopped after (1, 1)
    assert hist.epoch == [0, 1]
    # inside on_epoch_end(e) the epoch counts as finished, before History records it
    assert [s["epoch"] for s in w.states] == [1, 2]
    assert w.states[0]["epochs"] == [0] and w.states[1]["epochs"] == [0, 1]
    assert w.states[1]["history"]["loss"] == pytest.approx(hist.history["loss"], rel=0, abs=0)
    assert m.trainer.state_dict()["epoch"] == 2


class Interrupt(Callback):
    """Saves what an exact resume needs at the end of `epoch`, then dies."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.saved = epoch, None

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.saved = {"weights": copy.deepcopy(self.model.state_dict()),
                          "optimizer": copy.deepcopy(self.model.optimizer.state_dict()),
                          "rng": torch.get_rng_state(), "loop": self.trainer.state_dict()}
            raise KeyboardInterrupt("killed (simulated)")


class Resume(Callback):
    def __init__(self, saved):
        super().__init__()
        self.saved = saved

    def on_train_begin(self, logs=None):
        self.model.load_state_dict(self.saved["weights"])
        self.model.optimizer.load_state_dict(self.saved["optimizer"])
        torch.set_rng_state(self.saved["rng"])
        self.trainer.load_state_dict(self.saved["loop"])


def _dropout_model():
    m = Sequential([LSTM(4, dropout=0.3, input_shape=(5, 2)), Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    return m


def _fit(m, callbacks=(), epochs=4):
    X, y = _data(20)
    return m.fit(X, y, epochs=epochs, batch_size=6, callbacks=list(callbacks), verbose=0)


@pytest.mark.parametrize("where", ["callback", "before fit"])
def test_exact_resume_through_the_public_state_dict(where):
    set_random_seed(3)
    ref = _dropout_model()
    ref_hist = _fit(ref)
    set_random_seed(3)
    dying, interrupt = _dropout_model(), Interrupt(1)
    with pytest.raises(KeyboardInterrupt):
        _fit(dying, [interrupt])
    set_random_seed(3)
    fresh = _dropout_model()
    if where == "callback":
        hist = _fit(fresh, [Resume(interrupt.saved)])
    else:  # load_state_dict outside fit: the next fit continues from it
        saved = interrupt.saved
        fresh.load_state_dict(saved["weights"])
        fresh.optimizer.load_state_dict(saved["optimizer"])
        fresh.trainer.load_state_dict(saved["loop"])
        torch.set_rng_state(saved["rng"])
        hist = _fit(fresh)
    for a, b in zip(fresh.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert hist.epoch == [0, 1, 2, 3]
    assert hist.history["loss"] == pytest.approx(ref_hist.history["loss"], rel=0, abs=0)


def test_resume_without_the_shuffle_state_differs():
    """Negative control for the test above: the loop's shuffle generator is part of
    what state_dict() carries; drop it and the resumed run shuffles differently."""
    set_random_seed(3)
    ref = _dropout_model()
    _fit(ref)
    set_random_seed(3)
    interrupt = Interrupt(1)
    with pytest.raises(KeyboardInterrupt):
        _fit(_dropout_model(), [interrupt])
    interrupt.saved["loop"]["shuffle_generator"] = None
    set_random_seed(3)
    fresh = _dropout_model()
    _fit(fresh, [Resume(interrupt.saved)])
    assert not all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), ref.get_weights()))


def test_backup_and_restore_talks_to_the_trainer_only(tmp_path, monkeypatch):
    calls = []
    real_state, real_load = Trainer.state_dict, Trainer.load_state_dict
    monkeypatch.setattr(Trainer, "state_dict",
                        lambda self: (calls.append("state_dict"), real_state(self))[1])
    monkeypatch.setattr(Trainer, "load_state_dict",
                        lambda self, s: (calls.append(("load", s["epoch"])), real_load(self, s)))
    set_random_seed(3)
    with pytest.raises(KeyboardInterrupt):
        _fit(_dropout_model(), [BackupAndRestore(tmp_path), Interrupt(2)])
    assert calls == ["state_dict"] * 4  # BackupAndRestore after epochs 0-2, then Interrupt
    calls.clear()
    set_random_seed(3)
    m = _dropout_model()
    hist = _fit(m, [BackupAndRestore(tmp_path)])
    assert calls[0] == ("load", 3) and hist.epoch == [0, 1, 2, 3]
    assert not hasattr(m, "_resume")


def test_load_state_dict_refuses_a_bad_state_before_changing_anything():
    m = _sequential()
    with pytest.raises(ValueError, match="missing"):
        m.trainer.load_state_dict({"epoch": 1})
    X, y = _data(8)
    assert m.fit(X, y, epochs=2, batch_size=4, verbose=0).epoch == [0, 1]  # from the start


# --- Seq2Seq.fit through the trainer = its loop by hand -------------------------------------
def _trim(x):
    used = (x != 0).any(0).nonzero()
    return x[:, : int(used.max()) + 1]


def _seq2seq_by_hand(m, src, tgt, *, epochs, batch_size, lr, ratio, clip_norm, seed):
    """Seq2Seq.fit's loop as it was written before the Trainer: one generator for the
    shuffle order and the scheduled-sampling draws, Adam, clipping, Σ loss·B / N."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(m.parameters(), lr=lr)
    N, losses = src.shape[0], []
    for _ in range(epochs):
        order, total = torch.randperm(N, generator=gen), 0.0
        for i in range(0, N, batch_size):
            idx = order[i:i + batch_size]
            m.train()
            loss = m.loss(_trim(src[idx]), _trim(tgt[idx]), teacher_forcing_ratio=ratio,
                          generator=gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), clip_norm)
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / N)
    return losses


@pytest.mark.parametrize("ratio", [1.0, 0.5])
def test_seq2seq_fit_through_the_trainer_gives_the_hand_loop_losses(ratio, capsys):
    torch.manual_seed(0)
    m = Seq2Seq(9, 9, cell="lstm", attention="dot", embed_size=4, hidden_size=5,
                dropout=0.1).double()
    twin = copy.deepcopy(m)
    src, tgt = _pairs(11)
    kw = dict(epochs=3, batch_size=4, lr=0.01, clip_norm=0.5)
    torch.manual_seed(7)  # dropout draws from torch's global RNG in both runs
    hist = m.fit(src, tgt, teacher_forcing_ratio=ratio, seed=5, verbose=True, **kw)
    torch.manual_seed(7)
    want = _seq2seq_by_hand(twin, src, tgt, ratio=ratio, seed=5, **kw)
    assert hist == {"loss": pytest.approx(want, rel=1e-12, abs=0)}
    for (k, a), b in zip(m.state_dict().items(), twin.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14, msg=k)
    out = capsys.readouterr().out.splitlines()
    assert out == [f"epoch {e + 1}/3  loss {v:.4f}" for e, v in enumerate(want)]
    assert m.history.history["loss"] == hist["loss"]  # the trainer's History


def test_seq2seq_train_step_keeps_its_direct_form():
    torch.manual_seed(0)
    m = Seq2Seq(9, 9, cell="gru", embed_size=4, hidden_size=5).double()
    twin = copy.deepcopy(m)
    src, tgt = _pairs(4)
    value = m.train_step(src, tgt, clip_norm=0.0)
    assert isinstance(value, float)
    twin.optimizer = torch.optim.Adam(twin.parameters(), lr=1e-3)
    loss = twin.loss(src, tgt)
    assert value == loss.item()
