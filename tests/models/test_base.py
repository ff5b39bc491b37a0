"""BaseModel (src/rnnkit/models/base.py): the step hooks a Keras user overrides.

A subclass's ``train_step`` replaces the default step inside the one loop (its
update checked by hand), ``test_step`` serves evaluate, ``compute_loss`` is the
compiled loss plus penalties, and a step's bad return is refused by name."""
import re

import numpy as np
import pytest
import torch

from rnnkit.layers import Dense, Input
from rnnkit.models import BaseModel, Model, Seq2Seq, Sequential

pytestmark = pytest.mark.usefixtures("one_thread")


def _xy(n=8, F=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, F)).astype(np.float32)
    return X, (X @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)


class HalfLoss(Sequential):
    """Keras's custom-step pattern: x, y = batch; loss; backward; optimizer step."""

    calls = 0

    def train_step(self, batch):
        x, y = batch
        self.optimizer.zero_grad()
        loss = 0.5 * self.compute_loss(y=y, y_pred=self(x))
        loss.backward()
        self.optimizer.step()
        type(self).calls += 1
        n = len(x[0]) if isinstance(x, tuple) else len(x)  # a functional model's x: a tuple
        return {"loss": self.trainer.train_loss.update(loss.item(), n)}


class HalfLossGraph(Model):
    calls = 0
    train_step = HalfLoss.train_step


def _half_step_by_hand(w, b, X, y, lr):
    """One SGD step on L = ½·mean((Xw + b − y)²): ∂L/∂w = Xᵀr / n, ∂L/∂b = mean(r)."""
    X, y = X.astype(np.float64), y.astype(np.float64)
    r = X @ w + b - y  # (n, 1)
    loss = 0.5 * float(np.mean(r ** 2))
    return w - lr * X.T @ r / len(X), b - lr * r.mean(0), loss


@pytest.mark.parametrize("cls", [HalfLoss, HalfLossGraph])
def test_an_overridden_train_step_runs_inside_the_loop(cls):
    torch.manual_seed(0)
    if cls is HalfLoss:
        m = cls([Dense(1, input_shape=(3,))])
    else:
        x = Input(shape=(3,))
        m = cls(x, Dense(1)(x))
    m.compile(optimizer="sgd", loss="mse")  # Keras's SGD: lr 0.01, no momentum
    X, y = _xy()
    w, b = [a.astype(np.float64) for a in m.get_weights()]
    cls.calls = 0
    hist = m.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert cls.calls == 2
    w1, b1, loss0 = _half_step_by_hand(w, b, X, y, 0.01)
    w2, b2, loss1 = _half_step_by_hand(w1, b1, X, y, 0.01)
    np.testing.assert_allclose(hist.history["loss"], [loss0, loss1], rtol=1e-5)
    got_w, got_b = m.get_weights()
    np.testing.assert_allclose(got_w, w2, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got_b, b2, rtol=1e-5, atol=1e-7)


def test_an_overridden_train_step_updates_as_keras_does(keras):
    """Keras 3's own custom-step pattern on its torch backend, from the same weights:
    two epochs of the half-MSE SGD step end with the same weights (Keras's fit logs
    its metrics, not the returned loss, so the weights are compared)."""

    class KerasHalfLoss(keras.Sequential):
        def train_step(self, data):
            x, y = data
            loss = 0.5 * self.compute_loss(x=x, y=y, y_pred=self(x, training=True))
            self.zero_grad()
            loss.backward()
            weights = self.trainable_weights
            with torch.no_grad():
                self.optimizer.apply([v.value.grad for v in weights], weights)
            return {"loss": loss}

    X, y = _xy()
    theirs = KerasHalfLoss([keras.Input((3,)), keras.layers.Dense(1)])
    theirs.compile(optimizer="sgd", loss="mse")
    ours = HalfLoss([Dense(1, input_shape=(3,))])
    ours.compile(optimizer="sgd", loss="mse")
    ours.set_weights(theirs.get_weights())
    theirs.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    ours.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_an_overridden_test_step_serves_evaluate():
    class Counting(Sequential):
        def test_step(self, batch):
            x, _ = batch
            self.seen += len(x)
            return {"loss": float(self.seen)}

    m = Counting([Dense(1, input_shape=(3,))])
    m.seen = 0
    m.compile(optimizer="sgd", loss="mse")
    X, y = _xy(10)
    assert m.evaluate(X, y, batch_size=4, verbose=0) == 10.0  # the last batch's logs


def test_compute_loss_is_the_compiled_loss_plus_penalties():
    torch.manual_seed(0)
    m = Sequential([Dense(2, input_shape=(3,), kernel_regularizer="l2")])
    m.compile(optimizer="sgd", loss="mse")
    X, y = _xy()
    y = np.concatenate([y, -y], 1)
    xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    pred = m(xt)
    kernel = m.get_weights()[0].astype(np.float64)
    by_hand = float(np.mean((pred.detach().numpy() - y) ** 2)) + 0.01 * float((kernel ** 2).sum())
    assert float(m.compute_loss(y=yt, y_pred=pred).detach()) == pytest.approx(by_hand, rel=1e-6)


@pytest.mark.parametrize("ret,err,match", [
    (lambda: 0.5, TypeError, "`train_step` must return a dict"),
    (lambda: {"loss": float("nan")}, FloatingPointError, "the loss is nan"),
])
def test_a_bad_step_return_is_refused(ret, err, match):
    class Bad(Sequential):
        def train_step(self, batch):
            return ret()

    m = Bad([Dense(1, input_shape=(3,))])
    m.compile(optimizer="sgd", loss="mse")
    X, y = _xy()
    with pytest.raises(err, match=match):
        m.fit(X, y, epochs=1, verbose=0)


def test_every_model_kind_is_a_base_model():
    x = Input(shape=(3,))
    for m in (Sequential([Dense(1, input_shape=(3,))]), Model(x, Dense(1)(x)),
              Seq2Seq(6, 6, embed_size=2, hidden_size=3)):
        assert isinstance(m, BaseModel) and m.trainer.model is m


def test_seq2seq_refuses_the_keras_evaluate_and_predict_by_name():
    m = Seq2Seq(6, 6, embed_size=2, hidden_size=3)
    with pytest.raises(NotImplementedError, match="model.loss"):
        m.evaluate([[4, 5]], [[4, 3]])
    with pytest.raises(NotImplementedError, match="decode"):
        m.predict([[4, 5]])


def test_seq2seq_gets_the_base_summary_with_its_modules_and_totals():
    m = Seq2Seq(6, 7, cell="gru", embed_size=2, hidden_size=3)
    lines = []
    m.summary(print_fn=lines.append)
    text = lines[0]
    assert text.startswith('Model: "seq2seq"')
    # src_embed 6·2 = 12; GRU 3H(E + H) + 2·3H = 9·5 + 18 = 63; out 3·7 + 7 = 28
    for row, n in (("src_embed (Embedding)", 12), ("encoder (GRU)", 63), ("out (Linear)", 28)):
        assert re.search(rf"│ {re.escape(row)}\s+│\s+{n} │", text), row
    total = sum(p.numel() for p in m.parameters())
    assert f" Total params: {total:,}" in text


def test_predict_returns_a_list_when_the_last_layer_has_several_outputs():
    """Keras's Sequential.predict of a last Bidirectional(merge_mode=None) returns its two
    outputs in the layer's container (Keras's layer gives a tuple, rnnkit's a list), each
    output's batches joined in order (6 samples, batches of 4)."""
    import numpy as np
    import torch

    import rnnkit
    L = rnnkit.layers
    for inner, shape in ((L.LSTM(4, return_sequences=True), (5, 3)),
                         (L.ConvLSTM2D(2, 3, padding="same", return_sequences=True), (3, 4, 4, 1))):
        torch.manual_seed(0)
        model = rnnkit.Sequential([L.Input(shape), L.Bidirectional(inner, merge_mode=None)])
        x = np.random.default_rng(0).random((6,) + shape).astype("float32")
        got = model.predict(x, batch_size=4, verbose=0)
        with torch.no_grad():
            want = model(torch.from_numpy(x))
        assert type(got) is type(want) and len(got) == 2
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-6, atol=1e-6)
        assert not np.allclose(got[0], got[1])  # forward and backward differ
