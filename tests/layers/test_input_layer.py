"""Input / InputLayer."""
import pytest

import rnnkit as keras
import rnnkit.layers as L


def test_input_shapes_dtypes_and_config():
    x = keras.Input(shape=(None, 8), name="frames")
    assert x.shape == (None, None, 8) and x.name == "frames"
    layer = x.node.layer
    assert isinstance(layer, L.InputLayer) and layer.output is x
    clone = L.layer_from_config({"class_name": "InputLayer", "config": layer.get_config()})
    assert clone.output.shape == x.shape and clone.name == "frames"
    assert keras.Input(batch_shape=(4, 10), dtype="int64").shape == (4, 10)


def test_input_bad_arguments():
    with pytest.raises(ValueError, match=r"`shape` must hold positive ints or None"):
        keras.Input((0, 3))
    with pytest.raises(TypeError, match="`shape` must be a tuple"):
        keras.Input("3")
    with pytest.raises(ValueError, match="`dtype` must be one of"):
        keras.Input((3,), dtype="complex64")
    with pytest.raises(ValueError, match="`sparse` and `ragged` inputs aren't supported"):
        keras.Input((3,), sparse=True)
