"""make_windows / windows_from_csv against hand-computed arrays."""
import numpy as np
import pytest

from rnnkit.data.windows import make_windows, n_windows, windows_from_csv


def test_univariate_horizon1():
    X, y = make_windows([10, 20, 30, 40, 50], window=3)
    assert X.shape == (2, 3, 1) and y.shape == (2, 1)
    np.testing.assert_array_equal(X[..., 0], [[10, 20, 30], [20, 30, 40]])
    np.testing.assert_array_equal(y, [[40], [50]])


def test_univariate_multistep_horizon():
    X, y = make_windows([1, 2, 3, 4, 5, 6], window=2, horizon=3)
    np.testing.assert_array_equal(X[..., 0], [[1, 2], [2, 3]])
    np.testing.assert_array_equal(y, [[3, 4, 5], [4, 5, 6]])


def test_multivariate_with_target_column_and_stride():
    s = np.array([[0, 100], [1, 101], [2, 102], [3, 103], [4, 104], [5, 105], [6, 106]])
    X, y = make_windows(s, window=2, horizon=1, target=1, stride=2)
    assert X.shape == (3, 2, 2)
    np.testing.assert_array_equal(X, [[[0, 100], [1, 101]],
                                      [[2, 102], [3, 103]],
                                      [[4, 104], [5, 105]]])
    np.testing.assert_array_equal(y, [[102], [104], [106]])


def test_feature_subset_and_negative_target():
    s = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    X, y = make_windows(s, window=2, target=-1, features=[0])
    np.testing.assert_array_equal(X, [[[1], [4]]])
    np.testing.assert_array_equal(y, [[9]])


def test_separate_target_series():
    X, y = make_windows([[1], [2], [3]], window=2, target=[7, 8, 9])
    np.testing.assert_array_equal(y, [[9]])


def test_n_windows_formula():
    assert n_windows(10, 3, 2, 1) == 6 and n_windows(10, 3, 2, 3) == 2
    X, _ = make_windows(np.arange(10), window=3, horizon=2, stride=3)
    assert len(X) == 2


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(series=[1, 2, 3], window=3), ValueError, ["window", "3"]),
    (dict(series=[1, 2, 3], window=0), ValueError, ["window", ">= 1"]),
    (dict(series=[1, 2, 3], window=1.5), TypeError, ["window", "int"]),
    (dict(series=[[1, 2], [3, 4], [5, 6]], window=1), ValueError, ["target", "column"]),
    (dict(series=[[1, 2], [3, 4], [5, 6]], window=1, target=2), ValueError, ["target", "[-2, 1]"]),
    (dict(series=[1, 2, 3], window=1, target=[1, 2]), ValueError, ["target", "length 3"]),
    (dict(series=[[1, 2], [3, 4], [5, 6]], window=1, target=0, features=[5]), ValueError, ["features"]),
    (dict(series=[], window=1), ValueError, ["series", "non-empty"]),
    (dict(series=np.zeros((2, 2, 2)), window=1), ValueError, ["series", "ndim"]),
    (dict(series=["a", "b"], window=1), TypeError, ["series", "numeric"]),
])
def test_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc) as e:
        make_windows(**kwargs)
    for w in words:
        assert w in str(e.value)


def test_windows_from_csv(tmp_path):
    pytest.importorskip("pandas")
    p = tmp_path / "s.csv"
    p.write_text("date,temp,load\n2020,1,10\n2021,2,20\n2022,3,30\n2023,4,40\n")
    X, y = windows_from_csv(p, window=2, target="load", features=["temp", "load"])
    np.testing.assert_array_equal(X, [[[1, 10], [2, 20]], [[2, 20], [3, 30]]])
    np.testing.assert_array_equal(y, [[30], [40]])
    X, y = windows_from_csv(p, window=3, target="temp")      # univariate by default
    np.testing.assert_array_equal(X[..., 0], [[1, 2, 3]])
    np.testing.assert_array_equal(y, [[4]])
    with pytest.raises(ValueError, match="series length 4"):
        windows_from_csv(p, window=4, target="temp")
