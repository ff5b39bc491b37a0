"""fit(..., tbptt=k) equals Keras's hand-written stateful pattern: stateful layers,
one optimizer step per window, reset_states() between batches."""
import numpy as np
import pytest
import torch

from rnnkit.layers import LSTM, Bidirectional, Dense
from rnnkit.models import Sequential
from rnnkit.optimizers import Adam
from rnnkit.seed import set_random_seed


def _data(per_step: bool):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 12, 2)).astype("float32")
    y = np.cumsum(X[:, :, :1], axis=1) * 0.2 if per_step else X[:, :, :1].sum(1) * 0.2
    return X, y.astype("float32")


def _model(per_step: bool, stateful: bool = False):
    set_random_seed(3)
    m = Sequential([LSTM(6, return_sequences=per_step, stateful=stateful, input_shape=(12, 2)),
                    Dense(1)])
    m.compile(optimizer=Adam(learning_rate=0.02), loss="mse")
    return m


def _manual(per_step: bool, k: int, epochs: int):
    """What a Keras user writes by hand with a stateful layer."""
    X, y = _data(per_step)
    m = _model(per_step, stateful=True)
    lstm = m.layers[0]
    losses = []
    for _ in range(epochs):
        total = 0.0
        for b in range(0, 16, 8):
            xb, yb = torch.from_numpy(X[b:b + 8]), torch.from_numpy(y[b:b + 8])
            lstm.reset_states()
            batch, span = 0.0, 0.0
            for s in range(0, 12, k):
                xw = xb[:, s:s + k]
                last = s + k >= 12
                if not per_step and not last:
                    with torch.no_grad():
                        m(xw)
                    continue
                m.optimizer.zero_grad()
                yw = yb[:, s:s + k] if per_step else yb
                loss = m.loss(yw, m(xw))
                loss.backward()
                m.optimizer.step()
                w = xw.shape[1] if per_step else 1
                batch, span = batch + float(loss.detach()) * w, span + w
            total += batch / span * 8
        losses.append(total / 16)
    return m, losses


@pytest.mark.parametrize("per_step,k", [(True, 4), (True, 5), (False, 5)])
def test_tbptt_equals_manual_stateful_chunking(per_step, k):
    X, y = _data(per_step)
    model = _model(per_step)
    hist = model.fit(X, y, epochs=2, batch_size=8, shuffle=False, tbptt=k, verbose=0)
    ref, ref_losses = _manual(per_step, k, 2)
    # float32, and fit runs under the thread policy while the manual loop keeps torch's
    # count: another summation order, so a few ulps apart (a wrong carry is ~1e-2 off)
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hist.history["loss"], ref_losses, rtol=1e-5)
    assert model.layers[0].stateful is False  # the option doesn't leave the layer stateful
    # negative control: full backpropagation through time trains to other weights
    full = _model(per_step)
    full.fit(X, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert max(np.abs(a - b).max() for a, b in zip(full.get_weights(), ref.get_weights())) > 1e-4


def test_tbptt_of_the_whole_sequence_is_ordinary_fit():
    X, y = _data(True)
    a, b = _model(True), _model(True)
    a.fit(X, y, epochs=1, batch_size=8, shuffle=False, tbptt=12, verbose=0)
    b.fit(X, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad,kind,msg", [(0, ValueError, "positive int"),
                                          (-2, ValueError, "positive int"),
                                          (2.5, TypeError, "positive int"),
                                          (13, ValueError, r"`tbptt`=13 is longer than the "
                                                           r"sequences \(12 time steps\)")])
def test_bad_tbptt(bad, kind, msg):
    X, y = _data(True)
    with pytest.raises(kind, match=msg):
        _model(True).fit(X, y, epochs=1, tbptt=bad, verbose=0)


def test_backwards_layers_are_refused():
    X, y = _data(False)
    m = Sequential([Bidirectional(LSTM(3), input_shape=(12, 2)), Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="runs backwards"):
        m.fit(X, y, epochs=1, tbptt=4, verbose=0)
