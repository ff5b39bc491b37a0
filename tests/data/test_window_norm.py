import json

import numpy as np
import pytest

from rnnkit.data import WindowNorm, window_norm_from_dict


def test_level_mode_is_a_standard_scaler_of_the_training_part():
    v = np.array([[1.0], [2.0], [3.0], [4.0]])
    w = WindowNorm("level").fit(v, v[:, 0])
    X = np.array([[[2.5], [4.0]]])                                      # (1, 2, 1)
    np.testing.assert_allclose(w.inputs(X), (X - 2.5) / np.sqrt(1.25))
    np.testing.assert_allclose(w.targets([[4.0]], [0.0]), [[1.5 / np.sqrt(1.25)]])
    np.testing.assert_allclose(w.inverse(w.targets([[7.0]], [9.0]), [123.0]), [[7.0]])


def test_diff_mode_measures_from_each_windows_last_value():
    v = np.array([0.0, 1, 3, 6])[:, None]                               # changes 1, 2, 3
    w = WindowNorm("diff").fit(v, v[:, 0])
    d = np.std([1.0, 2, 3])
    X = np.array([[[10.0], [12.0]], [[100.0], [99.0]]])
    np.testing.assert_allclose(w.inputs(X)[:, :, 0], [[-2 / d, 0], [1 / d, 0]])
    y = np.array([[15.0, 16.0], [97.0, 98.0]])
    z = w.targets(y, [12.0, 99.0])
    np.testing.assert_allclose(z, [[3 / d, 4 / d], [-2 / d, -1 / d]])
    np.testing.assert_allclose(w.inverse(z, [12.0, 99.0]), y)


def test_round_trip_through_json_and_bad_input():
    v = np.random.default_rng(0).standard_normal((30, 2))
    w = WindowNorm("diff").fit(v, v[:, 0])
    again = window_norm_from_dict(json.loads(json.dumps(w.to_dict())))
    X = v[None, :5]
    np.testing.assert_array_equal(again.inputs(X), w.inputs(X))
    with pytest.raises(ValueError, match="mode: expected one of"):
        WindowNorm("log")
    with pytest.raises(ValueError, match=r"X: expected \(N, W, 2\)"):
        w.inputs(v[None, :5, :1])
    with pytest.raises(ValueError, match="not fitted"):
        WindowNorm().inputs(X)
    with pytest.raises(ValueError, match="last: expected one last observed value per window"):
        w.inverse(np.zeros((3, 1)), [1.0])
    with pytest.raises(ValueError, match="finite"):
        WindowNorm().fit(np.array([[1.0], [np.nan]]), np.array([1.0, 2.0]))
