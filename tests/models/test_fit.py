"""fit / evaluate / predict on tiny problems, with every kind of input."""
import math

import numpy as np
import pytest
import torch

from rnnkit.callbacks import Callback
from rnnkit.models import NotCompiledError, Sequential


def test_fit_learns_a_linear_map(toys):
    X, y = toys.linear_data(64)
    model = toys.dense_model(optimizer="adam")
    model.optimizer.learning_rate = 0.05
    before = model.evaluate(X, y, verbose=0)
    h = model.fit(X, y, epochs=40, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < 1e-3 * before
    w, b = model.get_weights()
    np.testing.assert_allclose(w[:, 0], [1 / 3, 2 / 3, 1.0], atol=0.02)
    np.testing.assert_allclose(b, [0.5], atol=0.02)


def test_evaluate_is_the_batch_size_weighted_mean_hand_computed(toys):
    X, y = toys.linear_data(10)
    model = toys.dense_model(metrics=["mae"])
    w = np.array([[1.0], [0.0], [-1.0]], dtype="float32")
    model.set_weights([w, np.array([0.25], dtype="float32")])
    err = X @ w + 0.25 - y
    loss, mae = model.evaluate(X, y, batch_size=3, verbose=0)  # batches of 3, 3, 3, 1
    assert loss == pytest.approx(float(np.mean(err ** 2)), rel=1e-5)
    assert mae == pytest.approx(float(np.mean(np.abs(err))), rel=1e-5)
    d = model.evaluate(X, y, verbose=0, return_dict=True)
    assert d == {"loss": pytest.approx(loss, rel=1e-6), "mae": pytest.approx(mae, rel=1e-6)}
    sw = np.linspace(0, 2, 10).astype("float32")
    weighted = model.evaluate(X, y, sample_weight=sw, batch_size=10, verbose=0)[0]
    assert weighted == pytest.approx(float(np.mean(sw[:, None] * err ** 2)), rel=1e-5)
    plain = toys.dense_model()
    plain.set_weights(model.get_weights())
    assert isinstance(plain.evaluate(X, y, verbose=0), float)


def test_validation_split_takes_the_last_fraction(toys):
    X, y = toys.linear_data(20)
    spy = toys.ToySpy(input_shape=(3,))
    model = Sequential([spy, toys.ToyDense(1)])
    model.compile("sgd", "mse")
    h = model.fit(X, y, epochs=1, batch_size=4, validation_split=0.25, verbose=0)
    seen = torch.cat(spy.seen).numpy()
    assert sorted(map(tuple, seen)) == sorted(map(tuple, X[:15]))  # trained on the first 15
    assert h.history["val_loss"][0] == pytest.approx(model.evaluate(X[15:], y[15:], verbose=0),
                                                      rel=1e-6)


def test_shuffle_changes_the_order_not_the_samples(toys):
    X, y = toys.linear_data(16)
    for shuffle in (False, True):
        spy = toys.ToySpy(input_shape=(3,))
        model = Sequential([spy, toys.ToyDense(1)])
        model.compile("sgd", "mse")
        model.fit(X, y, epochs=1, batch_size=4, shuffle=shuffle, verbose=0)
        seen = torch.cat(spy.seen).numpy()
        assert np.array_equal(seen, X) != shuffle
        assert sorted(map(tuple, seen)) == sorted(map(tuple, X))


def test_predict_is_batched_eval_mode_and_numpy(toys):
    X, y = toys.linear_data(10)
    model = toys.dense_model(dropout=0.5)
    out = model.predict(X, batch_size=3)
    assert isinstance(out, np.ndarray) and out.shape == (10, 1)
    model.eval()
    np.testing.assert_allclose(out, model(torch.from_numpy(X)).detach().numpy(), rtol=1e-6,
                               atol=1e-6)  # another batch size may round differently
    model.train()
    np.testing.assert_array_equal(model.predict(X, batch_size=3), out)  # dropout stays off
    assert model.training  # the mode is restored


def test_class_weight_equals_the_matching_sample_weight(toys):
    X, _ = toys.linear_data(12)
    y = (X[:, :1] > 0).astype("float32")
    a, b = toys.dense_model(loss="binary_crossentropy"), toys.dense_model(loss="mse")
    b.set_weights(a.get_weights())
    b.compile("sgd", "binary_crossentropy")
    a.fit(X, y, epochs=1, class_weight={0: 1.0, 1: 3.0}, shuffle=False, verbose=0)
    b.fit(X, y, epochs=1, sample_weight=np.where(y[:, 0] > 0, 3.0, 1.0), shuffle=False, verbose=0)
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-6)


def test_variable_length_lists_are_padded_and_masked(toys):
    seqs = [[[1.0], [2.0], [3.0]], [[4.0]], [[5.0], [6.0]]]
    y = np.array([[2.0], [4.0], [5.5]], dtype="float32")  # the mean of each sequence
    pool = toys.ToyMaskedMean()
    model = Sequential([pool])
    model.compile("sgd", "mse")
    out = model.predict(seqs)
    np.testing.assert_allclose(out, y)  # padding steps don't count
    assert model.evaluate(seqs, y, verbose=0) == pytest.approx(0.0, abs=1e-12)
    trainable = Sequential([toys.ToyDense(2), toys.ToyMaskedMean(), toys.ToyDense(1)])
    trainable.compile("adam", "mse")
    h = trainable.fit(seqs, y, epochs=2, batch_size=2, verbose=0)
    assert len(h.history["loss"]) == 2 and trainable.input_shape == (None, 3, 1)


def test_dataloaders_datasets_iterables_tensors_and_pandas(toys):
    pd = pytest.importorskip("pandas")
    X, y = toys.linear_data(16)
    tx, ty = torch.from_numpy(X), torch.from_numpy(y)
    ds = torch.utils.data.TensorDataset(tx, ty)
    loader = torch.utils.data.DataLoader(ds, batch_size=4)
    class Halves:  # any re-iterable object of (x, y) batches
        def __iter__(self):
            return iter([(tx[:8], ty[:8]), (tx[8:], ty[8:])])

    for source in (loader, ds, Halves()):
        model = toys.dense_model()
        h = model.fit(source, epochs=2, verbose=0, validation_data=loader)
        assert len(h.history["val_loss"]) == 2
    model = toys.dense_model()
    model.fit(tx, ty, epochs=1, verbose=0)
    model.fit(pd.DataFrame(X), pd.Series(y[:, 0]), epochs=1, verbose=0)
    gen = ((tx[i:i + 4], ty[i:i + 4]) for i in range(0, 16, 4))
    assert model.predict(loader).shape == (16, 1)
    model.fit(gen, epochs=1, verbose=0)  # a one-shot generator is fine for one epoch
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(loader, batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="`y` must be None"):
        model.fit(loader, y, verbose=0)
    with pytest.raises(TypeError, match="use a DataLoader or an iterator, not a list"):
        model.fit([(tx[:8], ty[:8]), (tx[8:], ty[8:])], verbose=0)


def test_epochs_zero_and_initial_epoch(toys):
    X, y = toys.linear_data(8)
    model = toys.dense_model()
    before = model.get_weights()
    assert model.fit(X, y, epochs=0, verbose=0).epoch == []
    np.testing.assert_array_equal(model.get_weights()[0], before[0])
    assert model.fit(X, y, epochs=3, initial_epoch=1, verbose=0).epoch == [1, 2]


def test_seeded_runs_are_bit_identical(toys):
    from rnnkit.seed import set_random_seed

    def run():
        set_random_seed(7)
        X, y = toys.linear_data(32, noise=0.1)
        model = toys.dense_model(optimizer="adam", dropout=0.2)
        model.fit(X, y, epochs=3, batch_size=8, verbose=0)
        return model.get_weights()
    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


BAD = [
    ("x/y samples", dict(y=np.zeros((7, 1))), ValueError, "same number of samples; got 8 in x"),
    ("features", dict(x=np.zeros((8, 4))), ValueError, "`x` has 4 features but the model was "
                                                       "built for 3"),
    ("rank", dict(x=np.zeros((8, 2, 3))), ValueError, r"`x` has shape \(None, 2, 3\) \(3 axes\)"),
    ("empty", dict(x=np.zeros((0, 3)), y=np.zeros((0, 1))), ValueError, "empty: it has 0 samples"),
    ("batch_size", dict(batch_size=0), ValueError, "`batch_size` must be >= 1, got 0"),
    ("epochs", dict(epochs=-1), ValueError, "`epochs` must be >= 0, got -1"),
    ("epochs type", dict(epochs=2.5), TypeError, "`epochs` must be an int"),
    ("nan x", dict(x=np.where(np.eye(8, 3) > 0, np.nan, 0.0)), ValueError,
     r"`x` contains 3 NaN or infinite value\(s\), the first at index \(0, 0\)"),
    ("inf y", dict(y=np.full((8, 1), np.inf)), ValueError, "`y` contains 8 NaN or infinite"),
    ("strings", dict(x=np.array([["a", "b", "c"]] * 8)), TypeError, "`x` must be numeric"),
    ("split", dict(validation_split=1.0), ValueError, "`validation_split` must be a float in"),
    ("tiny split", dict(validation_split=0.95), ValueError, "leaves 0 for training and 8"),
    ("sample_weight", dict(sample_weight=np.ones(3)), ValueError, "one weight per sample"),
    ("val data", dict(validation_data=(np.zeros((2, 3)),)), ValueError, "`validation_data` must"),
    ("val nan", dict(validation_data=(np.full((2, 3), np.nan), np.zeros((2, 1)))), ValueError,
     "`validation_data: x` contains"),
]


@pytest.mark.parametrize("case,kw,exc,msg", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_before_anything_changes(toys, case, kw, exc, msg):
    X, y = toys.linear_data(8)
    model = toys.dense_model()
    before = model.get_weights()
    args = {"x": X, "y": y, "verbose": 0, **kw}
    with pytest.raises(exc, match=msg):
        model.fit(**args)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_fit_and_evaluate_need_compile(toys):
    X, y = toys.linear_data(8)
    model = Sequential([toys.ToyDense(1)])
    with pytest.raises(NotCompiledError, match=r"compile\(optimizer, loss\)` before `fit\(\)"):
        model.fit(X, y)
    with pytest.raises(ValueError, match=r"before `evaluate\(\)"):
        model.evaluate(X, y)
    assert issubclass(NotCompiledError, RuntimeError)
    model.compile("adam")
    with pytest.raises(ValueError, match="needs a loss"):
        model.fit(X, y)


def test_unknown_names_suggest_the_closest(toys):
    model = Sequential([toys.ToyDense(1)])
    with pytest.raises(ValueError, match="did you mean 'mean_squared_error'"):
        model.compile("adam", "mean_square_error")
    with pytest.raises(ValueError, match="did you mean 'rmsprop'"):
        model.compile("rmsprob", "mse")
    with pytest.raises(ValueError, match="did you mean 'accuracy'"):
        model.compile("adam", "mse", metrics=["accurcy"])


def test_predict_detects_swapped_time_and_feature_axes(toys):
    model = Sequential([toys.ToyDense(4, input_shape=(20, 1)), toys.ToyMaskedMean()])
    assert model.predict(np.zeros((2, 20, 1))).shape == (2, 4)
    with pytest.raises(ValueError, match="time and feature axes look swapped.*transpose"):
        model.predict(np.zeros((2, 1, 20)))


def test_stop_training_from_a_callback_ends_after_the_batch(toys):
    X, y = toys.linear_data(16)
    batches = []

    class Stop(Callback):
        def on_batch_end(self, batch, logs=None):
            batches.append(batch)
            if batch == 1:
                self.model.stop_training = True
    h = toys.dense_model().fit(X, y, epochs=5, batch_size=4, callbacks=[Stop()], verbose=0)
    assert batches == [0, 1] and h.epoch == [0] and not math.isnan(h.history["loss"][0])


def test_the_output_mask_keeps_padding_out_of_the_loss(toys):
    # seq2seq on variable-length lists: x and y are padded; only the real steps may count
    # (Keras's masked loss). Real steps: output x, target x + 1 -> error 1; padded steps:
    # output 0, target 0 -> error 0, which would pull the mean to 4/6 if counted.
    seqs = [[[1.0], [2.0], [3.0]], [[4.0]]]
    targets = [[[2.0], [3.0], [4.0]], [[5.0]]]
    model = Sequential([toys.ToyMaskZero(input_shape=(None, 1)), toys.ToyDense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    model.set_weights([np.ones((1, 1), "float32"), np.zeros((1,), "float32")])
    loss, mae = model.evaluate(seqs, targets, verbose=0)
    assert loss == pytest.approx(1.0, rel=1e-5) and mae == pytest.approx(1.0, rel=1e-5)


def test_an_object_array_is_refused_as_non_numeric():
    import numpy as np
    from rnnkit.layers import LSTM, Dense
    from rnnkit.models import Sequential
    model = Sequential([LSTM(2), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(TypeError, match="`x` must be numeric.*object"):
        model.fit(np.array([[1, "a"], [2, "b"]], dtype=object), np.zeros((2, 1)), verbose=0)


def test_weights_that_overflow_on_the_last_step_are_not_silent(toys):
    """Issue #10: the loss of a step is computed before the step, so a last step that
    overflows the weights to inf would end fit() with a finite-looking history."""
    X = np.full((4, 3), 10.0, np.float32)
    y = np.zeros((4, 1), np.float32)
    model = toys.dense_model()
    model.compile(optimizer=torch.optim.SGD(model.parameters(), lr=1e38), loss="mse")
    with pytest.raises(FloatingPointError, match="hold NaN or inf although the losses were finite"):
        model.fit(X, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
