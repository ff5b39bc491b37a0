import numpy as np
import pytest

import rnnkit.tools.classify as classify_mod
from rnnkit.tools.classify import (LOGREG, MAJORITY, CellScores, ClassifyComparison,
                                   _conclude, run_classification)


def test_cells_beat_the_summary_feature_baseline_when_order_decides(order_data):
    # the class is which of two events comes first: summaries can't see it, a cell can
    cmp = run_classification(order_data, cells=("rnn", "gru"), seeds=1, epochs=10, units=16)
    logreg = cmp.baselines[LOGREG]["accuracy"]
    assert logreg < 0.7
    for r in cmp.results.values():
        assert r.mean > logreg + 0.15, (r.cell, r.mean, logreg)
    assert cmp.winner in ("rnn", "gru")
    assert cmp.headline.startswith(f"{cmp.winner} is best")
    p = next(t for t in cmp.paired if t["b"] == LOGREG)["p_value"]
    assert p < 0.05 and "a significant difference" in cmp.headline
    assert cmp.recommendation in ("rnn", "gru")


def _fake(y, cells, baselines):
    """A comparison with given per-seed test predictions (no training)."""
    data = type("D", (), {"y": {"test": np.asarray(y), "val": np.asarray(y)}})()
    results = {}
    for name, preds in cells.items():
        r = CellScores(name, params=10, epoch_time=[0.1])
        for p in preds:
            r.preds.append(np.asarray(p))
            r.accuracy.append(float(np.mean(np.asarray(p) == y)))
            r.macro_f1.append(r.accuracy[-1])
            r.val_accuracy.append(r.accuracy[-1])
        results[name] = r
    base = {n: {"accuracy": float(np.mean(np.asarray(p) == y)),
                "macro_f1": float(np.mean(np.asarray(p) == y)), "pred": np.asarray(p)}
            for n, p in baselines.items()}
    cmp = ClassifyComparison(data, results, base, {})
    _conclude(cmp)
    return cmp


def test_a_baseline_that_wins_is_named_in_the_headline():
    y = np.array([0] * 16 + [1] * 4)
    wrong_half = np.array([1] * 8 + [0] * 8 + [1] * 4)        # 12/20
    cmp = _fake(y, {"gru": [wrong_half]}, {MAJORITY: [0] * 20, LOGREG: [0] * 20})
    assert cmp.winner == MAJORITY                             # 16/20; ties go to the baseline
    assert cmp.headline.startswith(f"On these sequences no recurrent cell beat the {MAJORITY}")
    assert "the best cell, gru, reached 0.600" in cmp.headline


def test_the_median_seed_enters_the_paired_test_and_chance_is_said():
    y = np.array([0, 1] * 10)
    perfect, near = y.copy(), y.copy()
    near[:2] = 1 - near[:2]                                   # 18/20
    bad = 1 - y                                               # 0/20
    cmp = _fake(y, {"lstm": [perfect, perfect, bad], "gru": [near]},
                {MAJORITY: [0] * 20, LOGREG: [0] * 20})
    assert cmp.results["lstm"].median_seed in (0, 1)          # not the bad seed
    assert cmp.winner == "gru"                                # lstm's mean is 2/3
    t = next(t for t in cmp.paired if t["b"] == "lstm")
    assert (t["a_only"], t["b_only"]) == (0, 2)               # gru vs lstm's median seed
    assert "within chance" in cmp.headline and "lstm" in cmp.headline


def test_warm_up_runs_untimed_before_each_cells_first_timed_fit(order_data, monkeypatch):
    calls = []
    monkeypatch.setattr(classify_mod, "warm_up",
                        lambda cell, *a, **k: calls.append(("warm", cell)))
    real_fit = classify_mod.fit_classifier

    def spy_fit(model, data, **kw):
        calls.append(("fit", model.name))
        return real_fit(model, data, **kw)

    monkeypatch.setattr(classify_mod, "fit_classifier", spy_fit)
    run_classification(order_data, cells=("rnn",), seeds=2, epochs=1, units=4)
    assert calls == [("warm", "rnn"), ("fit", "rnn_classifier"), ("fit", "rnn_classifier")]


def test_bad_arguments_fail_before_training(order_data):
    with pytest.raises(ValueError, match="cell: unknown cell 'tcn'"):
        run_classification(order_data, cells=("tcn",))
    with pytest.raises(ValueError, match="seeds: expected a positive integer, got 0"):
        run_classification(order_data, seeds=0)


def test_gradient_flow_uses_the_unpadded_test_sequences_of_the_most_common_length(order_data):
    from rnnkit.tools.classify import flow_subset
    from rnnkit.tools.classify_data import PAD_VALUE

    X = order_data.X["test"]
    lengths = (X != PAD_VALUE).any(axis=-1).sum(axis=1)
    idx = flow_subset(order_data)
    common = np.bincount(lengths).max()
    assert len(idx) == common and len(set(lengths[idx])) == 1
    cmp = run_classification(order_data, cells=("rnn",), seeds=1, epochs=1, units=4)
    r = cmp.results["rnn"]
    assert len(r.grad_norms) == lengths[idx][0] and np.isfinite(r.grad_ratio)
    assert any(reason.startswith("Gradient flow") for reason in cmp.reasons)
