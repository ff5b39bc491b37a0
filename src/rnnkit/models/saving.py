"""Save and load Sequential models: ONE safetensors file, never a pickle.

The file is a plain safetensors file. Its tensors are the model's ``state_dict``
(``model/<name>``) and, when compiled and built, the optimizer's state
(``optimizer/...``). Its header's string metadata holds::

    format          "rnnkit-model"   (shared with the ``rnnkit`` command's model files)
    format_version  "1"
    kind            "sequential" | "functional" (whole model), "sequential-weights" |
                    "functional-weights" (save_weights)
    config          JSON: the model's get_config() -- the layers' class names and configs
                    (and, for a functional model, the graph: see models/graph_config.py)
    meta            JSON: {"compile": compile config or null, "optimizer": the
                    optimizer state's structure, "rnnkit_version": ...,
                    "metadata": the caller's JSON dict or null}

``metadata`` is for what a model needs beside its weights (a forecaster's
window and scaler statistics, a language model's vocabulary): a dict of JSON
values, stored as JSON and handed back by ``load_model`` as ``model.metadata``.

Loading rebuilds every layer with ``layer_from_config`` (registered classes
only), loads the tensors, and recompiles. Files are written atomically
(temporary file + ``os.replace``).
"""
from __future__ import annotations

import json
import os
import warnings

from rnnkit.training.state import json_field, pack, read_state_file, unpack, write_state_file

__all__ = ["save_model", "load_model", "save_weights", "load_weights"]

FORMAT = "rnnkit-model"
FORMAT_VERSION = "1"
WHAT = "an rnnkit model file (written by Sequential.save / save_weights)"


def _version() -> str:
    from rnnkit._version import __version__
    return __version__


def _check_target(path, overwrite: bool) -> str:
    p = os.fspath(path)
    if os.path.isdir(p):
        raise ValueError(f"`filepath` {p!r} is a directory; give a file name such as "
                         "'model.rnnkit'")
    if not overwrite and os.path.exists(p):
        raise FileExistsError(f"`filepath` {p!r} exists and overwrite=False")
    parent = os.path.dirname(os.path.abspath(p))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"`filepath` {p!r}: the folder {parent!r} does not exist")
    return p


def _check_metadata(metadata) -> dict | None:
    """``metadata`` as it will come back from the file (JSON values only)."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise TypeError(f"`metadata` must be a dict of JSON values or None, got "
                        f"{type(metadata).__name__}")
    try:
        # allow_nan=False: NaN/Infinity are not JSON, other readers would choke on them
        return json.loads(json.dumps(metadata, allow_nan=False))
    except (TypeError, ValueError) as e:
        raise ValueError(f"`metadata` must hold only JSON values (dicts with str keys, lists, "
                         f"str, finite numbers, bools, None); {e}") from None


def _write(model, path, kind: str, with_optimizer: bool, metadata=None) -> None:
    model._need_built("save")
    tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
    meta = {"compile": None, "optimizer": None, "rnnkit_version": _version(),
            "metadata": _check_metadata(metadata)}
    if with_optimizer:
        meta["compile"] = model.get_compile_config()
        opt = getattr(model, "optimizer", None)
        if meta["compile"] is not None and meta["compile"]["loss"] is None:
            warnings.warn("the model's loss is a user function, which can't be saved without "
                          "pickle; load_model will return it uncompiled", stacklevel=3)
        if opt is not None and opt.built:
            meta["optimizer"] = pack(opt.state_dict(), "optimizer", tensors)
    header = {"format_version": FORMAT_VERSION, "kind": kind,
              "config": json.dumps(model.get_config()), "meta": json.dumps(meta)}
    write_state_file(path, tensors, FORMAT, header)


def _kind(model) -> str:
    from rnnkit.models.functional import Model
    return "functional" if isinstance(model, Model) else "sequential"


def _is_keras_name(filepath, ending: str) -> bool:
    return str(os.fspath(filepath)).lower().endswith(ending)


def save_model(model, filepath, overwrite: bool = True, metadata: dict | None = None) -> None:
    """Write ``model`` (architecture, weights, compile config, optimizer state) and
    ``metadata``, a dict of JSON values (None: no metadata). A name ending in
    ``.keras`` writes Keras 3's own file instead (architecture and weights)."""
    if _is_keras_name(filepath, ".keras"):
        from rnnkit.models.keras_files import save_keras_model
        return save_keras_model(model, _check_target(filepath, overwrite),
                                metadata=_check_metadata(metadata))
    _write(model, _check_target(filepath, overwrite), _kind(model), with_optimizer=True,
           metadata=metadata)


def save_weights(model, filepath, overwrite: bool = True) -> None:
    """Write only the weights (and the architecture, to check them on loading).
    A name ending in ``.weights.h5`` writes Keras 3's weights file."""
    if _is_keras_name(filepath, ".weights.h5"):
        from rnnkit.models.keras_files import save_keras_weights
        return save_keras_weights(model, _check_target(filepath, overwrite))
    _write(model, _check_target(filepath, overwrite), _kind(model) + "-weights",
           with_optimizer=False)


def _read(path) -> tuple[str, dict, dict, dict]:
    header, tensors = read_state_file(path, FORMAT, WHAT)
    p = os.fspath(path)
    if header.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{p!r} has format version {header.get('format_version')!r}; this "
                         f"rnnkit reads version {FORMAT_VERSION}")
    kind = header.get("kind")
    if kind not in ("sequential", "sequential-weights", "functional", "functional-weights"):
        raise ValueError(f"{p!r} is an rnnkit model file of kind {kind!r} (written by an older "
                         "rnnkit command line), not a Sequential model nor a functional one; "
                         "expected kind 'sequential' or 'functional'")
    return kind, json_field(header, "config", p, WHAT), json_field(header, "meta", p, WHAT), tensors


def _load_state(model, tensors: dict, path) -> None:
    """Check every name and shape first, then load: nothing changes on a mismatch."""
    weights = {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}
    own = model.state_dict()
    missing = sorted(set(own) - set(weights))
    extra = sorted(set(weights) - set(own))
    if missing or extra:
        raise ValueError(f"{os.fspath(path)!r} doesn't fit this model: missing weights "
                         f"{missing}, unexpected weights {extra}")
    for k, mine in own.items():  # in the model's order, so the first mismatch is reported
        if tuple(weights[k].shape) != tuple(mine.shape):
            raise ValueError(f"{os.fspath(path)!r} doesn't fit this model: weight {k!r} has "
                             f"shape {tuple(weights[k].shape)} in the file but "
                             f"{tuple(mine.shape)} in the model")
    model.load_state_dict(weights, strict=True)


def load_model(filepath, compile: bool = True):
    """Rebuild a model saved by ``Sequential.save``; it predicts exactly as before.

    With ``compile=True`` (default) the optimizer, loss and metrics are restored,
    with the optimizer's state, so training can continue. The ``metadata`` given
    to ``save`` is ``model.metadata`` (None when there was none).
    """
    import rnnkit.layers  # noqa: F401  (registers the built-in layer classes)
    from rnnkit.models.sequential import Sequential
    from rnnkit.training.optimizers import deserialize_optimizer

    from rnnkit.models.functional import Model

    from rnnkit.models.keras_files import file_kind, load_keras_model
    if os.path.isfile(os.fspath(filepath)) and file_kind(filepath) in ("keras", "h5"):
        return load_keras_model(filepath)  # a Keras file: JSON + HDF5, no pickle
    kind, config, meta, tensors = _read(filepath)
    whole = kind in ("sequential", "functional")
    model = (Model if kind.startswith("functional") else Sequential).from_config(config)
    if not model.built:
        raise ValueError(f"{os.fspath(filepath)!r} holds an unbuilt model (no input shape); "
                         "nothing to load")
    _load_state(model, tensors, filepath)
    model.metadata = meta.get("metadata") if whole else None
    cc = meta.get("compile") if whole else None
    if compile and cc is not None and cc.get("loss") is not None:
        optimizer = deserialize_optimizer(cc["optimizer"], model.parameters())
        if isinstance(model, Model):
            model._compile_from_config(cc, optimizer)
        else:
            model.compile(optimizer=optimizer, loss=cc["loss"], metrics=cc.get("metrics") or None)
        if meta.get("optimizer") is not None:
            model.optimizer.load_state_dict(unpack(meta["optimizer"], tensors))
    return model


def load_weights(model, filepath) -> None:
    """Load weights saved by ``save_weights`` (or ``save``) into a built ``model``;
    an HDF5 file is read as Keras's ``.weights.h5`` (or legacy ``.h5``) layout."""
    from rnnkit.models.keras_files import file_kind, load_keras_weights
    if os.path.isfile(os.fspath(filepath)) and file_kind(filepath) == "h5":
        return load_keras_weights(model, filepath)
    kind, config, _, tensors = _read(filepath)
    if kind.split("-")[0] != _kind(model):
        raise ValueError(f"{os.fspath(filepath)!r} holds a {kind.split('-')[0]} model's weights, "
                         f"but the model is {_kind(model)}")
    if not model.built and config.get("build_input_shape") is not None:
        model._build_sample_shape(tuple(config["build_input_shape"]))
    model._need_built("load_weights")
    _load_state(model, tensors, filepath)
