import numpy as np

import rnnkit.tools.fitting as fitting
from rnnkit.tools.compare import lead_rmse, run_comparison
from rnnkit.tools.forecast import prepare_forecast


def test_run_comparison_same_splits_for_every_cell():
    t = np.sin(np.arange(120) / 3)
    data = prepare_forecast(t, t, window=6)
    cmp = run_comparison(data, ["rnn", "gru"], seeds=2, epochs=2, units=3)
    assert set(cmp.results) == {"rnn", "gru"}
    for r in cmp.results.values():
        assert len(r.rmse) == 2 and len(r.val_rmse) == 2
        assert r.test_pred.shape == (len(data.X["test"]), 1) and len(r.preds) == 2
        assert r.grad_norms.shape == (6,) and len(r.histories[0]["val_loss"]) == 2
    # SimpleRNN(3) on 1 feature: kernel 1x3, recurrent 3x3, one bias (Keras); Dense(1): 3 + 1
    assert cmp.results["rnn"].params == 3 * 1 + 3 * 3 + 3 + 3 + 1
    assert {"mean", "persistence"} <= set(cmp.baselines) and "persistence" in cmp.table()
    assert cmp.winner in set(cmp.results) | set(cmp.baselines)
    assert cmp.headline and cmp.recommendation in ("rnn", "gru") and cmp.gradient_text


def test_run_comparison_repeats_exactly_with_the_same_seeds():
    t = np.sin(np.arange(100) / 3)
    data = prepare_forecast(t, t, window=5)
    a, b = (run_comparison(data, ["lstm"], seeds=2, epochs=2, units=3) for _ in range(2))
    assert a.results["lstm"].rmse == b.results["lstm"].rmse
    assert a.results["lstm"].rmse[0] != a.results["lstm"].rmse[1]    # seeds differ
    h = a.results["lstm"].histories[0]
    assert h["best_epoch"] == int(np.argmin(h["val_loss"])) + 1 and len(h["epoch_time"]) == 2


def test_seconds_per_epoch_leave_out_a_slow_first_epoch(monkeypatch):
    # a fake slow first epoch (as when the native kernel compiles): 1 s more
    real = fitting.EpochTimer.on_epoch_begin

    def slow_first(self, epoch, logs=None):
        real(self, epoch, logs)
        if epoch == 0:
            import time
            time.sleep(1.0)

    monkeypatch.setattr(fitting.EpochTimer, "on_epoch_begin", slow_first)
    t = np.sin(np.arange(100) / 3)
    cmp = run_comparison(prepare_forecast(t, t, window=5), ["gru"], seeds=1, epochs=4, units=3)
    r = cmp.results["gru"]
    assert r.histories[0]["epoch_time"][0] >= 1.0                    # it was slow
    assert r.sec_per_epoch == np.median(r.histories[0]["epoch_time"][1:]) < 1.0


def test_seconds_per_epoch_is_the_median_after_the_warm_up():
    assert fitting.sec_per_epoch([9.0, 0.1, 0.3, 0.2]) == 0.2
    assert np.isnan(fitting.sec_per_epoch([9.0]))                    # nothing was timed


def test_error_by_lead_time_by_hand():
    truth = np.zeros((2, 3))
    pred = np.array([[1.0, 0, 3], [1, 2, 4]])
    np.testing.assert_allclose(lead_rmse(pred, truth), [1, np.sqrt(2), np.sqrt(12.5)])
