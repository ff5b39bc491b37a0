"""Keras's own model files, read and written without Keras and without pickle.

- ``.keras``: a zip of ``config.json`` (the architecture, JSON), ``metadata.json``
  and ``model.weights.h5`` (HDF5 arrays; layout in :mod:`rnnkit.models.keras_weights`).
- legacy ``.h5`` (Keras 3 or tf.keras 2.x ``model.save("x.h5")``): the config is the
  JSON attribute ``model_config``, the arrays are under ``model_weights``.
- ``.weights.h5``: Keras 3's weights-only file (the ``.keras`` zip's HDF5 alone).

Reading parses JSON and HDF5 numbers only (json + h5py): nothing in the file is
ever executed or unpickled. The architecture is mapped onto rnnkit's layers by
:mod:`rnnkit.models.keras_config`, which names any layer or argument rnnkit lacks.
h5py comes with the ``rnnkit[keras]`` extra (Keras depends on it too).
"""
from __future__ import annotations

import datetime
import io
import json
import os
import zipfile
from typing import Optional

from rnnkit.models.keras_config import KerasFileError, model_from_keras, model_to_keras

__all__ = ["file_kind", "load_keras_model", "save_keras_model", "save_keras_weights",
           "load_keras_weights", "describe", "KerasFileError"]

_ZIP, _HDF5 = b"PK\x03\x04", b"\x89HDF\r\n\x1a\n"


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("reading and writing Keras files needs h5py: pip install "
                          "'rnnkit[keras]' (or pip install h5py)") from None
    return h5py


def file_kind(path) -> str:
    """'keras' (a .keras zip), 'h5' (HDF5: legacy model or weights) or 'other', by content
    (and, for a zip without config.json, by the .keras name)."""
    with open(os.fspath(path), "rb") as fh:
        head = fh.read(8)
    if head.startswith(_ZIP):
        # torch.save writes zips too: a zip is Keras's when it holds config.json or is named so.
        try:
            with zipfile.ZipFile(os.fspath(path)) as z:
                has_config = "config.json" in z.namelist()
        except zipfile.BadZipFile:
            has_config = False
        return "keras" if has_config or str(os.fspath(path)).lower().endswith(".keras") else "other"
    if head == _HDF5:
        return "h5"
    return "other"


def _read_bytes(p: str, max_params: int) -> bytes:
    """The whole file, if it is a regular file of a size that fits ``max_params``
    (InvalidModelFile otherwise, as for rnnkit's own files)."""
    from rnnkit.training.safefile import _open_regular, max_bytes_for
    return _open_regular(p, max_bytes_for(max_params))


def _json(text, p: str, where: str):
    from rnnkit.training.safefile import loads_checked  # depth-checked, InvalidModelFile
    return loads_checked(text.decode("utf-8", "replace") if isinstance(text, bytes) else text,
                         p, where)


def _read_zip(p: str, data: bytes, max_bytes: int) -> tuple[dict, bytes, dict]:
    from rnnkit.training.safefile import MAX_HEADER_BYTES
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            missing = {"config.json", "model.weights.h5"} - names
            if missing:
                raise KerasFileError(f"{p!r} is a zip but not a Keras model file: it lacks "
                                     f"{sorted(missing)}")
            for name in ("config.json", "metadata.json"):
                if name in names and z.getinfo(name).file_size > MAX_HEADER_BYTES:
                    raise KerasFileError(f"{p!r}: its {name} is {z.getinfo(name).file_size:,} "
                                         f"bytes, more than the {MAX_HEADER_BYTES:,} read")
            size = z.getinfo("model.weights.h5").file_size
            if size > max_bytes:  # a compressed member may unpack to far more (a zip bomb)
                raise KerasFileError(f"{p!r}: its model.weights.h5 unpacks to {size:,} bytes, "
                                     f"more than the {max_bytes:,} accepted for the allowed "
                                     "parameter count (raise `max_params` to load larger "
                                     "models)")
            spec = _json(z.read("config.json"), p, "config.json")
            meta = _json(z.read("metadata.json"), p, "metadata.json") \
                if "metadata.json" in names else {}
            return spec, z.read("model.weights.h5"), meta if isinstance(meta, dict) else {}
    except zipfile.BadZipFile as e:
        raise KerasFileError(f"{p!r} is not a readable .keras file: {e}") from None


def load_keras_model(path, compile: bool = True, *, max_params: Optional[int] = None):
    """A ``.keras`` or legacy ``.h5`` file -> the equivalent rnnkit model, weights loaded;
    with ``compile=True`` the file's compile config (a ``.keras`` file's
    ``compile_config``, a legacy ``.h5`` file's ``training_config``: optimizer, loss,
    metrics, loss_weights) compiles it the same way, or a warning names what rnnkit lacks
    (:mod:`rnnkit.models.keras_compile`). The optimizer's state is not restored.

    The file is untrusted input, checked as rnnkit's own files are: a regular file of a
    size that fits ``max_params`` (default 100 million), JSON nested at most 64 deep, the
    architecture built on the meta device and its parameters counted before anything is
    allocated, every array's dtype and shape checked before it is read."""
    from rnnkit.training.safefile import DEFAULT_MAX_PARAMS
    h5py = _h5py()
    p = os.fspath(path)
    max_params = DEFAULT_MAX_PARAMS if max_params is None else max_params
    kind = file_kind(p)
    if kind == "keras":
        from rnnkit.training.safefile import max_bytes_for
        spec, weights, meta = _read_zip(p, _read_bytes(p, max_params), max_bytes_for(max_params))
        model = _rebuild(spec, p, max_params)
        from rnnkit.models.keras_weights import read_keras3
        with h5py.File(io.BytesIO(weights), "r") as h5:
            read_keras3(h5, model, p)
        model.origin = (meta["producer"] + " .keras file" if "producer" in meta
                        else f"Keras {meta.get('keras_version', '?')} .keras file")
        model.metadata = meta.get("rnnkit_metadata")
        if compile:
            from rnnkit.models.keras_compile import compile_from_keras
            compile_from_keras(model, spec.get("compile_config"), repr(p))
        return model
    if kind == "h5":
        with h5py.File(io.BytesIO(_read_bytes(p, max_params)), "r") as h5:
            raw = h5.attrs.get("model_config")
            if raw is None:
                raise KerasFileError(f"{p!r} is an HDF5 file without a model config (a weights-"
                                     "only file?); build the model, then model.load_weights()")
            spec = _json(raw, p, "model_config")
            model = _rebuild(spec, p, max_params)
            from rnnkit.models.keras_weights import read_legacy
            read_legacy(h5, model, p)
            version = h5.attrs.get("keras_version", "?")
            version = version.decode() if isinstance(version, bytes) else version
            model.origin = f"Keras {version} legacy .h5 file"
            model.metadata = None
            training = h5.attrs.get("training_config")
            if compile and training is not None:
                from rnnkit.models.keras_compile import compile_from_keras
                compile_from_keras(model, _json(training, p, "training_config"), repr(p))
        return model
    raise KerasFileError(f"{p!r} is neither a .keras zip nor an HDF5 file")


def _rebuild(spec: dict, p: str, max_params: int):
    from rnnkit.layers.base import shapes_only
    # First on the meta device (no memory, no initialisation): a file that declares a
    # huge model is refused before anything is allocated.
    with shapes_only():
        skeleton = model_from_keras(spec, where=repr(p))
    n = sum(t.numel() for t in skeleton.parameters()) + sum(t.numel() for t in skeleton.buffers())
    if n > max_params:
        raise KerasFileError(f"{p!r} declares a model of {n:,} parameters, more than "
                             f"max_params={max_params:,}; pass load_model(..., max_params=N) "
                             "to load larger models")
    model = model_from_keras(spec, where=repr(p))
    if not getattr(model, "built", True):
        raise KerasFileError(f"{p!r} holds a model without an input shape; rnnkit can't build it")
    return model


def _weights_bytes(model) -> bytes:
    h5py = _h5py()
    from rnnkit.models.keras_weights import write_keras3
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h5:
        write_keras3(h5, model)
    return buf.getvalue()


def save_keras_model(model, path, metadata: dict | None = None) -> None:
    """Write ``model`` as a Keras 3 ``.keras`` file (architecture, weights and, when it is
    compiled, the compile config; not the optimizer's state), atomically;
    ``metadata`` (JSON values) goes in metadata.json, which Keras ignores, and
    comes back as ``model.metadata`` from ``load_model``."""
    from rnnkit._version import __version__
    from rnnkit.util.atomic import atomic_path

    model._need_built("save")
    config = model_to_keras(model)  # refuses what Keras can't rebuild, before writing anything
    from rnnkit.models.keras_compile import compile_to_keras
    compile_config = compile_to_keras(model)
    if compile_config is not None:
        config["compile_config"] = compile_config
    weights = _weights_bytes(model)
    meta = {"keras_version": "3.0.0",
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
            "producer": f"rnnkit {__version__}"}
    if metadata is not None:
        meta["rnnkit_metadata"] = metadata
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr("metadata.json", json.dumps(meta))
            z.writestr("config.json", json.dumps(config))
            z.writestr("model.weights.h5", weights)


def save_keras_weights(model, path) -> None:
    """Keras 3's ``.weights.h5``: the weights only, in Keras's layout."""
    from rnnkit.util.atomic import write_bytes
    model._need_built("save_weights")
    write_bytes(path, _weights_bytes(model))


def load_keras_weights(model, path) -> None:
    """Load a Keras 3 ``.weights.h5`` (or a legacy weights ``.h5``) into a built ``model``."""
    h5py = _h5py()
    model._need_built("load_weights")
    p = os.fspath(path)
    from rnnkit.models.keras_weights import read_keras3, read_legacy
    with h5py.File(p, "r") as h5:
        if "layers" in h5 or "vars" in h5:
            read_keras3(h5, model, p)
        else:
            read_legacy(h5, model, p)


def describe(model) -> dict:
    """What ``rnnkit info`` prints: layers, parameter count, origin."""
    from rnnkit.models.keras_weights import model_layers
    return {"class": "Sequential" if type(model).__name__ == "Sequential" else "Functional",
            "name": model.name,
            "layers": [(layer.name, type(layer).__name__,
                        layer.count_params() if getattr(layer, "built", True) else 0)
                       for layer in model_layers(model)],
            "params": model.count_params(),
            "origin": getattr(model, "origin", None),
            "compile": _compile_summary(model)}


def _compile_summary(model) -> Optional[dict]:
    """The compile settings in a line's worth: optimizer (with its learning rate), loss
    and metric names; None when the model isn't compiled."""
    if not getattr(model, "compiled", False):
        return None
    opt = model.optimizer
    loss = model.loss
    losses = [loss] if not isinstance(loss, (list, tuple)) else list(loss)
    return {"optimizer": f"{type(opt).__name__}(learning_rate={opt.learning_rate:g})",
            "loss": ", ".join("none" if lo is None else getattr(lo, "name", type(lo).__name__)
                              for lo in losses),
            "metrics": [m.name for m in getattr(model, "compiled_metrics", [])]}
