"""Training state on disk without pickle: tensors in safetensors, structure in JSON.

A nested state (an optimizer's ``state_dict()``, RNG states) is split by
:func:`pack` into a JSON tree, where every tensor is replaced by
``{"__tensor__": key}``, and a flat ``{key: tensor}`` dict that safetensors
stores. Dict keys keep their type (torch optimizers index their state by int),
tuples stay tuples. :func:`unpack` inverts it exactly.

:func:`write_state_file` / :func:`read_state_file` put both in ONE safetensors
file (the JSON goes into the header's string metadata), written atomically.
A reader checks the file as untrusted input (:mod:`rnnkit.training.safefile`:
regular file, size, header, shapes, checksum) and the ``format`` key, so a foreign
file (or a pickle) is refused with :class:`rnnkit.InvalidModelFile` naming it;
nothing is ever unpickled.
"""
from __future__ import annotations

import os
import random
from typing import Any, Optional

import numpy as np
import torch
from torch import Tensor

from rnnkit.errors import InvalidModelFile
from rnnkit.util.atomic import atomic_path
from rnnkit.training.safefile import (CHECKSUM_KEY, DEFAULT_MAX_PARAMS, checksum, loads_checked,
                                      max_bytes_for, read_checked)

__all__ = ["pack", "unpack", "write_state_file", "read_state_file", "json_field",
           "capture_rng", "restore_rng"]


def pack(obj: Any, prefix: str, tensors: dict[str, Tensor]) -> Any:
    """JSON-able tree of ``obj``; its tensors are added to ``tensors`` under ``prefix/...``."""
    if isinstance(obj, Tensor):
        key = f"{prefix}#{len(tensors)}"
        tensors[key] = obj.detach().cpu().contiguous()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"can't store a state dict key of type {type(k).__name__}")
            items.append([k, pack(v, f"{prefix}/{k}", tensors)])
        return {"__dict__": items}
    if isinstance(obj, tuple):
        return {"__tuple__": [pack(v, f"{prefix}/{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [pack(v, f"{prefix}/{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"can't store a value of type {type(obj).__name__} in a training state")


def unpack(tree: Any, tensors: dict[str, Tensor]) -> Any:
    """Inverse of :func:`pack`; ValueError for a damaged (or crafted) tree."""
    if isinstance(tree, dict):
        if "__tensor__" in tree:
            key = tree["__tensor__"]
            if not isinstance(key, str) or key not in tensors:
                raise ValueError(f"damaged state tree: it refers to a tensor {key!r} that the "
                                 "file doesn't hold")
            return tensors[key]
        if "__dict__" in tree:
            items = tree["__dict__"]
            if not isinstance(items, list) or not all(
                    isinstance(kv, list) and len(kv) == 2 and isinstance(kv[0], (str, int))
                    and not isinstance(kv[0], bool) for kv in items):
                raise ValueError("damaged state tree: a dict must be a list of [key, value] "
                                 "pairs with str or int keys")
            return {k: unpack(v, tensors) for k, v in items}
        if "__tuple__" in tree:
            if not isinstance(tree["__tuple__"], list):
                raise ValueError("damaged state tree: a tuple must be a list")
            return tuple(unpack(v, tensors) for v in tree["__tuple__"])
        raise ValueError(f"damaged state tree: unexpected object with keys {sorted(tree)}")
    if isinstance(tree, list):
        return [unpack(v, tensors) for v in tree]
    return tree


def write_state_file(path, tensors: dict[str, Tensor], fmt: str, header: dict[str, str]) -> None:
    """One safetensors file holding ``tensors``, with the string metadata ``header``
    plus ``format`` and a sha256 checksum (:func:`rnnkit.training.safefile.checksum`);
    replaces ``path`` atomically (temp file + os.replace)."""
    from safetensors.torch import save_file

    for k, v in header.items():
        if not isinstance(v, str):
            raise TypeError(f"header value {k!r} must be a str (JSON-encode it), got "
                            f"{type(v).__name__}")
    # safetensors refuses tensors sharing memory; a clone costs little at these sizes.
    flat = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    meta = {**header, "format": fmt}
    meta[CHECKSUM_KEY] = checksum(flat, meta)
    with atomic_path(path) as tmp:
        save_file(flat, tmp, metadata=meta)


def read_state_file(path, fmt: str, what: str, *, max_bytes: Optional[int] = None,
                    require_checksum: bool = False
                    ) -> tuple[dict[str, str], dict[str, Tensor]]:
    """(header, tensors) of a file written by :func:`write_state_file` with format ``fmt``;
    ``what`` describes the expected file in errors ("an rnnkit model file"). Every check of
    :func:`rnnkit.training.safefile.read_checked` applies; anything malformed raises
    :class:`rnnkit.InvalidModelFile`. ``max_bytes`` defaults to the bound for
    :data:`~rnnkit.training.safefile.DEFAULT_MAX_PARAMS` parameters."""
    p = os.fspath(path)
    if not os.path.lexists(p):
        raise FileNotFoundError(f"{p!r}: no such file (expected {what})")
    if max_bytes is None:
        max_bytes = max_bytes_for(DEFAULT_MAX_PARAMS)
    return read_checked(p, fmt, what, max_bytes=max_bytes, require_checksum=require_checksum)


def json_field(header: dict[str, str], key: str, path, what: str) -> Any:
    """``header[key]`` decoded from JSON; InvalidModelFile naming the file when missing,
    damaged or nested too deep."""
    if key not in header:
        raise InvalidModelFile(path, f"its header has no field {key!r}; expected {what}")
    return loads_checked(header[key], path, key)


# --- random number generators ------------------------------------------------------------
def capture_rng(generators: Optional[dict[str, torch.Generator]] = None
                ) -> tuple[Any, dict[str, Tensor]]:
    """The states of Python's, numpy's and torch's global RNGs (and CUDA's when
    in use) plus ``generators`` (e.g. fit's shuffle generator)."""
    tensors: dict[str, Tensor] = {}
    version, mt, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    tree = {
        "python": [version, list(mt), gauss],
        "numpy": {"name": name, "pos": int(pos), "has_gauss": int(has_gauss),
                  "cached_gaussian": float(cached)},
        "generators": sorted(generators or {}),
        "cuda": torch.cuda.device_count() if torch.cuda.is_available() and
        torch.cuda.is_initialized() else 0,
    }
    tensors["rng/numpy_keys"] = torch.from_numpy(keys.astype(np.int64))
    tensors["rng/torch"] = torch.get_rng_state()
    for i in range(tree["cuda"]):
        tensors[f"rng/cuda{i}"] = torch.cuda.get_rng_state(i)
    for k, g in (generators or {}).items():
        tensors[f"rng/gen/{k}"] = g.get_state()
    return tree, tensors


def restore_rng(tree: Any, tensors: dict[str, Tensor],
                generators: Optional[dict[str, torch.Generator]] = None) -> None:
    version, mt, gauss = tree["python"]
    random.setstate((version, tuple(mt), gauss))
    npy = tree["numpy"]
    np.random.set_state((npy["name"], tensors["rng/numpy_keys"].numpy().astype(np.uint32),
                         npy["pos"], npy["has_gauss"], npy["cached_gaussian"]))
    torch.set_rng_state(tensors["rng/torch"])
    for i in range(tree.get("cuda", 0)):
        if torch.cuda.is_available() and i < torch.cuda.device_count():
            torch.cuda.set_rng_state(tensors[f"rng/cuda{i}"], i)
    for k, g in (generators or {}).items():
        if f"rng/gen/{k}" in tensors:
            g.set_state(tensors[f"rng/gen/{k}"])
