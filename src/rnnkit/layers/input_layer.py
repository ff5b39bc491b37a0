"""Keras's ``Input`` and ``InputLayer``: where a functional graph starts.

    inputs = Input(shape=(None, 8), name="frames")      # (B, T, 8), T unknown
    tokens = Input(shape=(40,), dtype="int32")          # (B, 40) token ids

``Input`` returns a symbolic tensor (:class:`rnnkit.layers.node.KerasTensor`)
whose shape holds the batch axis first: ``(batch_size, *shape)``, None when
unknown. It is the output of an :class:`InputLayer`, which a functional
model's ``layers`` lists first, as Keras does.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from rnnkit.layers.base import Layer, register_layer
from rnnkit.layers.node import _DTYPES, KerasTensor, Node

__all__ = ["Input", "InputLayer"]

_COUNT = {"n": 0}


def _check_shape(shape, arg: str) -> tuple:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"`{arg}` must be a tuple of ints or None (without the batch axis), "
                        f"got {type(shape).__name__} {shape!r}")
    out = []
    for d in shape:
        if d is not None and (isinstance(d, bool) or not isinstance(d, (int, np.integer))
                              or d <= 0):
            raise ValueError(f"`{arg}` must hold positive ints or None (without the batch axis), "
                             f"got {tuple(shape)!r}")
        out.append(None if d is None else int(d))
    return tuple(out)


@register_layer
class InputLayer(Layer):
    """The layer behind ``Input``: it has no weights; calling the model feeds it.

    Args:
        shape: the sample shape without the batch axis, e.g. ``(None, 8)``.
        batch_size: a fixed batch size (stateful layers need one), default None.
        dtype: ``"float32"`` (default), ``"float64"``, or an integer type
            (``"int32"``/``"int64"``) for token ids.
        sparse, ragged: Keras arguments; only False is supported.
        name: default ``"input_layer"``, ``"input_layer_1"``, ...
    """

    def __init__(self, shape: Optional[Sequence] = None, batch_size: Optional[int] = None,
                 dtype: Optional[str] = None, sparse: Optional[bool] = None,
                 batch_shape: Optional[Sequence] = None, name: Optional[str] = None,
                 ragged: Optional[bool] = None, input_shape=None, **kwargs: Any) -> None:
        if sparse or ragged:
            raise ValueError("`sparse` and `ragged` inputs aren't supported by rnnkit; pad "
                             "sequences (rnnkit.utils.pad_sequences) and use a mask instead")
        if batch_shape is not None:
            batch_shape = tuple(batch_shape)
            if not batch_shape:
                raise ValueError("`batch_shape` must include the batch axis, got ()")
            batch_size, shape = batch_shape[0], batch_shape[1:]
        if shape is None:
            shape = input_shape
        if shape is None:
            raise ValueError("InputLayer needs `shape` (the sample shape without the batch "
                             "axis), got None")
        if name is None:
            name = "input_layer" if _COUNT["n"] == 0 else f"input_layer_{_COUNT['n']}"
            _COUNT["n"] += 1
        kwargs.pop("trainable", None)
        super().__init__(name=name, **kwargs)
        self.shape = _check_shape(shape, "shape")
        if batch_size is not None and (isinstance(batch_size, bool)
                                       or not isinstance(batch_size, (int, np.integer))
                                       or batch_size <= 0):
            raise ValueError(f"`batch_size` must be a positive int or None, got {batch_size!r}")
        self.batch_size = None if batch_size is None else int(batch_size)
        dtype = "float32" if dtype is None else str(dtype).replace("torch.", "")
        if dtype not in _DTYPES:
            raise ValueError(f"`dtype` must be one of {sorted(_DTYPES)}, got {dtype!r}")
        self.dtype_name = dtype
        self.built = True
        tensor = KerasTensor((self.batch_size,) + self.shape, dtype, name=self.name)
        node = Node(self, (), {}, [tensor], "single", auto_mask=False, mask_out=False)
        tensor.node = node
        self._inbound_nodes.append(node)

    def forward(self, x):
        return x

    @property
    def output(self):
        return self._inbound_nodes[0].outputs[0]

    def get_config(self) -> dict:
        return {"name": self.name, "batch_shape": [self.batch_size, *self.shape],
                "dtype": self.dtype_name}


def Input(shape: Optional[Sequence] = None, batch_size: Optional[int] = None,
          dtype: Optional[str] = None, sparse: Optional[bool] = None,
          batch_shape: Optional[Sequence] = None, name: Optional[str] = None,
          tensor=None, optional: bool = False, ragged: Optional[bool] = None) -> KerasTensor:
    """A symbolic input of samples shaped ``shape`` (no batch axis); Keras's ``keras.Input``.

    Example::

        >>> x = Input(shape=(None, 3))
        >>> x.shape
        (None, None, 3)
    """
    if tensor is not None or optional:
        raise ValueError("`tensor` and `optional` arguments of Input aren't supported by rnnkit")
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                      batch_shape=batch_shape, name=name, ragged=ragged).output
