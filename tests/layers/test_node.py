"""Symbolic tensors and nodes: what a layer call on Input records."""
import pytest
import torch

import rnnkit as keras
import rnnkit.layers as L
from rnnkit.layers.node import KerasTensor, flatten


def test_a_call_records_a_node_with_inputs_outputs_and_kwargs():
    x = keras.Input((None, 3), name="x")
    h0 = keras.Input((4,), name="h0")
    layer = L.GRU(4, return_sequences=True)
    y = layer(x, initial_state=[h0])
    node = layer._inbound_nodes[-1]
    assert node.inputs == [x, h0] and node.outputs == [y]
    assert y.node is node and y.index == 0 and isinstance(y, KerasTensor)
    assert layer.input is x and layer.output is y


def test_probing_leaves_stateful_layers_untouched():
    layer = L.LSTM(2, stateful=True)
    layer(torch.zeros(1, 3, 2))
    before = [s.clone() for s in layer.states]
    layer(keras.Input((3, 2), batch_size=1))
    assert all(torch.equal(a, b) for a, b in zip(before, layer.states))


def test_symbolic_tensors_refuse_python_use():
    x = keras.Input((3,), name="x")
    for op in (lambda: x * 2, lambda: x[0], lambda: bool(x), lambda: list(x)):
        with pytest.raises(TypeError, match="symbolic tensor 'x'"):
            op()


def test_flatten_nested_structures():
    assert flatten([1, (2, {"a": 3}), [[4]]]) == [1, 2, 3, 4]
