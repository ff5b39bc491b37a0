"""Keras 3's Embedding layer: integer ids (B, T) -> vectors (B, T, D)."""
from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.layers.base import Layer, check_units, register_layer
from rnnkit.layers.initializers import get_initializer


@register_layer
class Embedding(Layer):
    """Look up a D-vector for every integer id.

    Args:
        input_dim: vocabulary size V; ids must lie in [0, V).
        output_dim: vector size D.
        embeddings_initializer: default ``"uniform"``, Keras's U(−0.05, 0.05).
        mask_zero: id 0 is padding; the layer then produces the mask ``x != 0``
            for the layers after it (default False). Id 0 then can't be a word,
            so V is the vocabulary size + 1, as in Keras.
        input_length: Keras 2's argument; taken as ``input_shape=(input_length,)``.
        name, input_shape, trainable: as every layer.

    Floating ids are cast to integers, as Keras does. Weights: embeddings (V, D).

    Example::

        >>> Embedding(10, 3, mask_zero=True)(torch.tensor([[4, 2, 0]])).shape
        torch.Size([1, 3, 3])
    """

    _weight_roles = {"embeddings": (("embeddings",), False)}

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform",
                 mask_zero: bool = False, input_length: Optional[int] = None,
                 **kwargs: Any) -> None:
        if input_length is not None and kwargs.get("input_shape") is None:
            kwargs["input_shape"] = (check_units(input_length, "input_length"),)
        super().__init__(**kwargs)
        self.input_dim = check_units(input_dim, "input_dim")
        self.output_dim = check_units(output_dim, "output_dim")
        self.embeddings_initializer = embeddings_initializer
        get_initializer(embeddings_initializer, "embeddings_initializer")
        self.mask_zero = bool(mask_zero)

    def build(self, input_shape: tuple) -> None:
        self.embeddings = nn.Parameter(torch.empty(self.input_dim, self.output_dim))  # (V, D)
        self.built = True
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.embeddings.copy_(get_initializer(
                self.embeddings_initializer, "embeddings_initializer")(tuple(self.embeddings.shape)))

    def _ids(self, x) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"`x` must be a torch.Tensor or numpy array, got {type(x).__name__}")
        ids = x.long()  # Keras casts non-integer ids
        if ids.numel() and not ids.is_meta:  # meta: a shapes-only build has no values
            lo, hi = int(ids.min()), int(ids.max())
            if lo < 0 or hi >= self.input_dim:
                bad = lo if lo < 0 else hi
                raise ValueError(f"`x` holds id {bad} but the layer has input_dim="
                                 f"{self.input_dim}, so ids must lie in [0, {self.input_dim})")
        return ids

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        return F.embedding(self._ids(x), self.embeddings)  # (..., D)

    def compute_mask(self, x, mask: Optional[Tensor] = None) -> Optional[Tensor]:
        if not self.mask_zero:
            return None
        return torch.as_tensor(x).long() != 0  # (B, T), True = a real token

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(input_dim=self.input_dim, output_dim=self.output_dim,
                   embeddings_initializer=self.embeddings_initializer, mask_zero=self.mask_zero)
        return cfg
