"""Lambda: runs anywhere; saved by registered name only, never as code."""
import numpy as np
import pytest
import torch

import rnnkit as keras
import rnnkit.layers as L


def test_lambda_runs_eagerly_and_in_a_graph():
    assert torch.equal(L.Lambda(lambda t: t * 2)(torch.ones(2, 3)), torch.full((2, 3), 2.0))
    x = keras.Input((None, 3))
    y = L.Lambda(lambda t, k: t[:, -1] * k, arguments={"k": 3.0})(x)
    assert y.shape == (None, 3)
    model = keras.Model(x, y)
    data = torch.randn(2, 4, 3)
    torch.testing.assert_close(model(data), data[:, -1] * 3)


def test_saving_an_unregistered_lambda_raises_and_a_registered_one_round_trips(tmp_path):
    x = keras.Input((3,))
    model = keras.Model(x, L.Lambda(lambda t: t.abs())(L.Dense(2)(x)))
    with pytest.raises(ValueError, match="isn't registered; rnnkit never saves code"):
        model.save(tmp_path / "m.rnnkit")
    assert not (tmp_path / "m.rnnkit").exists()  # no half-written file

    @L.register_function("test_double_clip")
    def double_clip(t, limit=1.0):
        return (2 * t).clamp(-limit, limit)

    y = L.Lambda(double_clip, arguments={"limit": 0.5})(L.Dense(2)(x))
    model = keras.Model(x, y)
    model.save(tmp_path / "m.rnnkit")
    loaded = keras.models.load_model(tmp_path / "m.rnnkit")
    data = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(data), model.predict(data))


def test_a_config_holding_code_or_an_unknown_name_is_refused():
    with pytest.raises(ValueError, match="holds code"):
        L.Lambda.from_config({"function": {"class_name": "__lambda__", "config": {"code": "4wEA"}}})
    with pytest.raises(ValueError, match="Lambda function 'nowhere' isn't registered"):
        L.Lambda.from_config({"function": "nowhere"})
    with pytest.raises(ValueError, match="a lambda expression has no name"):
        L.register_function()(lambda t: t)
