"""Keras's model configs (config.json of a ``.keras`` file, ``model_config`` of a
legacy ``.h5``) <-> rnnkit's configs. JSON in, JSON out: no code is ever loaded.

Read: Keras 3 (``{"module", "class_name", "config", "registered_name"}`` specs,
``{"class_name": "__keras_tensor__", "config": {"keras_history": [...]}}`` in
functional nodes) and tf.keras 2.x (``batch_input_shape``, nodes as lists of
``[layer, node, tensor, kwargs]``). Each layer's Keras arguments go to the rnnkit
class of the same name; an argument rnnkit lacks is refused by the class with
its name, a class rnnkit lacks is named with the layer, and a ``Lambda`` (its
function is Python bytecode in the file) is refused.

Write: rnnkit's configs are already Keras's argument names; the rnnkit-only
options (``backend``, ``zoneout``, ``peephole``, ``layer_norm``) are dropped at
their defaults and refused otherwise, since Keras could not rebuild the layer.
"""
from __future__ import annotations


from rnnkit.layers.base import layer_from_config, registered_layers

__all__ = ["model_from_keras", "model_to_keras", "KerasFileError"]

# rnnkit options Keras lacks, with the value that means "as Keras".
_RNNKIT_ONLY = {"backend": "auto", "zoneout": 0.0, "peephole": False, "layer_norm": False}
# Keras arguments that only tune Keras's own execution: nothing to carry over.
_KERAS_RUNTIME = ("implementation", "time_major", "quantization_config")
_MODELS = ("Sequential", "Functional", "Model")


class KerasFileError(ValueError):
    """A Keras file rnnkit can't represent; the message names the layer and what is missing."""


def _check_dtype(value, where: str) -> None:
    name = value.get("config", {}).get("name") if isinstance(value, dict) else value
    if name not in (None, "float32"):
        raise KerasFileError(f"{where}: dtype policy {name!r} isn't supported by rnnkit "
                             "(float32 only)")


def _clean_object(value):
    """An initializer/regularizer/constraint spec without Keras's bookkeeping keys."""
    if isinstance(value, dict) and "class_name" in value:
        cfg = {k: v for k, v in (value.get("config") or {}).items()
               if v is not None or k == "seed"}
        return {"class_name": value["class_name"], "config": cfg}
    return value


def _spec_in(spec: dict, where: str) -> dict:
    """One Keras layer spec -> rnnkit's ``{"class_name", "config"}`` (nested models too),
    checked by building the layer once so that errors name it."""
    cls = spec.get("class_name")
    cfg = dict(spec.get("config") or {})
    name = cfg.get("name", spec.get("name", "?"))
    here = f"{where}: layer {name!r} ({cls})"
    if cls == "Lambda":
        raise KerasFileError(f"{here} holds a Python function as bytecode; rnnkit never loads "
                             "code. Rebuild the model in rnnkit with the function registered "
                             "(rnnkit.layers.register_function), then load the weights")
    if cls in _MODELS:
        return {"class_name": "Sequential" if cls == "Sequential" else "Functional",
                "config": _model_config_in(cls, cfg, here)}
    if cls not in registered_layers():
        raise KerasFileError(f"{here}: rnnkit has no layer class {cls!r}; it isn't supported")
    cfg = _config_in(cls, cfg, here)
    try:
        layer_from_config({"class_name": cls, "config": dict(cfg)})
    except (TypeError, ValueError) as e:
        raise KerasFileError(f"{here}: {e}") from e
    return {"class_name": cls, "config": cfg}


def _config_in(cls: str, cfg: dict, here: str) -> dict:
    if cls != "InputLayer":  # an input's dtype is its data's (int32 tokens), kept
        _check_dtype(cfg.pop("dtype", None), here)
    for key in _KERAS_RUNTIME:
        cfg.pop(key, None)
    if "batch_input_shape" in cfg:  # tf.keras 2.x
        shape = cfg.pop("batch_input_shape")
        cfg["batch_shape" if cls == "InputLayer" else "input_shape"] = shape if cls == "InputLayer" else shape[1:]
    if cls == "InputLayer":
        for key in ("sparse", "ragged", "optional"):
            if cfg.pop(key, False):
                raise KerasFileError(f"{here}: `{key}=True` inputs aren't supported by rnnkit")
    for key, value in list(cfg.items()):
        if isinstance(value, dict) and "class_name" in value and key not in ("layer", "cell"):
            cfg[key] = _clean_object(value)
    if cls == "StackedRNNCells":  # RNN([cell, cell, ...]): each cell's spec in turn
        cells = []
        for inner in cfg.get("cells") or []:
            icls = inner.get("class_name") if isinstance(inner, dict) else None
            if icls not in registered_layers():
                raise KerasFileError(f"{here}: its cell class {icls!r} isn't supported by rnnkit")
            cells.append({"class_name": icls,
                          "config": _config_in(icls, dict(inner.get("config") or {}), here)})
        cfg["cells"] = cells
    if cls in ("Bidirectional", "TimeDistributed", "RNN") or "layer" in cfg or "cell" in cfg:
        for key in ("layer", "cell"):
            inner = cfg.get(key)
            if isinstance(inner, dict) and "class_name" in inner:
                icls = inner["class_name"]
                if icls not in registered_layers():
                    raise KerasFileError(f"{here}: its inner layer class {icls!r} isn't "
                                         "supported by rnnkit")
                cfg[key] = {"class_name": icls,
                            "config": _config_in(icls, dict(inner.get("config") or {}), here)}
        back = cfg.pop("backward_layer", None)
        if back is not None:
            fwd = cfg["layer"]["config"]
            bcfg = _config_in(back["class_name"], dict(back.get("config") or {}), here)
            same = back["class_name"] == cfg["layer"]["class_name"] and all(
                bcfg.get(k) == v for k, v in fwd.items() if k not in ("name", "go_backwards"))
            if not same:
                raise KerasFileError(f"{here}: a `backward_layer` that differs from the forward "
                                     "layer isn't supported by rnnkit")
    return cfg


def _node_in(node, layer_cls: str) -> dict:
    """A Keras 3 or tf.keras 2 inbound node -> rnnkit's {"args", "kwargs"}."""
    if isinstance(node, dict):  # Keras 3
        return {"args": _tensors_in(node.get("args", [])), "kwargs": _tensors_in(node.get("kwargs", {}))}
    refs = [[r[0], r[1], r[2]] for r in node]  # tf.keras 2: [[layer, node, tensor, kwargs], ...]
    kwargs = dict(node[0][3]) if node and len(node[0]) > 3 else {}
    kwargs = {k: _tf2_kwarg(v) for k, v in kwargs.items()}
    tensors = [{"__keras_tensor__": r} for r in refs]
    if len(tensors) > 1 and layer_cls in ("LSTM", "GRU", "SimpleRNN", "RNN"):
        return {"args": [tensors[0]], "kwargs": {**kwargs, "initial_state": tensors[1:]}}
    return {"args": [tensors[0] if len(tensors) == 1 else tensors], "kwargs": kwargs}


def _tf2_kwarg(v):
    if isinstance(v, list) and len(v) >= 3 and isinstance(v[0], str) and isinstance(v[1], int):
        return {"__keras_tensor__": [v[0], v[1], v[2]]}
    if isinstance(v, list):
        return [_tf2_kwarg(x) for x in v]
    return v


def _tensors_in(value):
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return {"__keras_tensor__": list(value["config"]["keras_history"])}
    if isinstance(value, list):
        return [_tensors_in(v) for v in value]
    if isinstance(value, dict):
        return {k: _tensors_in(v) for k, v in value.items()}
    return value


def _refs_in(value):
    """Keras's input_layers/output_layers -> (list of refs, rnnkit structure)."""
    if isinstance(value, dict):
        return [list(v) for v in value.values()], list(value)
    if value and isinstance(value[0], str):
        return [list(value)], None
    if len(value) == 1:
        return [list(value[0])], None  # tf.keras 2 writes one input as a list of one
    return [list(v) for v in value], len(value)


def _drop_mask_ops(lspec: dict, mask_ops: set, where: str) -> dict:
    if not mask_ops:
        return lspec
    nodes = []
    for node in lspec.get("inbound_nodes", []):
        if isinstance(node, dict):
            kwargs = dict(node.get("kwargs") or {})
            m = kwargs.get("mask")
            if isinstance(m, dict) and m.get("config", {}).get("keras_history", [None])[0] in mask_ops:
                kwargs.pop("mask")
            if any(isinstance(t, dict) and t.get("config", {}).get("keras_history", [None])[0]
                   in mask_ops for t in _leaves([node.get("args"), kwargs])):
                raise KerasFileError(f"{where}: layer {lspec.get('name')!r} uses a NotEqual op's "
                                     "output as data; only its use as a mask is supported")
            node = {**node, "kwargs": kwargs}
        nodes.append(node)
    return {**lspec, "inbound_nodes": nodes}


def _leaves(value) -> list:
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    if isinstance(value, dict) and value.get("class_name") != "__keras_tensor__":
        return [x for v in value.values() for x in _leaves(v)]
    return [value]


def _mask_op_names(lspecs: list) -> set:
    """The ops with which Keras 3 records a mask computed from the inputs, passed on as
    mask=: an Embedding's NotEqual(x, 0), and a Masking layer's
    Any(NotEqual(x, mask_value), axis=-1) (keras/src/layers/core/masking.py). rnnkit's
    graph computes masks itself (each layer's compute_mask), so these ops and the mask=
    arguments that use them are dropped."""
    names = {lspec.get("name") for lspec in lspecs if lspec.get("class_name") == "NotEqual"}
    for lspec in lspecs:  # Keras lists the layers in graph order
        if lspec.get("class_name") != "Any":
            continue
        sources = [t["config"]["keras_history"][0]
                   for node in lspec.get("inbound_nodes", []) if isinstance(node, dict)
                   for t in _leaves([node.get("args"), node.get("kwargs")])
                   if isinstance(t, dict) and t.get("class_name") == "__keras_tensor__"]
        if sources and all(src in names for src in sources):
            names.add(lspec.get("name"))
    return names


def _model_config_in(cls: str, cfg: dict, where: str) -> dict:
    """A Keras Sequential / Functional config -> rnnkit's config for the same class."""
    if cls == "Sequential":
        layers = [_spec_in(spec, where) for spec in cfg.get("layers", [])]
        shape = cfg.get("build_input_shape")
        if layers and layers[0]["class_name"] == "InputLayer":
            shape = shape or layers[0]["config"].get("batch_shape")
            layers = layers[1:]
        if shape is None and layers and "input_shape" in layers[0]["config"]:
            shape = [None] + list(layers[0]["config"].pop("input_shape"))
        return {"name": cfg.get("name"), "layers": layers,
                "build_input_shape": None if shape is None else list(shape[1:])}
    layers = []
    mask_ops = _mask_op_names(cfg.get("layers", []))
    for lspec in cfg.get("layers", []):
        if lspec.get("name") in mask_ops:
            continue
        lspec = _drop_mask_ops(lspec, mask_ops, where)
        spec = _spec_in(lspec, where)
        spec["name"] = lspec.get("name") or lspec["config"].get("name")
        spec["inbound_nodes"] = [_node_in(n, lspec["class_name"])
                                 for n in lspec.get("inbound_nodes", [])]
        layers.append(spec)
    ins, in_form = _refs_in(cfg["input_layers"])
    outs, out_form = _refs_in(cfg["output_layers"])
    return {"name": cfg.get("name"), "layers": layers, "input_layers": ins,
            "output_layers": outs, "input_structure": in_form, "output_structure": out_form}


def model_from_keras(spec: dict, where: str = "the Keras file"):
    """A Keras model config (``{"class_name": "Sequential" | "Functional", "config": ...}``)
    -> the equivalent rnnkit model, unbuilt weights."""
    if not isinstance(spec, dict) or spec.get("class_name") not in _MODELS:
        got = spec.get("class_name") if isinstance(spec, dict) else type(spec).__name__
        raise KerasFileError(f"{where} holds a {got!r}, not a Sequential or functional model; "
                             "subclassed Keras models can't be rebuilt without their code")
    from rnnkit.models.functional import Model
    from rnnkit.models.sequential import Sequential

    cls = spec["class_name"]
    cfg = _model_config_in(cls, dict(spec.get("config") or {}), where)
    try:
        return (Sequential if cls == "Sequential" else Model).from_config(cfg)
    except (TypeError, ValueError) as e:
        raise KerasFileError(f"{where}: the model can't be rebuilt in rnnkit: {e}") from e


# --- rnnkit -> Keras ------------------------------------------------------------------------
def _config_out(cls: str, cfg: dict, where: str) -> dict:
    cfg = dict(cfg)
    for key, default in _RNNKIT_ONLY.items():
        if key in cfg:
            value = cfg.pop(key)
            if value != default:
                raise KerasFileError(f"{where}: {cls} option `{key}={value!r}` is rnnkit's own; "
                                     "Keras can't rebuild it, so the model can't be saved as a "
                                     "Keras file (save it as an rnnkit file instead)")
    for key in ("layer", "cell"):
        inner = cfg.get(key)
        if isinstance(inner, dict) and "class_name" in inner:
            cfg[key] = _spec_out(inner["class_name"], inner["config"], where)
    if cls == "StackedRNNCells":
        cfg["cells"] = [_spec_out(c["class_name"], c["config"], where) for c in cfg["cells"]]
    cfg.pop("input_shape", None)  # Keras gets an InputLayer instead
    return cfg


# Keras layers whose constructors take fewer base arguments than rnnkit's configs hold.
_KERAS_LACKS = {"SpatialDropout1D": ("trainable",), "GaussianNoise": ("trainable",)}


def _spec_out(cls: str, cfg: dict, where: str) -> dict:
    cfg = {k: v for k, v in cfg.items() if k not in _KERAS_LACKS.get(cls, ())}
    return {"module": "keras.layers", "class_name": cls,
            "config": _config_out(cls, cfg, f"{where}: layer {cfg.get('name')!r}"),
            "registered_name": None}


def _tensors_out(value, index: dict):
    """rnnkit's tensor refs -> Keras 3's, which also carry the tensor's shape and dtype."""
    if isinstance(value, dict) and "__keras_tensor__" in value:
        name, k, i = value["__keras_tensor__"]
        t = index[(name, k)][i]
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(t.shape), "dtype": t.dtype, "keras_history": [name, k, i]}}
    if isinstance(value, list):
        return [_tensors_out(v, index) for v in value]
    if isinstance(value, dict):
        return {k: _tensors_out(v, index) for k, v in value.items()}
    return value


def _tensor_index(model) -> dict:
    """(layer name, call index) -> symbolic outputs, numbered as graph_config numbers them."""
    index: dict[tuple, list] = {}
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            index[(layer.name, 0)] = [layer.output]
    counts: dict[int, int] = {}
    for node in model._nodes:
        k = counts.get(id(node.layer), 0)
        counts[id(node.layer)] = k + 1
        index[(node.layer.name, k)] = list(node.outputs)
    return index


def model_to_keras(model) -> dict:
    """An rnnkit Sequential or functional model -> Keras 3's config.json content."""
    from rnnkit.models.functional import Model
    from rnnkit.models.sequential import Sequential

    where = f"model {model.name!r}"
    if isinstance(model, Sequential):
        stateful = [m.name for m in model.modules() if getattr(m, "stateful", False) is True]
        if stateful:
            # Keras builds a stateful layer only with a static batch size, which rnnkit's
            # Sequential doesn't record (its input shape has no batch axis).
            raise KerasFileError(f"{where}: stateful layer(s) {stateful} need a fixed batch "
                                 "size in a Keras file, which a Sequential model doesn't "
                                 "record; build it as a functional model on "
                                 "rnnkit.Input(shape, batch_size=B) to save it as .keras")
        cfg = model.get_config()
        layers = []
        first = cfg["layers"][0] if cfg["layers"] else None
        if first is None or first["class_name"] != "InputLayer":
            shape = cfg.get("build_input_shape")
            if shape is None:
                raise KerasFileError(f"{where} isn't built, so Keras couldn't rebuild it")
            layers.append({"module": "keras.layers", "class_name": "InputLayer",
                           "config": {"batch_shape": [None] + list(shape), "dtype": "float32",
                                      "name": "input_layer"}, "registered_name": None})
        for spec in cfg["layers"]:
            sub = spec["class_name"] in _MODELS
            layers.append(_nested_out(spec, model, where) if sub else
                          _spec_out(spec["class_name"], spec["config"], where))
        return {"module": "keras", "class_name": "Sequential", "registered_name": None,
                "config": {"name": cfg["name"], "trainable": True, "layers": layers}}
    if not isinstance(model, Model):
        raise TypeError(f"`model` must be an rnnkit Sequential or functional Model, got "
                        f"{type(model).__name__}")
    cfg = model.get_config()
    index = _tensor_index(model)
    layers = []
    for spec in cfg["layers"]:
        sub = spec["class_name"] in _MODELS
        out = (_nested_out(spec, model, where) if sub
               else _spec_out(spec["class_name"], spec["config"], where))
        out["name"] = spec["name"]
        out["inbound_nodes"] = [{"args": _tensors_out(n["args"], index),
                                 "kwargs": _tensors_out(n["kwargs"], index)}
                                for n in spec["inbound_nodes"]]
        layers.append(out)

    def refs(flat, form):
        if form is None:
            return flat[0]
        if isinstance(form, list):
            return dict(zip(form, flat))
        return flat

    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "registered_name": "Functional",
            "config": {"name": cfg["name"], "trainable": True, "layers": layers,
                       "input_layers": refs(cfg["input_layers"], cfg["input_structure"]),
                       "output_layers": refs(cfg["output_layers"], cfg["output_structure"])}}


def _nested_out(spec: dict, parent, where: str) -> dict:
    """A model used as a layer: its own Keras config, nested."""
    name = spec.get("name") or spec["config"].get("name")
    sub = next((lay for lay in parent.layers if lay.name == name), None)
    if sub is None:
        raise KerasFileError(f"{where}: nested model {name!r} not found among its layers")
    return model_to_keras(sub)
