"""Adding problem and copy-memory generators."""
import numpy as np
import pytest

from rnnkit.data.synthetic import (ADDING_BASELINE_MSE, adding_problem, copy_memory,
                                   copy_memory_baseline)


def test_adding_shapes_markers_and_target():
    X, y = adding_problem(500, 30, seed=0)
    assert X.shape == (500, 30, 2) and y.shape == (500, 1)
    assert X.dtype == np.float32 and y.dtype == np.float32
    markers = X[..., 1]
    assert set(np.unique(markers).tolist()) == {0.0, 1.0}
    assert (markers.sum(axis=1) == 2).all()                  # exactly two per sample
    assert (markers[:, :15].sum(axis=1) == 1).all()          # one in each half
    np.testing.assert_allclose(y[:, 0], (X[..., 0] * markers).sum(axis=1), rtol=1e-6)
    assert ((X[..., 0] >= 0) & (X[..., 0] < 1)).all()


def test_adding_baseline_mse_is_one_sixth():
    _, y = adding_problem(200_000, 4, seed=1)
    assert abs(((y - 1.0) ** 2).mean() - ADDING_BASELINE_MSE) < 0.003
    assert abs(ADDING_BASELINE_MSE - 0.1667) < 1e-4


def test_seed_and_generator_reproducible():
    a = adding_problem(5, 6, seed=7)
    b = adding_problem(5, 6, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a[0], b[0])
    c = adding_problem(5, 6, seed=8)
    assert not np.array_equal(a[0], c[0])


def test_copy_memory_layout_hand_checked():
    X, y = copy_memory(3, delay=5, n_symbols=4, copy_len=2, seed=0)
    assert X.shape == y.shape == (3, 9) and X.dtype == np.int64
    for x, t in zip(X, y):
        syms = x[:2]
        assert ((syms >= 1) & (syms <= 4)).all()
        np.testing.assert_array_equal(x[2:], [0, 0, 0, 0, 5, 0, 0])   # blanks, delimiter
        np.testing.assert_array_equal(t, [0] * 7 + syms.tolist())


def test_copy_memory_baseline_value():
    # Arjovsky et al. 2016: 10 log 8 / (T + 20)
    assert abs(copy_memory_baseline(100) - 10 * np.log(8) / 120) < 1e-12


@pytest.mark.parametrize("fn, kwargs, match", [
    (adding_problem, dict(n_samples=0, seq_len=5), "n_samples"),
    (adding_problem, dict(n_samples=2, seq_len=1), "seq_len"),
    (adding_problem, dict(n_samples=2, seq_len=5, seed=1.5), "seed"),
    (copy_memory, dict(n_samples=2, delay=0), "delay"),
    (copy_memory, dict(n_samples=2, delay=3, n_symbols=True), "n_symbols"),
])
def test_bad_arguments(fn, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        fn(**kwargs)
