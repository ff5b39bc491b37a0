"""pad_sequences against hand-computed Keras behaviour."""
import numpy as np
import pytest

from rnnkit.data.padding import pad_sequences

SEQS = [[1, 2, 3, 4], [5], [6, 7]]


def test_defaults_pre_pre_maxlen_longest():
    x, m = pad_sequences(SEQS)
    assert x.dtype == np.int32
    np.testing.assert_array_equal(x, [[1, 2, 3, 4], [0, 0, 0, 5], [0, 0, 6, 7]])
    np.testing.assert_array_equal(m, [[1, 1, 1, 1], [0, 0, 0, 1], [0, 0, 1, 1]])


@pytest.mark.parametrize("padding, truncating, want_x, want_m", [
    ("pre", "pre", [[2, 3, 4], [0, 0, 5], [0, 6, 7]], [[1, 1, 1], [0, 0, 1], [0, 1, 1]]),
    ("post", "pre", [[2, 3, 4], [5, 0, 0], [6, 7, 0]], [[1, 1, 1], [1, 0, 0], [1, 1, 0]]),
    ("pre", "post", [[1, 2, 3], [0, 0, 5], [0, 6, 7]], [[1, 1, 1], [0, 0, 1], [0, 1, 1]]),
    ("post", "post", [[1, 2, 3], [5, 0, 0], [6, 7, 0]], [[1, 1, 1], [1, 0, 0], [1, 1, 0]]),
])
def test_padding_truncating_maxlen3(padding, truncating, want_x, want_m):
    x, m = pad_sequences(SEQS, maxlen=3, padding=padding, truncating=truncating)
    np.testing.assert_array_equal(x, want_x)
    np.testing.assert_array_equal(m, np.array(want_m, dtype=bool))


def test_value_dtype_and_empty_sequence():
    x, m = pad_sequences([[1.5], []], maxlen=2, dtype="float32", value=-1.0, padding="post")
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, [[1.5, -1.0], [-1.0, -1.0]])
    np.testing.assert_array_equal(m, [[True, False], [False, False]])


def test_sample_shape_frames():
    a = np.ones((2, 3))
    b = np.full((1, 3), 2.0)
    x, m = pad_sequences([a, b], dtype="float32")
    assert x.shape == (2, 2, 3)
    np.testing.assert_array_equal(x[1], [[0, 0, 0], [2, 2, 2]])
    np.testing.assert_array_equal(m, [[True, True], [False, True]])


def test_maxlen_zero_and_no_sequences():
    x, m = pad_sequences([[1, 2]], maxlen=0)
    assert x.shape == (1, 0) and m.shape == (1, 0)
    x, m = pad_sequences([])
    assert x.shape == (0, 0)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(sequences=[[1]], padding="middle"), ValueError, "padding"),
    (dict(sequences=[[1]], truncating="x"), ValueError, "truncating"),
    (dict(sequences=[[1]], maxlen=-1), ValueError, "maxlen"),
    (dict(sequences=["abc"]), TypeError, "sequences\\[0\\]"),
    (dict(sequences=[[1]], value="x"), TypeError, "value"),
    (dict(sequences=[np.ones((2, 3)), np.ones((2, 4))]), ValueError, "sequences\\[1\\]"),
    (dict(sequences=5), TypeError, "sequences"),
])
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        pad_sequences(**kwargs)
