"""The issue's seed code and Keras's classic recipes with the real rnnkit.layers
(shortened: T=20 and a few epochs, so the whole file takes seconds)."""
import numpy as np
import pytest
import torch

layers = pytest.importorskip("rnnkit.layers")
from rnnkit.callbacks import BackupAndRestore  # noqa: E402
from rnnkit.models import Sequential, load_model  # noqa: E402
from rnnkit.seed import set_random_seed  # noqa: E402

# Small tensors: torch's second thread only adds OpenMP wake-ups (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")


def noisy_sine(T=20, n=260, seed=0):
    rng = np.random.default_rng(seed)
    s = np.sin(np.arange(n + T) * 0.3) + 0.05 * rng.normal(size=n + T)
    X = np.stack([s[i:i + T] for i in range(n)])[..., None].astype("float32")  # (N, T, 1)
    return X, s[T:T + n].astype("float32")


@pytest.mark.parametrize("RNN", ["LSTM", "GRU"])
def test_seed_code_learns_a_noisy_sine(RNN):
    set_random_seed(0)
    X_train, y_train = noisy_sine()
    Rec = getattr(layers, RNN)
    Dense = layers.Dense
    # --- the seed's code block, imports changed, input_shape (100, 1) -> (20, 1) ---
    model = Sequential()
    model.add(Rec(64, input_shape=(20, 1), return_sequences=True))
    model.add(Rec(32))
    model.add(Dense(1, activation='linear'))
    model.compile(optimizer='adam', loss='mean_squared_error')
    history = model.fit(X_train, y_train, epochs=4, batch_size=32, verbose=0)
    # ---
    assert history.history["loss"][-1] < 0.1 * float(np.var(y_train))
    pred = model.predict(X_train[:5])
    assert pred.shape == (5, 1)


def test_lstm_autoencoder_reconstructs_sequences():
    set_random_seed(1)
    T = 8
    t = np.linspace(0, 2 * np.pi, T)
    rng = np.random.default_rng(1)
    phase = rng.uniform(0, 2 * np.pi, size=(96, 1))
    X = np.sin(t[None, :] + phase)[..., None].astype("float32")  # (N, T, 1)
    model = Sequential([
        layers.LSTM(16, input_shape=(T, 1)),                     # (B, 16)
        layers.RepeatVector(T),                                  # (B, T, 16)
        layers.LSTM(16, return_sequences=True),                  # (B, T, 16)
        layers.TimeDistributed(layers.Dense(1)),                 # (B, T, 1)
    ])
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.learning_rate = 0.01
    model.fit(X, X, epochs=40, batch_size=16, verbose=0)
    recon = model.predict(X)
    assert recon.shape == X.shape
    assert float(np.mean((recon - X) ** 2)) < 0.15 * float(np.var(X))


def test_embedding_mask_zero_with_variable_length_lists():
    set_random_seed(2)
    rng = np.random.default_rng(2)
    seqs = [list(rng.integers(1, 10, size=int(rng.integers(2, 9)))) for _ in range(64)]
    y = np.array([float(s[0] > 5) for s in seqs], dtype="float32")
    model = Sequential([layers.Embedding(10, 8, mask_zero=True), layers.LSTM(8),
                        layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    h = model.fit(seqs, y, epochs=3, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert set(h.history) == {"loss", "accuracy"}
    # the mask makes the padding irrelevant: alone or padded within a batch, same output
    alone = model.predict([seqs[0]])
    in_batch = model.predict(seqs[:8])[:1]
    np.testing.assert_allclose(alone, in_batch, rtol=1e-5, atol=1e-6)


def test_real_layers_save_load_and_resume(tmp_path):
    X, y = noisy_sine(T=10, n=48)

    def run(backup, crash=False):
        set_random_seed(3)
        model = Sequential([layers.LSTM(8, input_shape=(10, 1), dropout=0.2),
                            layers.Dropout(0.3), layers.Dense(1)])
        model.compile("adam", "mse")
        cbs = [BackupAndRestore(backup)]
        if crash:
            from rnnkit.callbacks import LambdaCallback

            def die(epoch, logs):
                if epoch == 1:
                    raise KeyboardInterrupt
            cbs.append(LambdaCallback(on_epoch_end=die))
        model.fit(X, y, epochs=3, batch_size=16, callbacks=cbs, verbose=0)
        return model

    ref = run(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b", crash=True)
    resumed = run(tmp_path / "b")
    for a, b in zip(resumed.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    ref.save(tmp_path / "m.rnnkit")
    loaded = load_model(tmp_path / "m.rnnkit")
    np.testing.assert_array_equal(loaded.predict(X), ref.predict(X))
    assert loaded.get_config() == ref.get_config()
    with torch.no_grad():
        torch.testing.assert_close(loaded.eval()(torch.from_numpy(X[:3])),
                                   ref.eval()(torch.from_numpy(X[:3])), rtol=0, atol=0)


@pytest.mark.slow
def test_seed_code_unshortened_length_100():
    """The seed block exactly (input_shape=(100, 1)) on a longer run."""
    set_random_seed(0)
    X_train, y_train = noisy_sine(T=100, n=600)
    model = Sequential()
    model.add(layers.LSTM(64, input_shape=(100, 1), return_sequences=True))
    model.add(layers.LSTM(32))
    model.add(layers.Dense(1, activation='linear'))
    model.compile(optimizer='adam', loss='mean_squared_error')
    history = model.fit(X_train, y_train, epochs=10, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.05 * float(np.var(y_train))
