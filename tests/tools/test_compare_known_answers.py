"""`compare` on generated series whose answer is known in advance."""
import numpy as np
import pytest

from rnnkit.tools.compare import run_comparison
from rnnkit.tools.forecast import prepare_forecast
from rnnkit.tools.verdict import VANISHED


def test_trend_plus_season_a_cell_beats_persistence_and_the_report_says_so(tmp_path):
    t = np.arange(240.0)
    y = 0.05 * t + np.sin(2 * np.pi * t / 12) + 0.1 * np.random.default_rng(0).standard_normal(240)
    data = prepare_forecast(y, y)                       # window and pre-processing from the data
    assert data.norm.mode == "diff" and data.window == 12
    cmp = run_comparison(data, ["gru"], seeds=2, epochs=10, units=8)
    dm = cmp.dm_vs("gru", "persistence")
    assert cmp.results["gru"].rmse_mean < cmp.baselines["persistence"] and dm.significant
    assert any(s.startswith("GRU beats persistence") for s in cmp.versus)
    from rnnkit.tools.report import write_report
    html = open(write_report(cmp, tmp_path)["report.html"], encoding="utf-8").read()
    assert "GRU beats persistence" in html


def test_white_noise_no_cell_beats_the_mean_beyond_noise_and_the_headline_says_none():
    w = np.random.default_rng(1).standard_normal(400)
    data = prepare_forecast(w, w)
    assert data.norm.mode == "level"
    cmp = run_comparison(data, ["rnn", "gru"], seeds=2, epochs=4, units=8)
    for cell, r in cmp.results.items():
        dm = cmp.dm_vs(cell, "mean")
        assert not (dm.significant and r.rmse_mean < cmp.baselines["mean"]), cell
    h = cmp.headline.lower()
    assert h.startswith("none of the recurrent cells") or h.startswith("on this series no "
                                                                       "recurrent cell beat")


@pytest.mark.slow
def test_delayed_copy_at_lag_50_gated_cells_beat_the_tanh_rnn_and_the_text_agrees():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1550)
    y, x = x[:-50], x[50:]                                        # y_t = x_{t-50}
    data = prepare_forecast(x[:, None], y, window=60, columns=["x"], target_name="y")
    cmp = run_comparison(data, ["rnn", "gru"], seeds=1, epochs=15, units=16, lr=1e-2)
    rnn, gru = cmp.results["rnn"], cmp.results["gru"]
    from rnnkit.tools.significance import diebold_mariano
    truth = cmp.truth()
    assert gru.rmse_mean < rnn.rmse_mean
    assert diebold_mariano(gru.errors(truth), rnn.errors(truth)).significant
    assert rnn.grad_ratio < VANISHED
    assert "consistent with vanishing gradients" in cmp.gradient_text
