"""Keras's HDF5 weight layouts, read and written with h5py (numbers only, never pickle).

Keras 3 (``model.weights.h5`` in a ``.keras`` zip, and ``.weights.h5`` files)
stores each layer of a model under ``layers/<key>``, where ``<key>`` is the
snake_case class name, numbered within the model by occurrence (``dense``,
``dense_1``...; keras/src/saving/saving_lib.py), NOT the layer's name. A layer's
arrays are ``vars/0, vars/1, ...`` of the layer itself or of its inner objects:

    LSTM, GRU, SimpleRNN, RNN   cell/vars
    ConvLSTM1D/2D/3D            cell/vars
    Bidirectional               forward_layer/<inner>, backward_layer/<inner>
    RNN over a list of cells    cell/cells/<snake cell class, numbered>/vars
    TimeDistributed             layer/<inner>
    MultiHeadAttention          query_dense/vars, key_dense/vars, value_dense/vars, output_dense/vars
    a nested model              layers/<key>/...
    any other layer             vars

Legacy ``.h5`` (Keras 3 or tf.keras 2.x ``model.save("x.h5")``) keeps
``model_weights/<layer name>`` with a ``weight_names`` attribute listing the
arrays in get_weights order.
"""
from __future__ import annotations

import re

import numpy as np

_INNER = {"LSTM": "cell", "GRU": "cell", "SimpleRNN": "cell", "RNN": "cell",
          "ConvLSTM1D": "cell", "ConvLSTM2D": "cell", "ConvLSTM3D": "cell"}
_MHA = ("query_dense", "key_dense", "value_dense", "output_dense")


def snake(name: str) -> str:
    """Keras's ``naming.to_snake_case``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _is_model(layer) -> bool:
    return type(layer).__name__ in ("Sequential", "Model")


def model_layers(model) -> list:
    """The layers Keras saves for ``model``: a Sequential's without its InputLayer."""
    layers = list(model.layers)
    if type(model).__name__ == "Sequential":
        layers = [lay for lay in layers if type(lay).__name__ != "InputLayer"]
    return layers


def keyed_layers(model) -> list[tuple[str, object]]:
    return _keyed(model_layers(model))


def _keyed(layers) -> list[tuple[str, object]]:
    """Keras 3's keys for a list of layers: snake_case class name, numbered by occurrence."""
    used: dict[str, int] = {}
    out = []
    for layer in layers:
        base = "functional" if type(layer).__name__ == "Model" else snake(type(layer).__name__)
        k = used.get(base, 0)
        used[base] = k + 1
        out.append((base if k == 0 else f"{base}_{k}", layer))
    return out


def groups(layer) -> list[tuple[str, int]]:
    """(group path, number of arrays) of ``layer``'s weights, in get_weights order."""
    cls = type(layer).__name__
    n = len(layer.get_weights())
    if _is_model(layer):
        return [(f"layers/{key}/{g}", c) for key, sub in keyed_layers(layer) for g, c in groups(sub)]
    if cls == "Bidirectional":
        return ([(f"forward_layer/{g}", c) for g, c in groups(layer.forward_layer)]
                + [(f"backward_layer/{g}", c) for g, c in groups(layer.backward_layer)])
    if cls == "TimeDistributed":
        return [(f"layer/{g}", c) for g, c in groups(layer.layer)]
    if cls == "MultiHeadAttention":
        per = 2 if layer.use_bias else 1
        return [(f"{g}/vars", per) for g in _MHA]
    if cls in _INNER:
        cell = getattr(layer, "cell", None)
        if type(cell).__name__ == "StackedRNNCells":
            # RNN([cells]): cell/cells/<snake class name, numbered>/vars (Keras 3)
            return [(f"cell/cells/{key}/{g}", c) for key, sub in _keyed(cell.cells)
                    for g, c in groups(sub)]
        return [(f"{_INNER[cls]}/vars", n)]
    return [("vars", n)]


def _read_group(group, path: str, where: str, shapes: list) -> list[np.ndarray]:
    """The arrays ``vars/0, vars/1, ...`` under ``path``, each checked for its dtype and
    for the shape in ``shapes`` (the layer's, in order) before it is read."""
    if group is None or path not in group:
        return []
    g = group[path]
    keys = sorted(g.keys(), key=lambda k: int(k) if str(k).isdigit() else -1)
    if len(keys) != len(shapes) or any(not str(k).isdigit() for k in keys):
        return [None] * len(keys)  # _set names the count that doesn't fit
    out = []
    for k, shape in zip(keys, shapes):
        d = g[k]
        if not hasattr(d, "dtype") or d.dtype.kind not in "fiub":
            raise ValueError(f"{where}: array {path}/{k} has dtype "
                             f"{getattr(d, 'dtype', 'none (a group)')}, not numbers")
        if tuple(d.shape) != tuple(shape):
            raise ValueError(f"{where}: array {path}/{k} has shape {tuple(d.shape)} in the "
                             f"file but the rnnkit layer's weight has shape {tuple(shape)}")
        out.append(np.asarray(d[()]))
    return out


def _all_or_nothing(load):
    """Run ``load(h5, model, where)``; on any error put every layer's weights back, so a
    bad file never leaves a half-loaded model."""
    def run(h5, model, where: str) -> None:
        saved = [(layer, layer.get_weights()) for layer in model_layers(model)]
        try:
            load(h5, model, where)
        except BaseException:
            for layer, weights in saved:
                if weights:
                    layer.set_weights(weights)
            raise
    run.__doc__ = load.__doc__
    return run


@_all_or_nothing
def read_keras3(h5, model, where: str) -> None:
    """Load a Keras 3 weights file (an open h5py File) into ``model``, layer by layer."""
    root = h5["layers"] if "layers" in h5 else None
    for key, layer in keyed_layers(model):
        here = f"{where}: layer {layer.name!r} (layers/{key})"
        shapes = [np.shape(w) for w in layer.get_weights()]
        arrays, i = [], 0
        for path, count in groups(layer):
            arrays += _read_group(root, f"{key}/{path}", here, shapes[i:i + count])
            i += count
        _set(layer, arrays, here)


def _set(layer, arrays, where: str) -> None:
    want = len(layer.get_weights())
    if len(arrays) != want:
        raise ValueError(f"{where} has {len(arrays)} arrays in the file but the rnnkit layer "
                         f"has {want} weights")
    if want:
        try:
            layer.set_weights(arrays)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from e


def write_keras3(h5, model) -> None:
    """Write ``model``'s weights in Keras 3's layout into an open, writable h5py File."""
    layers = h5.create_group("layers")
    for key, layer in keyed_layers(model):
        lg = layers.create_group(key)
        lg.create_group("vars")
        weights = layer.get_weights()
        i = 0
        for path, count in groups(layer):
            g = lg.require_group(path)
            for j in range(count):
                g.create_dataset(str(j), data=weights[i])
                i += 1
        assert i == len(weights), (layer.name, i, len(weights))
    h5.create_group("vars")


@_all_or_nothing
def read_legacy(h5, model, where: str) -> None:
    """Load a legacy ``.h5`` (``model_weights`` group, or a tf.keras weights-only file)."""
    root = h5["model_weights"] if "model_weights" in h5 else h5
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in root.attrs.get("layer_names", [])]
    by_name = {layer.name: layer for layer in _all_named(model)}
    for name in names:
        g = root[name]
        wnames = [n.decode() if isinstance(n, bytes) else str(n) for n in g.attrs.get("weight_names", [])]
        if not wnames:
            continue
        if name not in by_name:
            raise ValueError(f"{where}: weights for layer {name!r}, which the model lacks")
        shapes = [np.shape(w) for w in by_name[name].get_weights()]
        if len(wnames) != len(shapes):
            _set(by_name[name], [None] * len(wnames), f"{where}: layer {name!r}")
        arrays = []
        for wn, shape in zip(wnames, shapes):
            d = g[wn]
            if not hasattr(d, "dtype") or d.dtype.kind not in "fiub":
                raise ValueError(f"{where}: array {name}/{wn} has dtype "
                                 f"{getattr(d, 'dtype', 'none (a group)')}, not numbers")
            if tuple(d.shape) != tuple(shape):
                raise ValueError(f"{where}: array {name}/{wn} has shape {tuple(d.shape)} in the "
                                 f"file but the rnnkit layer's weight has shape {tuple(shape)}")
            arrays.append(np.asarray(d[()]))
        _set(by_name[name], arrays, f"{where}: layer {name!r}")


def _all_named(model) -> list:
    return model_layers(model)
