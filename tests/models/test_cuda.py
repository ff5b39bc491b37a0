"""The training API on a GPU (skipped without CUDA)."""
import numpy as np
import pytest
import torch

from rnnkit.callbacks import BackupAndRestore, LambdaCallback
from rnnkit.models import Sequential, load_model
from rnnkit.seed import set_random_seed

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def test_compile_device_cuda_trains_evaluates_predicts_saves(tmp_path):
    layers = pytest.importorskip("rnnkit.layers")
    set_random_seed(0)
    X = np.random.normal(size=(64, 10, 2)).astype("float32")
    y = X.sum(axis=(1, 2))[:, None] / 10
    model = Sequential([layers.LSTM(16, input_shape=(10, 2)), layers.Dense(1)])
    model.compile("adam", "mse", metrics=["mae"], device="cuda")
    assert all(p.is_cuda for p in model.parameters())
    h = model.fit(X, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    out = model.predict(X)
    assert isinstance(out, np.ndarray) and out.shape == (64, 1)
    loss, mae = model.evaluate(X, y, verbose=0)
    model.save(tmp_path / "m.rnnkit")
    cpu = load_model(tmp_path / "m.rnnkit")  # loads on the CPU
    # cuDNN may compute in TF32 (torch.backends.cudnn.allow_tf32 is True by default)
    np.testing.assert_allclose(cpu.predict(X), out, rtol=1e-3, atol=1e-3)
    cpu.to("cuda")
    np.testing.assert_allclose(cpu.predict(X), out, rtol=1e-5, atol=1e-6)


def test_lazy_layers_follow_model_to_cuda_and_masks_work():
    layers = pytest.importorskip("rnnkit.layers")
    model = Sequential([layers.Embedding(10, 4, mask_zero=True), layers.GRU(6),
                        layers.Dense(1, activation="sigmoid")]).to("cuda")
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    seqs = [[1, 2, 3], [4], [5, 6], [7, 8, 9, 1]]
    model.fit(seqs, np.array([1, 0, 1, 0], "float32"), epochs=2, batch_size=2, verbose=0)
    assert all(p.is_cuda for p in model.parameters())
    np.testing.assert_allclose(model.predict([seqs[1]]), model.predict(seqs)[1:2], atol=1e-6)


def test_backup_restores_the_cuda_rng(toys, tmp_path):
    def run(crash=False):
        set_random_seed(5)
        X, y = toys.linear_data(32, noise=0.1)
        model = toys.dense_model(optimizer="adam", dropout=0.3)
        model.to("cuda")
        cbs = [BackupAndRestore(tmp_path / "b")]
        if crash:
            def die(epoch, logs):
                if epoch == 1:
                    raise KeyboardInterrupt
            cbs.append(LambdaCallback(on_epoch_end=die))
        model.fit(X, y, epochs=4, batch_size=8, callbacks=cbs, verbose=0)
        return model.get_weights()

    ref = run()
    with pytest.raises(KeyboardInterrupt):
        run(crash=True)
    for a, b in zip(run(), ref):
        np.testing.assert_array_equal(a, b)
