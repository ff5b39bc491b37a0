"""Keras 3's Bidirectional wrapper (keras/src/layers/rnn/bidirectional.py).

Two separate layers run over the same input: a forward copy of ``layer`` and
a backward copy with ``go_backwards`` flipped. The backward copy returns its
sequence in processing order (last step first), so it is flipped back to
align in time before merging. As Keras does, both copies are rebuilt from
``layer``'s config (fresh weights), named ``forward_<name>`` and
``backward_<name>``, and with return_sequences their masked steps output
zeros (Keras forces ``zero_output_for_mask`` to return_sequences).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from rnnkit.layers.base import Layer, layer_from_config, register_layer
from rnnkit.layers.conv_lstm import ConvLSTM
from rnnkit.layers.recurrent import RecurrentLayer

# What the wrapper runs: the recurrent layers and the ConvLSTMs (Keras 3 wraps any RNN).
WRAPPABLE = (RecurrentLayer, ConvLSTM)
_WHAT = "a SimpleRNN, LSTM, GRU (any rnnkit RecurrentLayer) or ConvLSTM1D/2D/3D layer"

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _copy(layer: Layer, **changes) -> Layer:
    cfg = layer.get_config()
    cfg.pop("input_shape", None)  # the wrapper owns the input shape
    cfg.update(changes)
    return layer_from_config({"class_name": type(layer).__name__, "config": cfg})


def _merge(y: Tensor, y_rev: Tensor, mode: Optional[str]):
    if mode == "concat":
        return torch.cat([y, y_rev], dim=-1)
    if mode == "sum":
        return y + y_rev
    if mode == "mul":
        return y * y_rev
    if mode == "ave":
        return (y + y_rev) / 2
    return (y, y_rev)  # a tuple, as Keras 3 returns it


@register_layer
class Bidirectional(Layer):
    """Run a recurrent layer forwards and backwards and merge the two outputs.

    Args:
        layer: a SimpleRNN, LSTM, GRU (or another rnnkit RecurrentLayer) or a
            ConvLSTM1D/2D/3D instance; only its config is used.
        merge_mode: ``"concat"`` (default), ``"sum"``, ``"mul"``, ``"ave"``, or
            None to return the list ``[forward, backward]``.
        backward_layer: optional recurrent layer to use as the backward one; it
            must have the opposite ``go_backwards`` and the same
            return_sequences / return_state / stateful.
        name, input_shape, trainable: as every layer; ``input_shape`` defaults
            to the wrapped layer's.

    Call: ``(x, mask=None, initial_state=None, training=None)``;
    ``initial_state`` holds the forward states then the backward ones. With
    return_state the result is ``(output, *forward_states, *backward_states)``
    (``(y, y_rev, *states)`` when merge_mode is None; without return_state, ``(y, y_rev)``:
    tuples, as Keras 3 returns them).

    Weights: the forward layer's arrays, then the backward layer's.

    Around a ConvLSTM, as in Keras 3: ``"concat"`` joins the two outputs on the last
    axis (the filters with channels_last); masks may be per step (B, T) or per pixel
    (B, T, *S), each direction applying them as the ConvLSTM does.

    Example::

        >>> Bidirectional(LSTM(4, return_sequences=True))(torch.zeros(2, 5, 3)).shape
        torch.Size([2, 5, 8])
    """

    def __init__(self, layer: Layer, merge_mode: Optional[str] = "concat",
                 backward_layer: Optional[Layer] = None, **kwargs: Any) -> None:
        if not isinstance(layer, WRAPPABLE):
            raise TypeError("Received an invalid value for argument `layer`, expected "
                            f"{_WHAT}, got {type(layer).__name__}")
        if backward_layer is not None and not isinstance(backward_layer, WRAPPABLE):
            raise TypeError("Received an invalid value for argument `backward_layer`, expected "
                            f"{_WHAT}, got {type(backward_layer).__name__}")
        if merge_mode not in MERGE_MODES:
            raise ValueError("Received an invalid value for argument `merge_mode`, expected one "
                             f"of {list(MERGE_MODES)}, got {merge_mode!r}")
        if kwargs.get("input_shape") is None and layer.input_shape_arg is not None:
            kwargs["input_shape"] = layer.input_shape_arg
        super().__init__(**kwargs)
        self.merge_mode = merge_mode
        self._layer_config = {"class_name": type(layer).__name__, "config": layer.get_config()}
        self._backward_config = None if backward_layer is None else {
            "class_name": type(backward_layer).__name__, "config": backward_layer.get_config()}
        base = layer.name.removeprefix("forward_")
        self.forward_layer = _copy(layer, name=f"forward_{base}")
        if backward_layer is None:
            self.backward_layer = _copy(layer, go_backwards=not layer.go_backwards,
                                        name=f"backward_{base}")
        else:
            self.backward_layer = backward_layer
        f, b = self.forward_layer, self.backward_layer
        if f.go_backwards == b.go_backwards:
            raise ValueError("Forward layer and backward layer must have different "
                             f"`go_backwards`, got {f.go_backwards} for both")
        for a in ("stateful", "return_sequences", "return_state"):
            if getattr(f, a) != getattr(b, a):
                raise ValueError(f"Forward layer and backward layer must have the same `{a}`, "
                                 f"got {getattr(f, a)} and {getattr(b, a)}")
        for sub in (f, b):
            sub.zero_output_for_mask = sub.return_sequences
        self.return_sequences, self.return_state = f.return_sequences, f.return_state
        self.stateful = f.stateful

    def build(self, input_shape: tuple) -> None:
        self.forward_layer.maybe_build(input_shape)
        self.backward_layer.maybe_build(input_shape)
        self.built = True

    def forward(self, x: Tensor, mask: Optional[Tensor] = None, initial_state=None,
                training: Optional[bool] = None):
        fwd_state = bwd_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            fwd_state, bwd_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(x, mask=mask, initial_state=fwd_state, training=training)
        y_rev = self.backward_layer(x, mask=mask, initial_state=bwd_state, training=training)
        states: tuple = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev.flip(1)  # back into time order, (B, T, u)
        out = _merge(y, y_rev, self.merge_mode)
        if self.return_state:
            return (*out, *states) if self.merge_mode is None else (out, *states)
        return out

    def compute_output_shape(self, input_shape: tuple):
        shape = self.forward_layer.compute_output_shape(input_shape)
        state_shapes: tuple = ()
        if self.return_state:
            shape, state_shapes = shape[0], tuple(shape[1:])
        if self.merge_mode == "concat":
            shape = tuple(shape[:-1]) + (shape[-1] * 2,)
        elif self.merge_mode is None:
            shape = [shape, shape]
        if self.return_state:
            if self.merge_mode is None:
                return tuple(shape) + state_shapes * 2
            return (shape,) + state_shapes * 2
        return shape

    def compute_mask(self, x, mask: Optional[Tensor]):
        if self.return_sequences:
            out_mask = [mask, mask] if self.merge_mode is None else mask
        else:
            out_mask = [None, None] if self.merge_mode is None else None
        if self.return_state:
            n = 2 * self.forward_layer._n_states
            return (out_mask if isinstance(out_mask, list) else [out_mask]) + [None] * n
        return out_mask

    def reset_states(self, states: Optional[Sequence] = None) -> None:
        """Reset both directions (a no-op unless stateful); ``states`` holds the
        forward states then the backward ones."""
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        half = len(states) // 2
        self.forward_layer.reset_states(list(states[:half]))
        self.backward_layer.reset_states(list(states[half:]))

    reset_state = reset_states

    @property
    def states(self) -> Optional[list[Tensor]]:
        f, b = self.forward_layer.states, self.backward_layer.states
        return None if f is None or b is None else f + b

    def get_weights(self) -> list[np.ndarray]:
        return self.forward_layer.get_weights() + self.backward_layer.get_weights()

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        self._check_built_for("set_weights")
        n = len(self.forward_layer.get_weights())
        if len(weights) != 2 * n:
            raise ValueError(f"`weights` for layer {self.name!r} must hold {2 * n} arrays "
                             f"(forward then backward), got {len(weights)}")
        self.forward_layer.set_weights(weights[:n])
        self.backward_layer.set_weights(weights[n:])

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(layer=self._layer_config, merge_mode=self.merge_mode)
        if self._backward_config is not None:
            cfg["backward_layer"] = self._backward_config
        return cfg

    @classmethod
    def from_config(cls, config: dict) -> "Bidirectional":
        config = dict(config)
        config["layer"] = layer_from_config(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = layer_from_config(config["backward_layer"])
        return cls(**config)
