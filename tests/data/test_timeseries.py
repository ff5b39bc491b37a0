"""timeseries_dataset_from_array: Keras 3's windows, targets and shuffle order.
(Keras's own implementation needs TensorFlow or grain, neither installed here,
so its algorithm is written out below as the oracle.)"""
import numpy as np
import pytest

import rnnkit as keras_like


def _keras_windows(data, targets, L, stride=1, rate=1, batch_size=16, start_index=0,
                   end_index=None, order=None):
    """Keras 3's algorithm (keras/src/utils/timeseries_dataset_utils.py), written out:
    relative start positions 0, stride, ... below end - start - (L - 1) * rate, capped
    by len(targets); window p is data[start + p :: rate][:L], its target targets[start + p]."""
    end = len(data) if end_index is None else end_index
    num = min(end - start_index - (L - 1) * rate, len(targets))
    pos = np.arange(0, num, stride) if order is None else order
    xs = np.stack([data[start_index + p:start_index + p + L * rate:rate] for p in pos])
    ys = np.array([targets[start_index + p] for p in pos])
    return [(xs[i:i + batch_size], ys[i:i + batch_size]) for i in range(0, len(pos), batch_size)]


@pytest.mark.parametrize("kw", [{}, {"stride": 3, "rate": 2},
                                {"start_index": 5, "end_index": 60, "batch_size": 7}])
def test_timeseries_windows_follow_keras(kw):
    data = np.arange(200, dtype="float32").reshape(100, 2)
    targets = np.arange(100, dtype="float32") * 10
    args = {"sequence_stride": kw.get("stride", 1), "sampling_rate": kw.get("rate", 1),
            "batch_size": kw.get("batch_size", 16), "start_index": kw.get("start_index"),
            "end_index": kw.get("end_index")}
    ours = list(keras_like.utils.timeseries_dataset_from_array(data, targets, 6, **args))
    want = _keras_windows(data, targets, 6, **kw)
    assert len(ours) == len(want)
    for (x, y), (kx, ky) in zip(ours, want):
        np.testing.assert_array_equal(x, kx)
        np.testing.assert_array_equal(y, ky)
    # window 1 by hand: rows 1..6 (or 3, 5, ... with stride 3 and rate 2)
    first = ours[0][0][1]
    if not kw:
        np.testing.assert_array_equal(first[:, 0], [2, 4, 6, 8, 10, 12])


def test_timeseries_shuffle_is_seeded_and_bad_arguments():
    data = np.arange(50, dtype="float32")[:, None]
    a = [x for x, _ in keras_like.utils.timeseries_dataset_from_array(
        data, data[:, 0], 5, batch_size=100, shuffle=True, seed=3)][0]
    b = [x for x, _ in keras_like.utils.timeseries_dataset_from_array(
        data, data[:, 0], 5, batch_size=100, shuffle=True, seed=3)][0]
    np.testing.assert_array_equal(a, b)
    assert sorted(a[:, 0, 0].tolist()) == list(range(46))
    order = np.arange(46)
    np.random.RandomState(3).shuffle(order)  # Keras's own shuffle of the start positions
    np.testing.assert_array_equal(a[:, 0, 0], order)
    with pytest.raises(ValueError, match="fewer than one window of sequence_length=60"):
        keras_like.utils.timeseries_dataset_from_array(data, None, 60)
    with pytest.raises(TypeError, match="`sequence_length` must be an int"):
        keras_like.utils.timeseries_dataset_from_array(data, None, 2.5)
