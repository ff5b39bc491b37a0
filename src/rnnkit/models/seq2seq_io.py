"""Saving and loading :class:`rnnkit.models.Seq2Seq`: one safetensors file holding
the weights (``model/<state_dict key>``) and, in its header, the format version,
the constructor's config as JSON and optional JSON ``metadata`` (e.g. vocabularies).
Loading rebuilds the model from the config and never unpickles.

The mixin expects its host to provide ``config``, ``metadata`` and a constructor
that accepts ``**config`` (see seq2seq.py).
"""
from __future__ import annotations

import json
import os
from typing import Optional, TypeVar

import torch

from rnnkit.errors import InvalidModelFile, invalid_file
from rnnkit.training.safefile import (check_weights_fit, exact_weights, file_float_dtype,
                                      model_weights)
from rnnkit.training.state import json_field, read_state_file, write_state_file

__all__ = ["Seq2SeqSavingMixin", "FORMAT", "FORMAT_VERSION", "WHAT"]

FORMAT, FORMAT_VERSION = "rnnkit-seq2seq", "1"
WHAT = "an rnnkit Seq2Seq file (written by Seq2Seq.save)"
_M = TypeVar("_M", bound="Seq2SeqSavingMixin")  # load returns the class it is called on


class Seq2SeqSavingMixin:
    """save / load; mixed into Seq2Seq."""

    def save(self, path, metadata: Optional[dict] = None) -> None:
        """One safetensors file: weights + JSON config (+ JSON ``metadata``, e.g. vocabularies),
        written atomically. :meth:`load` reads it back without unpickling."""
        try:
            header = {"format_version": FORMAT_VERSION, "config": json.dumps(self.config),
                      "metadata": json.dumps(metadata)}
        except TypeError as e:
            raise TypeError(f"the config and `metadata` must be JSON-able to save ({e}); pass "
                            "activations by name") from None
        if os.path.isdir(os.fspath(path)):
            raise ValueError(f"`path` {os.fspath(path)!r} is a directory; give a file name")
        tensors = {f"model/{k}": v for k, v in self.state_dict().items()}
        write_state_file(path, tensors, FORMAT, header)

    @classmethod
    def load(cls: type[_M], path) -> _M:
        """The model saved at ``path``, in eval mode, with its ``metadata`` restored.
        The file is checked as :func:`rnnkit.models.load_model` checks a model file (the
        architecture first on torch's meta device); anything wrong raises
        :class:`rnnkit.InvalidModelFile`."""
        from rnnkit.layers.base import shapes_only

        header, tensors = read_state_file(path, FORMAT, WHAT)
        if header.get("format_version") != FORMAT_VERSION:
            raise InvalidModelFile(path, f"it has format version "
                                         f"{header.get('format_version')!r}; expected "
                                         f"{FORMAT_VERSION}")
        config = json_field(header, "config", path, WHAT)
        if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
            raise InvalidModelFile(path, "its config must be a JSON object")
        weights = model_weights(tensors)
        with invalid_file(path, "its config does not rebuild a Seq2Seq"), shapes_only():
            skeleton = cls(**config)
        check_weights_fit(skeleton.state_dict(), weights, path)
        with invalid_file(path, "its config does not rebuild a Seq2Seq"):
            model = cls(**config)
        dtype = file_float_dtype(weights)
        if dtype is not None and dtype != torch.float32:
            model.to(dtype)  # saved in float64: computes in float64 again
        model.load_state_dict(exact_weights(model.state_dict(), weights, path))
        model.metadata = json_field(header, "metadata", path, WHAT)
        return model.eval()
