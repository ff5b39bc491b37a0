"""The graph walk: an order that runs every call after its inputs, Keras's
layer order, and the replay of a diamond-shaped graph."""
import torch

import rnnkit as keras
from rnnkit import layers
from rnnkit.models import graph


def test_diamond_graph_runs_in_dependency_order():
    x = keras.Input((4,), name="x")
    a = layers.Dense(3, name="a")(x)
    b = layers.Dense(3, name="b")(a)
    c = layers.Dense(3, name="c")(a)
    d = layers.Add(name="d")([b, c])
    nodes, order = graph.walk([x], [d])
    pos = {n.layer.name: i for i, n in enumerate(nodes)}
    assert pos["a"] < pos["b"] < pos["d"] and pos["a"] < pos["c"] < pos["d"]
    assert [la.name for la in order] == ["x", "a", "b", "c", "d"]
    plan = graph.Plan([x], [d], nodes)
    t = torch.randn(2, 4)
    (out,), (mask,) = graph.run(plan, [t], None)
    model = keras.Model(x, d)
    A, B, C = (model.get_layer(n) for n in "abc")
    torch.testing.assert_close(out, B(A(t)) + C(A(t)))
    assert mask is None
