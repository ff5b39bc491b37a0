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

Loading treats the file as untrusted input (:mod:`rnnkit.training.safefile`):
the container is checked first, then the architecture is rebuilt on torch's
meta device and its names and shapes compared with the tensors, and only then
is the real model built with ``layer_from_config`` (registered classes only),
loaded and recompiled. Every malformed file raises :class:`rnnkit.InvalidModelFile`.
Files are written atomically (temporary file + ``os.replace``) with a sha256
checksum of their contents, which loading verifies.
"""
from __future__ import annotations

import json
import os
import warnings

import torch

from rnnkit.errors import InvalidModelFile, invalid_file
from rnnkit.training.safefile import (DEFAULT_MAX_PARAMS, check_weights_fit, exact_weights,
                                      file_float_dtype, max_bytes_for, model_weights)
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
    ``.keras`` writes Keras 3's own file instead (architecture, weights and compile config)."""
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


def _read(path, max_bytes: int) -> tuple[str, dict, dict, dict]:
    header, tensors = read_state_file(path, FORMAT, WHAT, max_bytes=max_bytes)
    if header.get("format_version") != FORMAT_VERSION:
        raise InvalidModelFile(path, f"it has format version {header.get('format_version')!r}; "
                                     f"this rnnkit reads version {FORMAT_VERSION}")
    kind = header.get("kind")
    if kind not in ("sequential", "sequential-weights", "functional", "functional-weights"):
        raise InvalidModelFile(path, f"it is an rnnkit model file of kind {kind!r} (written by an "
                                     "older rnnkit command line), not a Sequential model nor a "
                                     "functional one; expected kind 'sequential' or 'functional'")
    config, meta = json_field(header, "config", path, WHAT), json_field(header, "meta", path, WHAT)
    _check_config(config, path)
    if not isinstance(meta, dict):
        raise InvalidModelFile(path, f"its 'meta' header field must be a JSON object, got "
                                     f"{type(meta).__name__}")
    if meta.get("metadata") is not None and not isinstance(meta["metadata"], dict):
        raise InvalidModelFile(path, "its metadata must be a JSON object or null")
    cc = meta.get("compile")
    if cc is not None and not (isinstance(cc, dict) and isinstance(cc.get("optimizer"), dict)):
        raise InvalidModelFile(path, "its compile config must be an object with an 'optimizer'")
    return kind, config, meta, tensors


def _check_config(config, path) -> None:
    """The structure Sequential.from_config reads, before it reads it."""
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise InvalidModelFile(path, "its config must be an object with a 'layers' list")
    for i, spec in enumerate(config["layers"]):
        if not (isinstance(spec, dict) and isinstance(spec.get("class_name"), str)
                and isinstance(spec.get("config"), dict)):
            raise InvalidModelFile(path, f"layer {i} of its config must be an object with a "
                                         "'class_name' string and a 'config' object")
    shape = config.get("build_input_shape")
    if shape is not None and not (isinstance(shape, list) and 0 < len(shape) <= 8 and all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and 0 < d < 2 ** 31)
            for d in shape)):
        raise InvalidModelFile(path, f"its build_input_shape must be a list of positive ints or "
                                     f"nulls, got {shape!r}")


def _check_max_params(max_params) -> int:
    if isinstance(max_params, bool) or not isinstance(max_params, int) or max_params <= 0:
        raise ValueError(f"`max_params` must be a positive int, got {max_params!r}")
    return max_params


def load_model(filepath, compile: bool = True, *, max_params: int = DEFAULT_MAX_PARAMS):
    """Rebuild a model saved by ``Sequential.save``; it predicts exactly as before.

    With ``compile=True`` (default) the optimizer, loss and metrics are restored,
    with the optimizer's state, so training can continue. The ``metadata`` given
    to ``save`` is ``model.metadata`` (None when there was none).

    The file is untrusted input: it is checked before anything is built (regular
    file, size, header, JSON depth, every declared shape against the tensors, and
    at most ``max_params`` parameters: 100 million by default, raise it for larger
    models). Anything wrong raises :class:`rnnkit.InvalidModelFile`, naming the file.
    A model saved in float64 comes back in float64.
    """
    import rnnkit.layers  # noqa: F401  (registers the built-in layer classes)
    from rnnkit.layers.base import shapes_only
    from rnnkit.models.sequential import Sequential
    from rnnkit.training.optimizers import deserialize_optimizer

    from rnnkit.models.functional import Model

    from rnnkit.models.keras_files import file_kind, load_keras_model
    max_params = _check_max_params(max_params)
    if os.path.isfile(os.fspath(filepath)) and file_kind(filepath) in ("keras", "h5"):
        # a Keras file: JSON + HDF5, no pickle, checked as rnnkit's own files are
        return load_keras_model(filepath, compile=compile, max_params=max_params)
    kind, config, meta, tensors = _read(filepath, max_bytes_for(max_params))
    cls = Model if kind.startswith("functional") else Sequential
    weights = model_weights(tensors)
    n = sum(t.numel() for t in weights.values())
    if n > max_params:
        raise InvalidModelFile(filepath, f"it holds {n:,} parameters, more than max_params="
                                         f"{max_params:,}; pass load_model(..., max_params=N) "
                                         "to load larger models")
    # First the architecture on the meta device (no memory, no initialisation): its
    # names and shapes must be the file's before a real model is allocated.
    with invalid_file(filepath, "its config does not rebuild a model"), shapes_only():
        skeleton = cls.from_config(config)
    if not skeleton.built:
        raise InvalidModelFile(filepath, "it holds an unbuilt model (no input shape); nothing "
                                         "to load")
    check_weights_fit(skeleton.state_dict(), weights, filepath)
    with invalid_file(filepath, "its config does not rebuild a model"):
        model = cls.from_config(config)
    dtype = file_float_dtype(weights)
    if dtype is not None and dtype != torch.float32:
        model.to(dtype)
    own = model.state_dict()
    model.load_state_dict(exact_weights(own, weights, filepath), strict=True)
    whole = kind in ("sequential", "functional")
    model.metadata = meta.get("metadata") if whole else None
    cc = meta.get("compile") if whole else None
    if compile and cc is not None and cc.get("loss") is not None:
        with invalid_file(filepath, "its compile config is refused"):
            optimizer = deserialize_optimizer(cc["optimizer"], model.parameters())
            if isinstance(model, Model):
                model._compile_from_config(cc, optimizer)
            else:
                model.compile(optimizer=optimizer, loss=cc["loss"],
                              metrics=cc.get("metrics") or None)
        if meta.get("optimizer") is not None:
            with invalid_file(filepath, "its optimizer state doesn't fit the model"):
                model.optimizer.load_state_dict(unpack(meta["optimizer"], tensors))
    return model


def load_weights(model, filepath) -> None:
    """Load weights saved by ``save_weights`` (or ``save``) into a built ``model``
    (checked as :func:`load_model` checks; the bound is the model's own size); an
    HDF5 file is read as Keras's ``.weights.h5`` (or legacy ``.h5``) layout."""
    from rnnkit.models.keras_files import file_kind, load_keras_weights
    if os.path.isfile(os.fspath(filepath)) and file_kind(filepath) == "h5":
        return load_keras_weights(model, filepath)
    limit = max_bytes_for(max(DEFAULT_MAX_PARAMS, model.count_params() if model.built else 0))
    kind, config, _, tensors = _read(filepath, limit)
    if kind.split("-")[0] != _kind(model):
        raise InvalidModelFile(filepath, f"it holds a {kind.split('-')[0]} model's weights, "
                                         f"but the model is {_kind(model)}")
    if not model.built and config.get("build_input_shape") is not None:
        with invalid_file(filepath, "its build_input_shape doesn't fit this model"):
            model._build_sample_shape(tuple(config["build_input_shape"]))
    model._need_built("load_weights")
    weights = model_weights(tensors)
    own = model.state_dict()
    check_weights_fit(own, weights, filepath)
    model.load_state_dict(exact_weights(own, weights, filepath), strict=True)
