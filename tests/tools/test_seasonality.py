import numpy as np
import pytest

from rnnkit.tools import seasonality as S


def test_adf_tells_a_random_walk_and_a_trend_from_a_stationary_series():
    rng = np.random.default_rng(0)
    e = rng.standard_normal(500)
    assert S.choose_preprocessing(np.cumsum(e))[0] == "diff"             # unit root
    assert S.choose_preprocessing(0.05 * np.arange(500) + e)[0] == "diff"  # trend
    ar = np.zeros(500)
    for t in range(1, 500):
        ar[t] = 0.5 * ar[t - 1] + e[t]
    mode, stat = S.choose_preprocessing(ar)
    assert mode == "level" and stat < S.ADF_CRITICAL_5PCT


def test_adf_without_lags_is_the_textbook_regression():
    # Δy_t = α + γ y_{t-1} + ε: γ and its t-statistic by hand with numpy's lstsq
    y = np.random.default_rng(3).standard_normal(200).cumsum()
    A = np.stack([np.ones(199), y[:-1]], 1)
    b = np.diff(y)
    coef = np.linalg.lstsq(A, b, rcond=None)[0]
    r = b - A @ coef
    se = np.sqrt(r @ r / (199 - 2) * np.linalg.inv(A.T @ A)[1, 1])
    assert S.adf_statistic(y, lags=0) == pytest.approx(coef[1] / se)


def test_season_is_the_highest_autocorrelation_peak():
    t = np.arange(600)
    rng = np.random.default_rng(1)
    assert S.detect_season(np.sin(2 * np.pi * t / 24) + 0.3 * rng.standard_normal(600)) == 24
    assert S.detect_season(rng.standard_normal(600)) is None
    trend = 0.2 * t + np.sin(2 * np.pi * t / 7)
    assert S.detect_season(trend, mode="diff") == 7


def test_window_covers_the_season_within_bounds():
    assert S.choose_window(12, 1000) == 12
    assert S.choose_window(3, 1000) == 9            # three seasons: at least MIN_WINDOW steps
    assert S.choose_window(None, 1000) == S.DEFAULT_WINDOW
    assert S.choose_window(365, 4000) == S.MAX_WINDOW
    assert S.choose_window(50, 100) == 25           # a quarter of the training part
