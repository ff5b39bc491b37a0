import numpy as np

from rnnkit.tools.compare import CellResult, Comparison, recommend, run_comparison
from rnnkit.tools.forecast import prepare_forecast


def _cmp(rows, rnn_ratio=1e-2, baseline=100.0):
    results = {}
    for cell, rmses, sec, params in rows:
        r = CellResult(cell, rmse=list(rmses), mae=list(rmses), params=params,
                       epoch_time=[sec])
        r.grad_norms = np.array([rnn_ratio if cell == "rnn" else 0.5, 1.0])
        results[cell] = r
    data = prepare_forecast(np.arange(60.0), np.arange(60.0), window=5)
    return Comparison(data, results, {"persistence": baseline}, {})


def test_best_metric_wins_when_nothing_is_close():
    choice, reasons = recommend(_cmp([("rnn", [3, 3.1], .1, 10), ("lstm", [1, 1.1], .3, 40),
                                      ("gru", [2, 2.1], .2, 30)]))
    assert choice == "lstm" and "lowest mean test RMSE" in reasons[0]


def test_cheaper_cell_within_one_std_wins():
    choice, reasons = recommend(_cmp([("lstm", [1.0, 1.4], .3, 40), ("gru", [1.1, 1.5], .2, 30)]))
    assert choice == "gru" and "within one standard deviation" in reasons[1]


def test_vanishing_rnn_gradient_and_baseline_are_mentioned():
    _, reasons = recommend(_cmp([("rnn", [5, 5], .1, 10), ("lstm", [1, 1], .3, 40)],
                                rnn_ratio=1e-6, baseline=0.5))
    text = " ".join(reasons)
    assert "vanishing gradients" in text and "Caution" in text


def test_run_comparison_same_splits_for_every_cell():
    t = np.sin(np.arange(120) / 3)
    data = prepare_forecast(t, t, window=6)
    cmp = run_comparison(data, ["rnn", "gru"], seeds=2, epochs=2, units=3)
    assert set(cmp.results) == {"rnn", "gru"}
    for r in cmp.results.values():
        assert len(r.rmse) == 2 and r.test_pred.shape == (len(data.X["test"]), 1)
        assert r.grad_norms.shape == (6,) and len(r.histories[0]["val_loss"]) == 2
    # SimpleRNN(3) on 1 feature: kernel 1x3, recurrent 3x3, one bias (Keras); Dense(1): 3 + 1
    assert cmp.results["rnn"].params == 3 * 1 + 3 * 3 + 3 + 3 + 1
    assert "persistence" in cmp.table()


def test_run_comparison_repeats_exactly_with_the_same_seeds():
    t = np.sin(np.arange(100) / 3)
    data = prepare_forecast(t, t, window=5)
    a, b = (run_comparison(data, ["lstm"], seeds=2, epochs=2, units=3) for _ in range(2))
    assert a.results["lstm"].rmse == b.results["lstm"].rmse
    assert a.results["lstm"].rmse[0] != a.results["lstm"].rmse[1]    # seeds differ
    h = a.results["lstm"].histories[0]
    assert h["best_epoch"] == int(np.argmin(h["val_loss"])) + 1 and len(h["epoch_time"]) == 2
