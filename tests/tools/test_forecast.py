import numpy as np
import pytest

from rnnkit.tools import forecast as F


def test_windows_go_to_the_part_holding_all_their_targets():
    t = np.arange(100, dtype=float)
    d = F.prepare_forecast(t, t, window=5, horizon=3, preprocess="level")
    n_tr, n_va, n_te = d.bounds
    assert (n_tr, n_va, n_te) == (70, 15, 15)
    for part, (a, b) in {"train": (0, n_tr), "val": (n_tr, n_tr + n_va),
                         "test": (n_tr + n_va, 100)}.items():
        s = d.start[part]
        assert len(s) and (s >= a).all() and (s + 2 < b).all()
        np.testing.assert_allclose(d.unscale(d.y[part], part), d.truth(part), rtol=1e-6)
        np.testing.assert_array_equal(d.truth(part)[:, 0], s)        # target value == its index
    # scalers were fitted on the 70 training steps only: mean 34.5
    assert d.norm.offset_y == pytest.approx(34.5)


def test_a_trend_gets_changes_from_the_last_value_and_a_season_gets_its_window():
    t = np.arange(300.0)
    y = 0.1 * t + np.sin(2 * np.pi * t / 12)
    d = F.prepare_forecast(y, y)
    assert d.norm.mode == "diff" and d.season == 12 and d.window == 12
    assert "Dickey-Fuller" in d.choice["preprocess"] and "season of 12" in d.choice["window"]
    # network targets are changes from each window's last value, back to levels exactly
    last = y[d.start["test"] - 1]
    np.testing.assert_allclose(d.y["test"][:, 0] * d.norm.scale_y + last,
                               d.truth("test")[:, 0], rtol=1e-5)
    np.testing.assert_allclose(d.unscale(d.y["test"], "test"), d.truth("test"), rtol=1e-5)
    # a test level above anything in training still gives inputs of training's size
    assert np.abs(d.X["test"]).max() < 2 * np.abs(d.X["train"]).max()


def test_white_noise_is_level_without_a_season():
    w = np.random.default_rng(1).standard_normal(400)
    d = F.prepare_forecast(w, w)
    assert d.norm.mode == "level" and d.season is None and d.window == 20


def test_diff_needs_the_target_among_the_inputs():
    x = np.arange(100.0)
    with pytest.raises(ValueError, match="preprocess: 'diff' .* must be an input column"):
        F.prepare_forecast(x, x, window=5, columns=["x"], target_name="y", preprocess="diff")
    d = F.prepare_forecast(x, x, window=5, columns=["x"], target_name="y")
    assert d.norm.mode == "level" and "not an input column" in d.choice["preprocess"]


def test_window_too_long_names_window():
    with pytest.raises(ValueError, match="window"):
        F.prepare_forecast(np.arange(50.0), np.arange(50.0), window=40)


def test_baselines_by_hand():
    y = np.array([1., 2, 3, 4, 5, 6, 7, 8])
    start = np.array([4, 6])
    np.testing.assert_array_equal(F.persistence_forecast(y, start, 2), [[4, 4], [6, 6]])
    # season 3: y[4] <- y[1], y[5] <- y[2]
    np.testing.assert_array_equal(F.seasonal_naive_forecast(y, start, 2, 3), [[2, 3], [4, 5]])
    np.testing.assert_array_equal(F.mean_forecast(y[:4], start, 2), [[2.5, 2.5], [2.5, 2.5]])
    assert F.rmse([1, 3], [2, 2]) == 1.0 and F.mae([1, 4], [2, 2]) == 1.5


def test_ar_least_squares_recovers_the_coefficients():
    rng = np.random.default_rng(0)
    y = np.zeros(3000)
    for t in range(2, 3000):
        y[t] = 0.5 + 0.6 * y[t - 1] - 0.3 * y[t - 2] + 0.01 * rng.standard_normal()
    np.testing.assert_allclose(F.fit_ar(y, 2), [0.5, 0.6, -0.3], atol=0.02)
    coef = np.array([1.0, 0.5])                          # y_t = 1 + 0.5 y_{t-1}
    np.testing.assert_allclose(F.ar_forecast(coef, np.array([0, 2.0]), np.array([2]), 2),
                               [[2.0, 2.0]])


def test_unknown_or_non_series_dataset():
    with pytest.raises(ValueError, match="sunspots"):
        F.load_series("sunspot")
    with pytest.raises(ValueError, match="expected a time series"):
        F.load_series("cmudict")


def test_bundled_series_bring_their_time_axis():
    years, name = F.series_time("sunspots")
    assert name == "year" and years[0] == "1700" and len(years) == 309
    months, name = F.series_time("airline")
    assert name == "month" and months[0] == "1949-01"
    assert F.series_time("ecg") == (None, None)
