import numpy as np

from rnnkit.tools.classify_baselines import LAMBDAS, fit_logistic, majority_class


def test_majority_class_and_its_tie_rule():
    assert majority_class([2, 2, 1, 0]) == 2
    assert majority_class([1, 0, 1, 0]) == 0       # tie: the smaller id


def _blobs(n, rng):
    y = rng.integers(0, 3, n)
    centres = np.array([[0.0, 3.0], [3.0, 0.0], [-3.0, -3.0]])
    return centres[y] + rng.standard_normal((n, 2)), y


def test_logistic_regression_separates_blobs_and_picks_lambda_on_validation():
    rng = np.random.default_rng(0)
    S, y = {}, {}
    for k, n in (("train", 150), ("val", 60), ("test", 60)):
        S[k], y[k] = _blobs(n, rng)
    m = fit_logistic(S, y, 3)
    assert m.lam in LAMBDAS
    assert np.mean(m.predict(S["test"]) == y["test"]) > 0.9
    np.testing.assert_allclose(m.predict_proba(S["test"]).sum(axis=1), 1.0)


def test_the_fit_is_the_penalised_optimum():
    # first-order optimality, computed here in numpy: ∂/∂W [mean CE + λ‖W‖²] = 0, ∂/∂b = 0
    rng = np.random.default_rng(1)
    S = {k: rng.standard_normal((40, 3)) for k in ("train", "val")}
    y = {k: rng.integers(0, 2, 40) for k in ("train", "val")}
    m = fit_logistic(S, y, 2)
    Z = (S["train"] - m.mean) / m.std
    P = m.predict_proba(S["train"])
    Y = np.eye(2)[y["train"]]
    grad_W = Z.T @ (P - Y) / len(Z) + 2 * m.lam * m.W
    grad_b = (P - Y).mean(axis=0)
    assert np.abs(grad_W).max() < 1e-6 and np.abs(grad_b).max() < 1e-6
