import os

import numpy as np
import pytest

from rnnkit import set_random_seed
from rnnkit.layers import Dense, SimpleRNN
from rnnkit.models import Sequential, load_model
from rnnkit.tools.forecast import prepare_forecast
from rnnkit.tools.forecaster import Forecaster
from rnnkit.tools.stacks import build_regressor


def _forecaster():
    t = np.arange(60, dtype=float)
    values = np.stack([np.sin(t / 3), np.cos(t / 3)], 1)                 # (60, 2)
    data = prepare_forecast(values, values[:, 0], window=4, horizon=2, columns=["s", "c"],
                            target_name="s", preprocess="level")
    set_random_seed(0)
    return Forecaster(build_regressor("lstm", (4, 2), units=3, outputs=2), data.meta()), values


def test_round_trip_through_load_model_keeps_predictions_and_metadata(tmp_path):
    fc, values = _forecaster()
    p = tmp_path / "f.rnnkit"
    fc.save(p)
    again = Forecaster.load(p)
    assert again.meta == {**fc.meta, "kind": "forecaster"}
    np.testing.assert_array_equal(again.forecast(values), fc.forecast(values))
    assert load_model(p).metadata["features"] == ["s", "c"]
    assert os.listdir(tmp_path) == ["f.rnnkit"]


def test_forecast_scales_windows_and_unscales_by_hand():
    fc, values = _forecaster()
    # a one-unit model: y = 2 * h_T + 0.5 with a SimpleRNN that ignores its state
    m = Sequential([SimpleRNN(1, activation=None, input_shape=(4, 2)), Dense(2)])
    m.set_weights([np.array([[1.0], [0.0]]), np.zeros((1, 1)), np.zeros(1),
                   np.array([[2.0, 2.0]]), np.array([0.5, 0.5])])
    fc = Forecaster(m, fc.meta)
    pp = fc.meta["preprocessing"]
    assert pp["mode"] == "level"
    z_last = (values[3:, 0] - pp["offset_x"][0]) / pp["scale_x"][0]      # scaled s at each end
    expect = (2 * z_last + 0.5) * pp["scale_y"] + pp["offset_y"]
    out = fc.forecast(values)                                            # (60 - 4 + 1, 2)
    assert out.shape == (57, 2)
    np.testing.assert_allclose(out[:, 0], expect, rtol=1e-5)
    np.testing.assert_allclose(out[:, 1], expect, rtol=1e-5)


def test_other_model_files_and_bad_values_are_refused(tmp_path):
    fc, values = _forecaster()
    plain = tmp_path / "plain.rnnkit"
    fc.model.save(plain)
    with pytest.raises(ValueError, match="without a forecaster's window and scalers"):
        Forecaster.load(plain)
    fc.model.save(plain, metadata={"kind": "charlm"})
    with pytest.raises(ValueError, match="is a 'charlm' model; expected a forecaster"):
        Forecaster.load(plain)
    with pytest.raises(ValueError, match=r"values: expected \(T, 2\)"):
        fc.forecast(values[:, :1])
    with pytest.raises(ValueError, match="windows of 4 steps but the data has only 3 rows"):
        fc.forecast(values[:3])


def test_diff_model_adds_its_output_to_the_last_value_by_hand():
    t = np.arange(80, dtype=float)
    values = (0.5 * t + np.sin(t))[:, None]
    data = prepare_forecast(values, values[:, 0], window=4, preprocess="diff")
    m = Sequential([SimpleRNN(1, activation=None, input_shape=(4, 1)), Dense(1)])
    # the model outputs a constant 0.5 (in units of the training changes' std δ)
    m.set_weights([np.zeros((1, 1)), np.zeros((1, 1)), np.zeros(1), np.zeros((1, 1)),
                   np.array([0.5])])
    fc = Forecaster(m, data.meta())
    delta = np.diff(values[:data.bounds[0], 0]).std()
    np.testing.assert_allclose(fc.forecast(values)[:, 0], values[3:, 0] + 0.5 * delta, rtol=1e-6)
    # --future: recursively, each step adds 0.5 δ to the previous forecast
    np.testing.assert_allclose(fc.future(values, 3)[0],
                               values[-1, 0] + 0.5 * delta * np.arange(1, 4), rtol=1e-6)


def test_a_seed_ensemble_travels_in_the_file(tmp_path):
    from rnnkit.tools.forecaster import encode_weights

    fc, values = _forecaster()
    set_random_seed(1)
    other = build_regressor("lstm", (4, 2), units=3, outputs=2)
    fc.meta["ensemble"] = [encode_weights(other.get_weights())]
    p = tmp_path / "e.rnnkit"
    fc.save(p)
    again = Forecaster.load(p)
    both = again.forecast(values, members=True)                          # (2, 57, 2)
    np.testing.assert_allclose(both[0], fc.forecast(values), rtol=1e-6)
    np.testing.assert_allclose(both[1], Forecaster(other, fc.meta).forecast(values), rtol=1e-6)
    with pytest.raises(ValueError, match="beyond the model's horizon"):
        again.future(values, 3)                                          # 2 inputs, horizon 2
    assert again.future(values, 2).shape == (2, 2)
