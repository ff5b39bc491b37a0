"""Keras's initialisers by name, and the layers' use of them in Keras's layout."""
import math

import pytest
import torch

import rnnkit.layers as L
from rnnkit.layers.initializers import compute_fans, get_initializer


def test_compute_fans_is_keras():
    assert compute_fans((7,)) == (7, 7)
    assert compute_fans((3, 5)) == (3, 5)
    assert compute_fans((2, 3, 5)) == (6, 10)


def test_glorot_uniform_limits():
    torch.manual_seed(0)
    w = get_initializer("glorot_uniform", "k")((60, 200))
    limit = math.sqrt(6.0 / (60 + 200))
    assert float(w.abs().max()) <= limit
    assert float(w.abs().max()) > 0.98 * limit  # fills the whole interval
    assert float(w.var()) == pytest.approx(limit ** 2 / 3, rel=0.05)


@pytest.mark.parametrize("name,scale,fan", [("he_normal", 2.0, "in"), ("lecun_normal", 1.0, "in"),
                                            ("glorot_normal", 1.0, "avg")])
def test_truncated_normal_variance_scaling(name, scale, fan):
    torch.manual_seed(1)
    shape = (100, 300)
    w = get_initializer(name, "k")(shape)
    n = 100 if fan == "in" else 200
    sigma = math.sqrt(scale / n) / 0.87962566103423978
    assert float(w.abs().max()) < 2 * sigma  # cut at ±2σ
    # Truncation at ±2σ scaled so the variance is scale / n, as Keras's VarianceScaling.
    assert float(w.std()) == pytest.approx(math.sqrt(scale / n), rel=0.03)


def test_he_uniform_and_named_distributions():
    torch.manual_seed(2)
    w = get_initializer("he_uniform", "k")((50, 80))
    assert float(w.abs().max()) <= math.sqrt(6.0 / 50)
    u = get_initializer("uniform", "k")((4000,))
    assert float(u.min()) >= -0.05 and float(u.max()) <= 0.05 and float(u.abs().max()) > 0.049
    n = get_initializer("random_normal", "k")((20000,))
    assert float(n.std()) == pytest.approx(0.05, rel=0.05)
    assert torch.equal(get_initializer("zeros", "k")((2, 3)), torch.zeros(2, 3))
    assert torch.equal(get_initializer("Ones", "k")((3,)), torch.ones(3))


def test_orthogonal_wide_kernel_has_orthonormal_rows():
    w = get_initializer("orthogonal", "k")((5, 20))  # Keras's (u, 4u) recurrent kernel
    torch.testing.assert_close(w @ w.t(), torch.eye(5), atol=1e-5, rtol=0)
    sq = get_initializer("orthogonal", "k")((6, 6))
    torch.testing.assert_close(sq.t() @ sq, torch.eye(6), atol=1e-5, rtol=0)


def test_dict_config_with_seed_is_reproducible():
    spec = {"class_name": "RandomNormal", "config": {"mean": 1.0, "stddev": 0.1, "seed": 7}}
    a = get_initializer(spec, "k")((1000,))
    b = get_initializer(spec, "k")((1000,))
    assert torch.equal(a, b)
    assert float(a.mean()) == pytest.approx(1.0, abs=0.02)


def test_unknown_names_suggest_the_closest():
    with pytest.raises(ValueError, match="`kernel_initializer`.*'glorot_unifrom'.*did you mean "
                                         "'glorot_uniform'"):
        L.LSTM(4, kernel_initializer="glorot_unifrom")
    with pytest.raises(TypeError, match="`bias_initializer`"):
        L.Dense(4, bias_initializer=3)
    with pytest.raises(TypeError, match="bad config"):
        get_initializer({"class_name": "RandomNormal", "config": {"stdev": 1}}, "k")


# --- the recurrent layers' defaults, read back in Keras's layout --------------------------

@pytest.mark.parametrize("cls,G", [(L.LSTM, 4), (L.GRU, 3), (L.SimpleRNN, 1)])
def test_recurrent_defaults_glorot_kernel_orthogonal_recurrent(cls, G):
    torch.manual_seed(3)
    I, u = 6, 5
    layer = cls(u)
    layer.maybe_build((4, I))
    kernel, rec = layer.get_weights()[:2]
    assert kernel.shape == (I, G * u) and rec.shape == (u, G * u)
    assert abs(kernel).max() <= math.sqrt(6.0 / (I + G * u))  # Keras's fans of (I, G*u)
    torch.testing.assert_close(torch.from_numpy(rec @ rec.T), torch.eye(u), atol=1e-5, rtol=0)


def test_unit_forget_bias():
    u = 3
    lstm = L.LSTM(u)
    lstm.maybe_build((2, 2))
    bias = lstm.get_weights()[2]
    assert bias[u:2 * u].tolist() == [1.0] * u
    assert bias[:u].tolist() == [0.0] * u and bias[2 * u:].tolist() == [0.0] * (2 * u)
    plain = L.LSTM(u, unit_forget_bias=False)
    plain.maybe_build((2, 2))
    assert not plain.get_weights()[2].any()
    # With a non-zero bias initialiser the forget slice is still exactly 1 (Keras's concat).
    ones = L.LSTM(u, bias_initializer={"class_name": "Constant", "config": {"value": 0.5}})
    ones.maybe_build((2, 2))
    assert ones.get_weights()[2].tolist() == [0.5] * u + [1.0] * u + [0.5] * (2 * u)


def test_gru_bias_initialiser_covers_both_rows():
    g = L.GRU(2, bias_initializer="ones")
    g.maybe_build((3, 1))
    assert g.get_weights()[2].shape == (2, 6) and (g.get_weights()[2] == 1).all()
