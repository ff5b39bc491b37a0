"""The ``.rnnkit`` model file of the command line: safetensors weights + JSON metadata.

One file, written atomically.  The safetensors header carries a string-to-string
metadata map; we store there

    "format": "rnnkit-model", "format_version": "1",
    "kind": "forecaster" | "charlm",
    "config": JSON of the model's constructor arguments,
    "meta": JSON of what is needed to use it (window, horizon, target, features and
            scaler parameters; or the vocabulary of a character model).

Loading never unpickles: safetensors holds raw tensors only, the rest is JSON.
A file that is not a safetensors file, or one without our ``format`` key, is
refused with a ValueError naming the file.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, Tuple

import torch
from torch import nn

from rnnkit.tools.atomic import atomic_path

__all__ = ["FORMAT", "save_model", "load_model_file"]

FORMAT = "rnnkit-model"
FORMAT_VERSION = "1"


def save_model(path, model: nn.Module, kind: str, config: Dict[str, Any],
               meta: Dict[str, Any]) -> None:
    """Write ``model``'s parameters and its JSON config/meta to ``path`` atomically."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind,
              "config": json.dumps(config), "meta": json.dumps(meta)}
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata=header)


def load_model_file(path) -> Tuple[str, Dict[str, Any], Dict[str, Any], Dict[str, torch.Tensor]]:
    """(kind, config, meta, state_dict) of a file written by :func:`save_model`."""
    from safetensors import safe_open

    p = os.fspath(path)
    if not os.path.exists(p):
        raise FileNotFoundError(f"model: file not found: {p!r}")
    if os.path.isdir(p):
        raise ValueError(f"model: expected a model file, got a directory {p!r}")
    try:
        with safe_open(p, framework="pt") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for foreign files
        raise ValueError(f"model: {p!r} is not an rnnkit model file (not a safetensors "
                         f"file: {type(e).__name__}: {e}); train one with `rnnkit train`") from None
    if header.get("format") != FORMAT:
        raise ValueError(f"model: {p!r} is a safetensors file but not an rnnkit model "
                         f"(metadata 'format' is {header.get('format')!r}, expected {FORMAT!r})")
    if header.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"model: {p!r} has format version {header.get('format_version')!r}; "
                         f"this rnnkit reads version {FORMAT_VERSION}")
    try:
        config, meta = json.loads(header["config"]), json.loads(header["meta"])
    except (KeyError, json.JSONDecodeError) as e:
        raise ValueError(f"model: {p!r} has a damaged header ({e})") from None
    return header.get("kind", ""), config, meta, tensors
