"""rnnkit.seed.set_random_seed: one call makes weights, dropout and shuffling repeat."""
import random

import numpy as np
import pytest
import torch

from rnnkit.seed import set_random_seed


def _draws():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_seeds_python_numpy_and_torch():
    set_random_seed(42)
    a = _draws()
    set_random_seed(42)
    assert _draws() == a
    set_random_seed(43)
    assert _draws() != a


def test_two_seeded_fits_give_bit_identical_weights():
    layers = pytest.importorskip("rnnkit.layers")
    from rnnkit.models import Sequential

    def run():
        set_random_seed(0)
        X = np.random.normal(size=(48, 6, 2)).astype("float32")
        y = X.sum(axis=(1, 2))[:, None]
        model = Sequential([layers.GRU(8, input_shape=(6, 2)), layers.Dropout(0.3),
                            layers.Dense(1)])
        model.compile("adam", "mse")
        model.fit(X, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0)
        return model.get_weights()

    first, second = run(), run()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_bad_seeds():
    with pytest.raises(TypeError, match="`seed` must be an int"):
        set_random_seed(1.5)
    with pytest.raises(ValueError, match=r"\[0, 2\*\*32\)"):
        set_random_seed(-1)
