import numpy as np
import pytest

from rnnkit.tools.classify_metrics import accuracy, confusion, macro_f1, mcnemar_exact


def test_accuracy_and_macro_f1_by_hand():
    true = [0, 0, 0, 1, 1, 2]
    pred = [0, 0, 1, 1, 2, 2]
    assert accuracy(true, pred) == pytest.approx(4 / 6)
    # class 0: tp 2, fp 0, fn 1 -> 4/5; class 1: tp 1, fp 1, fn 1 -> 2/4; class 2: tp 1, fp 1,
    # fn 0 -> 2/3
    assert macro_f1(true, pred) == pytest.approx((4 / 5 + 1 / 2 + 2 / 3) / 3)


def test_macro_f1_punishes_the_majority_answer():
    true = [0] * 9 + [1]
    pred = [0] * 10
    assert accuracy(true, pred) == pytest.approx(0.9)
    assert macro_f1(true, pred) == pytest.approx((18 / 19 + 0) / 2)   # class 0: 2·9/(18+1)


def test_confusion_counts():
    np.testing.assert_array_equal(confusion([0, 1, 1, 2], [0, 2, 1, 2], 3),
                                  [[1, 0, 0], [0, 1, 1], [0, 0, 1]])


def test_mcnemar_exact_by_hand():
    a = np.array([True] * 6 + [False] * 1 + [True] * 5)
    b = np.array([False] * 6 + [True] * 1 + [True] * 5)
    r = mcnemar_exact(a, b)
    assert (r["a_only"], r["b_only"]) == (6, 1)
    # n = 7 discordant, P(X <= 1) = (C(7,0) + C(7,1)) / 2^7 = 8/128; two-sided 16/128
    assert r["p_value"] == pytest.approx(16 / 128)
    assert mcnemar_exact(b, a)["p_value"] == pytest.approx(16 / 128)   # symmetric


def test_mcnemar_equal_counts_and_no_discordance_give_one():
    assert mcnemar_exact([True, False], [False, True])["p_value"] == 1.0
    assert mcnemar_exact([True, True], [True, True]) == {"a_only": 0, "b_only": 0,
                                                          "p_value": 1.0}


def test_mcnemar_far_apart_is_significant():
    # 10 vs 0: p = 2 / 2^10
    r = mcnemar_exact([True] * 10, [False] * 10)
    assert r["p_value"] == pytest.approx(2 / 1024)


def test_shape_mismatch_names_the_argument():
    with pytest.raises(ValueError, match="pred: expected one prediction per true label"):
        accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="at least one labelled sequence"):
        macro_f1([], [])
