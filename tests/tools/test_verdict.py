"""The words of the report against hand-made numbers: each sentence follows the table."""
import numpy as np
import pytest

from rnnkit.tools.baselines import BaselineForecast
from rnnkit.tools.compare import CellResult, Comparison
from rnnkit.tools.forecast import prepare_forecast, rmse
from rnnkit.tools.verdict import gradient_text, headline, recommend, versus


def _cmp(cells, base_err, ratios=None, val=None, sec=None):
    """cells: name -> test errors (S, N) per seed; base_err: name -> (N,) errors."""
    data = prepare_forecast(np.arange(400.0), np.arange(400.0), window=5, preprocess="level")
    truth, truth_val = data.truth("test"), data.truth("val")                # (N, 1)
    n = len(truth)
    results = {}
    for c, errs in cells.items():
        preds = [truth + np.asarray(e)[:n, None] for e in errs]
        r = CellResult(c, rmse=[rmse(p, truth) for p in preds], mae=[0.0] * len(errs),
                       val_rmse=list((val or {}).get(c, [rmse(p, truth) for p in preds])),
                       params=10, epoch_time=[(sec or {}).get(c, 0.1)], preds=preds)
        r.grad_norms = np.array([(ratios or {}).get(c, 0.5), 1.0])
        results[c] = r
    forecasts = {k: BaselineForecast(k, truth_val + 5.0, truth + np.asarray(e)[:n, None])
                 for k, e in base_err.items()}
    return Comparison(data, results, {k: rmse(f.test, truth) for k, f in forecasts.items()},
                      {}, forecasts=forecasts)


rng = np.random.default_rng(0)
E = rng.standard_normal((3, 60))          # three seeds of unit errors


def test_a_baseline_that_wins_is_the_headline_and_the_winner():
    cmp = _cmp({"gru": [1.6 * e for e in E]}, {"seasonal naive": E[0], "persistence": 3 * E[1]})
    winner, text = headline(cmp)
    assert winner == "seasonal naive"
    assert text.startswith("On this series no recurrent cell beat seasonal naive (RMSE")
    ratio = cmp.results["gru"].rmse_mean / cmp.baselines["seasonal naive"]
    assert f"the best cell, GRU, was {ratio:.2g}x worse" in text


def test_a_cell_that_wins_beyond_noise_is_named_with_its_margin():
    cmp = _cmp({"gru": [0.5 * e for e in E], "rnn": list(E)}, {"AR(12)": E[2]})
    winner, text = headline(cmp)
    pct = 100 * (1 - cmp.results["gru"].rmse_mean / cmp.baselines["AR(12)"])
    assert winner == "gru" and text.startswith(f"GRU is best on the test part, {pct:.0f}% better "
                                               f"than AR(12)")
    assert any(s.startswith("GRU beats AR(12)") for s in versus(cmp))


def test_a_cell_ahead_by_noise_only_gets_a_none_headline():
    base = E[0]
    cell = base * 0.999 + 0.01 * E[1]                     # 0.1% better: noise
    cmp = _cmp({"lstm": [cell]}, {"mean": base})
    winner, text = headline(cmp)
    assert winner == "lstm"                                # the lower number, as results.json says
    assert text.startswith("None of the recurrent cells beat mean beyond noise")
    assert "within noise" in versus(cmp)[0]


def test_recommendation_reads_validation_not_test():
    # rnn is better on test, gru on validation: the recommendation follows validation
    cmp = _cmp({"rnn": [0.5 * E[0]], "gru": [E[0]]}, {"mean": 3 * E[1]},
               val={"rnn": [2.0, 2.1], "gru": [1.0, 1.05]})
    choice, reasons = recommend(cmp)
    assert choice == "gru" and "lowest mean validation RMSE" in reasons[0]


def test_a_cheaper_cell_within_one_std_on_validation_is_recommended():
    cmp = _cmp({"lstm": [E[0]], "gru": [E[0]]}, {"mean": 3 * E[1]},
               val={"lstm": [1.0, 1.4], "gru": [1.1, 1.5]}, sec={"lstm": 0.3, "gru": 0.2})
    choice, reasons = recommend(cmp)
    assert choice == "gru" and "within one standard deviation" in reasons[1]


@pytest.mark.parametrize("rnn_scale, ratio, needle", [
    (3.0, 1e-6, "consistent with vanishing gradients"),
    (1.0, 1e-6, "yet its error is within noise"),
    (3.0, 0.3, "vanishing gradients do not explain the gap"),
    (1.0, 0.3, "still reaches the start of the window and its error is within noise"),
])
def test_gradient_text_agrees_with_the_errors(rnn_scale, ratio, needle):
    cmp = _cmp({"rnn": [rnn_scale * e for e in E], "lstm": list(E)}, {"mean": 5 * E[0]},
               ratios={"rnn": ratio, "lstm": 0.4})
    text = gradient_text(cmp)
    assert needle in text
    assert "not handicapped" not in text
    assert f"RNN {ratio:.1e}; LSTM 4.0e-01" in text
