import math

import numpy as np
import pytest

from rnnkit.tools.significance import diebold_mariano


def test_statistic_by_hand_for_uncorrelated_differentials():
    a = np.array([1.0, 2, 0, 1, 3, 1, 2, 0])
    b = np.ones(8)
    d = a ** 2 - 1                                   # 0, 3, -1, 0, 8, 0, 3, -1
    n = 8
    lags = 2                                         # max(K - 1, floor(8 ** (1/3))) = 2
    c = d - d.mean()
    s = c @ c / n + 2 * sum((1 - k / 3) * (c[k:] @ c[:-k]) / n for k in (1, 2))
    hln = math.sqrt((n + 1 - 2 + 0) / n)
    res = diebold_mariano(a, b)
    assert lags == 2 and res.mean_diff == pytest.approx(d.mean())
    assert res.statistic == pytest.approx(hln * d.mean() / math.sqrt(s / n))
    assert res.p_value == pytest.approx(math.erfc(abs(res.statistic) / math.sqrt(2)))


def test_clear_difference_is_significant_and_noise_is_not():
    rng = np.random.default_rng(0)
    e = rng.standard_normal((200, 3))
    assert diebold_mariano(0.5 * e, e).significant and diebold_mariano(0.5 * e, e).statistic < 0
    other = rng.standard_normal((200, 3))
    assert not diebold_mariano(e, other).significant
    same = diebold_mariano(e, e)
    assert same.statistic == 0 and same.p_value == 1


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="err_b: expected the shape of err_a"):
        diebold_mariano(np.zeros((5, 2)), np.zeros((5, 1)))
    with pytest.raises(ValueError, match="at least 3 paired windows"):
        diebold_mariano(np.zeros(2), np.zeros(2))
