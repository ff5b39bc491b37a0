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
        """The model saved at ``path``, in eval mode, with its ``metadata`` restored."""
        header, tensors = read_state_file(path, FORMAT, WHAT)
        if header.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{os.fspath(path)!r} has format version "
                             f"{header.get('format_version')!r}; expected {FORMAT_VERSION}")
        model = cls(**json_field(header, "config", path, WHAT))
        weights = {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}
        own = model.state_dict()
        wrong = sorted(set(own) ^ set(weights)) + sorted(
            k for k in own if k in weights and weights[k].shape != own[k].shape)
        if wrong:
            raise ValueError(f"{os.fspath(path)!r} doesn't fit its own config: {wrong}")
        model.load_state_dict(weights)
        model.metadata = json_field(header, "metadata", path, WHAT)
        return model.eval()
