"""A functional model's config: Keras's shape, JSON only, rebuilt call by call."""
import json

import numpy as np
import pytest
import torch

import rnnkit as keras
from rnnkit import layers


def test_config_is_json_in_keras_shape_and_rebuilds_shared_calls():
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    shared = layers.Dense(3, name="shared")
    out = layers.Add(name="sum")([shared(a), shared(b)])
    model = keras.Model([a, b], out, name="siamese")
    cfg = json.loads(json.dumps(model.get_config()))
    assert cfg["name"] == "siamese"
    assert cfg["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert cfg["output_layers"] == [["sum", 0, 0]]
    spec = next(la for la in cfg["layers"] if la["name"] == "shared")
    assert [n["args"] for n in spec["inbound_nodes"]] == [
        [{"__keras_tensor__": ["a", 0, 0]}], [{"__keras_tensor__": ["b", 0, 0]}]]
    clone = keras.Model.from_config(cfg)
    assert clone.count_params() == model.count_params() == 15
    clone.set_weights(model.get_weights())
    x = [torch.randn(2, 4), torch.randn(2, 4)]
    torch.testing.assert_close(clone(x), model(x))


def test_sequential_inside_a_functional_model_round_trips(tmp_path):
    block = keras.Sequential([keras.Input((5,)), layers.Dense(3), layers.Dense(2)], name="block")
    x = keras.Input((5,))
    model = keras.Model(x, layers.Dense(1)(block(x)))
    data = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    model.save(tmp_path / "s.rnnkit")
    loaded = keras.models.load_model(tmp_path / "s.rnnkit")
    np.testing.assert_array_equal(loaded.predict(data), model.predict(data))
    assert type(loaded.layers[1]).__name__ == "Sequential"


def test_non_json_call_arguments_and_foreign_inputs_cant_be_saved():
    x = keras.Input((3, 2))
    y = layers.LSTM(2)(x, initial_state=None)
    keras.Model(x, y).get_config()  # None is JSON
    inner = keras.Model(x, layers.LSTM(2, return_sequences=True)(x))
    mid = inner.outputs[0]
    part = keras.Model(mid, layers.LSTM(3)(mid))
    with pytest.raises(ValueError, match="intermediate tensor of another model, not an Input"):
        part.get_config()
    with pytest.raises(ValueError, match="a 'functional' model config|'layers' list"):
        keras.Model.from_config({"name": "x"})


def test_a_registered_custom_layer_round_trips_through_a_file(tmp_path):
    @layers.register_layer
    class ScaleShift(layers.Layer):  # written the Keras way
        def __init__(self, shift=0.0, **kwargs):
            super().__init__(**kwargs)
            self.shift = shift

        def build(self, input_shape):
            self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones",
                                         name="scale")

        def call(self, inputs):
            return inputs * self.scale + self.shift

        def get_config(self):
            return {**super().get_config(), "shift": self.shift}

    x = keras.Input((3,))
    layer = ScaleShift(shift=0.5)
    model = keras.Model(x, layer(x))
    with torch.no_grad():
        layer.scale.copy_(torch.tensor([1.0, 2.0, 3.0]))
    model.save(tmp_path / "c.rnnkit")
    loaded = keras.models.load_model(tmp_path / "c.rnnkit")
    np.testing.assert_array_equal(loaded.predict(np.ones((1, 3), "float32")), [[1.5, 2.5, 3.5]])
