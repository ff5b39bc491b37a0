"""Scalers: fitted on train only, inverse round trip, JSON persistence."""
import json

import numpy as np
import pytest

from rnnkit.data.scaling import MinMaxScaler, StandardScaler, scaler_from_dict
from rnnkit.data.splits import chronological_split


def test_standard_hand_computed():
    s = StandardScaler().fit([[1.0, 10.0], [3.0, 30.0]])
    np.testing.assert_allclose(s.mean_, [2.0, 20.0])
    np.testing.assert_allclose(s.std_, [1.0, 10.0])
    np.testing.assert_allclose(s.transform([[3.0, 0.0]]), [[1.0, -2.0]])


def test_minmax_hand_computed():
    s = MinMaxScaler().fit([0.0, 5.0, 10.0])
    np.testing.assert_allclose(s.transform([0.0, 2.5, 10.0, 20.0]), [0.0, 0.25, 1.0, 2.0])
    s = MinMaxScaler(feature_range=(-1, 1)).fit([[0.0], [4.0]])
    np.testing.assert_allclose(s.transform([[2.0]]), [[0.0]])


@pytest.mark.parametrize("cls", [StandardScaler, MinMaxScaler])
def test_fitted_on_train_only(cls):
    # A trending series: statistics of the whole series differ from the train part's,
    # so this fails if a scaler were (wrongly) fitted on all data.
    series = np.arange(100, dtype=float)
    train, val, test = chronological_split(series, val=0.2, test=0.2)
    scaler = cls().fit(train)
    scaled_train = scaler.transform(train)
    if cls is StandardScaler:
        assert abs(scaled_train.mean()) < 1e-12 and abs(scaled_train.std() - 1) < 1e-12
        assert scaler.transform(test).mean() > 2          # test period lies above train
    else:
        assert scaled_train.min() == 0 and scaled_train.max() == 1
        assert scaler.transform(test).min() > 1           # beyond train range
    full = cls().fit(series)
    assert not np.allclose(full.transform(train), scaled_train)


@pytest.mark.parametrize("cls", [StandardScaler, MinMaxScaler])
def test_inverse_round_trip_and_json(cls):
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(50, 3))
    s = cls().fit(x)
    np.testing.assert_allclose(s.inverse_transform(s.transform(x)), x)
    d = json.loads(json.dumps(s.to_dict()))
    s2 = scaler_from_dict(d)
    assert type(s2) is cls
    np.testing.assert_allclose(s2.transform(x), s.transform(x))


def test_column_statistics_for_targets():
    s = StandardScaler().fit(np.array([[0.0, 100.0], [2.0, 300.0]]))
    y = np.array([[1.0, -1.0]])                      # (N, K) scaled predictions of column 1
    np.testing.assert_allclose(s.inverse_transform(y, column=1), [[300.0, 100.0]])


def test_3d_windows_and_constant_feature():
    x = np.stack([np.ones((4, 5)), np.arange(20.0).reshape(4, 5)], axis=-1)   # (4, 5, 2)
    s = StandardScaler().fit(x)
    np.testing.assert_allclose(s.transform(x)[..., 0], 0.0)               # std 0 -> scale 1


def test_errors():
    with pytest.raises(ValueError, match="not fitted"):
        StandardScaler().transform([1.0])
    s = StandardScaler().fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="2 features"):
        s.transform(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="column"):
        s.transform([1.0], column=5)
    with pytest.raises(ValueError, match="finite"):
        StandardScaler().fit([1.0, np.nan])
    with pytest.raises(ValueError, match="low < high"):
        MinMaxScaler(feature_range=(1, 0))
    with pytest.raises(ValueError, match="type"):
        scaler_from_dict({"type": "Pickle"})
    with pytest.raises(ValueError, match="MinMaxScaler"):
        MinMaxScaler.from_dict(StandardScaler().fit([1.0, 2.0]).to_dict())


# --- issue #10: statistics that overflow float64 ---------------------------------------------
def test_non_finite_statistics_name_the_column_and_range():
    data = np.array([[1.0, 1e308], [2.0, -1e308], [3.0, 0.0]])
    with pytest.raises(ValueError, match=r"feature 1 .*spans \[-1e\+308, 1e\+308\]"):
        MinMaxScaler().fit(data)   # max - min = 2e308 overflows
    with pytest.raises(ValueError, match=r"feature 1 .*spans"):
        StandardScaler().fit(data)  # the variance overflows
    ok = StandardScaler().fit(np.array([[1.0, 1e150], [2.0, -1e150]]))  # large but finite
    assert np.isfinite(ok.std_).all()


def test_from_dict_refuses_non_finite_or_inconsistent_statistics():
    good = StandardScaler().fit([[1.0, 10.0], [3.0, 30.0]]).to_dict()
    for change in ({"scale": [1.0, float("inf")]}, {"offset": [float("nan"), 1.0]},
                   {"scale": [1.0, 0.0]}, {"scale": [1.0]}, {"offset": "abc"}):
        with pytest.raises(ValueError, match="offset"):
            scaler_from_dict({**good, **change})
