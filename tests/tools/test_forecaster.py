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
                            target_name="s")
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
    sx, sy = fc.meta["scaler_x"], fc.meta["scaler_y"]
    z_last = (values[3:, 0] - sx["offset"][0]) / sx["scale"][0]          # scaled s at each end
    expect = (2 * z_last + 0.5) * sy["scale"] + sy["offset"]                # 1-D target scaler
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
