"""A functional model's graph as JSON, in the shape of Keras's functional config:

    {"name": ..., "layers": [{"class_name", "config", "name", "inbound_nodes"}, ...],
     "input_layers": [[layer, node, tensor], ...], "output_layers": [...],
     "input_structure": null | n | [keys], "output_structure": ...}

Each inbound node holds the call's ``args`` and ``kwargs`` with every symbolic
tensor written as ``{"__keras_tensor__": [layer name, node index, tensor
index]}``; node indices count a layer's calls within this model. Everything
else in a call must be JSON (numbers, strings, lists, None). Rebuilding
(:func:`replay_config`) creates each layer from its config with
``layer_from_config`` (registered classes only: no code is ever loaded) and
calls it again on the rebuilt symbolic tensors.
"""
from __future__ import annotations

import json

from rnnkit.layers.base import layer_from_config
from rnnkit.layers.node import KerasTensor

__all__ = ["graph_config", "replay_config"]

_TAG = "__keras_tensor__"


def _layer_spec(layer) -> dict:
    return {"class_name": "Functional" if type(layer).__name__ == "Model"
            else type(layer).__name__, "config": layer.get_config()}


def graph_config(model) -> dict:
    own = {id(n) for n in model._nodes}
    index: dict[int, tuple] = {}
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            index[id(layer.output.node)] = (layer.name, 0)
    per_layer: dict[int, list] = {}
    for node in model._nodes:  # execution order: a layer's calls are numbered as they run
        calls = per_layer.setdefault(id(node.layer), [])
        index[id(node)] = (node.layer.name, len(calls))
        calls.append(node)

    def ref(t: KerasTensor) -> list:
        if id(t.node) not in index:
            raise ValueError(f"can't save model {model.name!r}: its input {t.name!r} is an "
                             "intermediate tensor of another model, not an Input")
        name, k = index[id(t.node)]
        return [name, k, t.index]

    def encode(value, where: str):
        if isinstance(value, KerasTensor):
            return {_TAG: ref(value)}
        if isinstance(value, (list, tuple)):
            return [encode(v, where) for v in value]
        if isinstance(value, dict):
            return {str(k): encode(v, where) for k, v in value.items()}
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ValueError(f"can't save model {model.name!r}: {where} passes a "
                             f"{type(value).__name__}, which isn't JSON; pass only symbolic "
                             "tensors, numbers, strings, lists and None to layers") from None
        return value

    layers = []
    for layer in model.layers:
        spec = _layer_spec(layer)
        spec["name"] = layer.name
        spec["inbound_nodes"] = [
            {"args": encode(list(n.args), f"layer {layer.name!r}"),
             "kwargs": encode(n.kwargs, f"layer {layer.name!r}")}
            for n in per_layer.get(id(layer), []) if id(n) in own]
        layers.append(spec)
    return {"name": model.name, "layers": layers,
            "input_layers": [ref(t) for t in model._inputs],
            "output_layers": [ref(t) for t in model._outputs],
            "input_structure": model._input_form, "output_structure": model._output_form}


def _decode(value, tensors: dict):
    if isinstance(value, dict) and _TAG in value:
        name, k, i = value[_TAG]
        outs = tensors.get((name, k))
        if outs is None:
            raise KeyError((name, k))
        return outs[i]
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if isinstance(value, dict):
        return {k: _decode(v, tensors) for k, v in value.items()}
    return value


def replay_config(cls, config: dict):
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ValueError("`config` must be a functional model config with a 'layers' list "
                         "(from Model.get_config())")
    from rnnkit.layers.node import flatten

    tensors: dict[tuple, list] = {}
    pending = []
    for spec in config["layers"]:
        layer = layer_from_config({"class_name": spec["class_name"], "config": spec["config"]})
        layer.name = spec.get("name", layer.name)
        if type(layer).__name__ == "InputLayer":
            tensors[(layer.name, 0)] = [layer.output]
        for node in spec.get("inbound_nodes", []):
            pending.append((layer, node))
    counts: dict[int, int] = {}
    while pending:  # a shared layer's later call may wait for layers listed after it
        left = []
        for layer, node in pending:
            try:
                args = _decode(node["args"], tensors)
                kwargs = _decode(node["kwargs"], tensors)
            except KeyError:
                left.append((layer, node))
                continue
            if left and any(lay is layer for lay, _ in left):
                left.append((layer, node))  # keep a layer's calls in order
                continue
            out = layer(*args, **kwargs)
            k = counts.get(id(layer), 0)
            counts[id(layer)] = k + 1
            tensors[(layer.name, k)] = flatten(out)
        if len(left) == len(pending):
            names = sorted({lay.name for lay, _ in left})
            raise ValueError(f"the config's graph can't be rebuilt: the calls of {names} wait "
                             "for tensors that no layer makes")
        pending = left

    def pick(refs, form):
        flat = [tensors[(n, k)][i] for n, k, i in refs]
        if form is None:
            return flat[0]
        if isinstance(form, list):
            return dict(zip(form, flat))
        return flat

    inputs = pick(config["input_layers"],
                  config.get("input_structure", len(config["input_layers"])))
    outputs = pick(config["output_layers"],
                   config.get("output_structure", len(config["output_layers"])))
    return cls(inputs, outputs, name=config.get("name"))
