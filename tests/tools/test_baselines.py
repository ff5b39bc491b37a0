import numpy as np

from rnnkit.tools.baselines import baseline_forecasts, max_ar_order
from rnnkit.tools.forecast import prepare_forecast, rmse


def test_baselines_by_hand_on_a_pure_season():
    t = np.arange(240.0)
    y = np.sin(2 * np.pi * t / 12) + 5
    d = prepare_forecast(y, y, window=12, preprocess="level")
    b = baseline_forecasts(d)
    assert d.season == 12 and set(b) >= {"mean", "persistence", "seasonal naive"}
    np.testing.assert_allclose(b["seasonal naive"].test, d.truth("test"), atol=1e-9)
    np.testing.assert_allclose(b["mean"].test, np.mean(y[:d.bounds[0]]))
    np.testing.assert_array_equal(b["persistence"].test[:, 0], y[d.start["test"] - 1])
    ar = next(k for k in b if k.startswith("AR("))
    assert rmse(b[ar].test, d.truth("test")) < 1e-6      # a sine is an exact AR(2)


def test_ar_order_is_chosen_on_validation():
    rng = np.random.default_rng(0)
    y = np.zeros(600)
    for t in range(3, 600):
        y[t] = 0.3 * y[t - 1] + 0.6 * y[t - 3] + rng.standard_normal()
    d = prepare_forecast(y, y, window=10, preprocess="level")
    ar = [k for k in baseline_forecasts(d) if k.startswith("AR(")]
    assert len(ar) == 1 and int(ar[0][3:-1]) >= 3
    coef = baseline_forecasts(d)[ar[0]].params["coef"]
    assert len(coef) == int(ar[0][3:-1]) + 1                        # [c, a_1 .. a_p]
    assert max_ar_order(None, 1000) == 12 and max_ar_order(24, 1000) == 24
    assert max_ar_order(400, 1000) == 60 and max_ar_order(None, 20) == 4
