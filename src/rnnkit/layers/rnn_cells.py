"""Keras 3's cells: SimpleRNNCell, LSTMCell, GRUCell, and StackedRNNCells.

A cell computes one time step: ``output, new_states = cell(x_t, states)`` with
x_t (B, I) and states a list ([h], or [h, c] for the LSTM), each (B, units).
``layers.RNN(cell)`` runs it over a sequence. The built-in cells hold their
weights exactly as the matching layer does (Keras's arrays in get_weights,
torch's layout inside, :mod:`rnnkit.layers.keras_layout`) and reuse its spec,
so ``RNN(LSTMCell(n))`` runs through the kernel registry on the same fused
kernels as ``LSTM(n)``; the equations are those of :mod:`rnnkit.cells`.

A single step (a direct call ``cell(x_t, states)``) runs through
``registry.step``: the inference computation, without dropout; dropout and
recurrent_dropout act when the cell runs inside ``RNN``.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch
from torch import Tensor

from rnnkit.kernels import registry
from rnnkit.layers.base import Layer, layer_from_config, register_layer
from rnnkit.layers.recurrent import RecurrentLayer

__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells", "BUILTIN_CELLS"]

_COMMON = ("units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer",
           "bias_initializer", "dropout", "recurrent_dropout", "seed")


class _BuiltinCell(RecurrentLayer):
    """A recurrent layer's weights and spec, stepped one time step per call."""

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)

    @property
    def state_size(self):
        return [self.units, self.units] if self._n_states == 2 else self.units

    @property
    def output_size(self) -> int:
        return self.units

    def build(self, input_shape: tuple) -> None:
        # A step's (I,) or a sequence's (T, I): only I matters.
        super().build((None, input_shape[-1]))

    def get_initial_state(self, batch_size: int = 1) -> list[Tensor]:
        dtype = self.weight_ih.dtype if self.built else torch.float32
        return [torch.zeros(batch_size, self.units, dtype=dtype) for _ in range(self._n_states)]

    def forward(self, inputs: Tensor, states=None, training: Optional[bool] = None):
        """x_t (B, I), states [h] or [h, c] -> (h_t, [h_t] or [h_t, c_t])."""
        if not isinstance(inputs, Tensor) or inputs.dim() != 2:
            raise ValueError(f"cell {self.name!r} takes one time step of shape (batch, "
                             f"features), got {getattr(inputs, 'shape', type(inputs).__name__)}")
        if inputs.shape[-1] != self.input_size:
            raise ValueError(f"`inputs` has {inputs.shape[-1]} features but cell {self.name!r} "
                             f"was built for {self.input_size}")
        x = inputs.to(self.weight_ih.dtype)
        nested = isinstance(states, (list, tuple))
        state = (tuple(x.new_zeros(x.shape[0], self.units) for _ in range(self._n_states))
                 if states is None else self._given_states(states, x, "states"))
        new, self.last_choice = registry.step(self.spec, self.cell_weights(), x, state,
                                              backend=self.backend)
        return new[0], (list(new) if nested or self._n_states == 2 else new[0])

    def get_config(self) -> dict:
        cfg = Layer.get_config(self)
        cfg.update({key: getattr(self, key) for key in self._config_keys})
        return cfg


@register_layer
class SimpleRNNCell(_BuiltinCell):
    """One step of the Elman RNN: ``h_t = act(x_t W + h_{t-1} U + b)``.

    Args (Keras's, with its defaults): units, activation="tanh", use_bias=True,
    kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
    bias_initializer="zeros", dropout=0, recurrent_dropout=0, seed=None, and
    the kernel / recurrent / bias regularizers and constraints.

    Weights: kernel (I, u), recurrent_kernel (u, u), bias (u,).
    """

    mode = "rnn"
    _config_keys = _COMMON

    def __init__(self, units: int, activation="tanh", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)


@register_layer
class LSTMCell(_BuiltinCell):
    """One LSTM step (gate order i, f, c, o; equations in :mod:`rnnkit.cells.lstm`)::

        i = σ(x W_i + h U_i + b_i)   f = σ(x W_f + h U_f + b_f)   g = act(x W_c + h U_c + b_c)
        o = σ(x W_o + h U_o + b_o)   c' = f ⊙ c + i ⊙ g           h' = o ⊙ act(c')

    Args: as SimpleRNNCell, plus recurrent_activation="sigmoid" and
    unit_forget_bias=True (the forget bias starts at 1).
    Weights: kernel (I, 4u), recurrent_kernel (u, 4u), bias (4u,). state_size [u, u].
    """

    mode = "lstm"
    _config_keys = _COMMON + ("recurrent_activation", "unit_forget_bias")

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias: bool = True, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: Optional[int] = None,
                 **kwargs: Any) -> None:
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)


@register_layer
class GRUCell(_BuiltinCell):
    """One GRU step (Keras's gate order z, r, h; equations in :mod:`rnnkit.cells.gru`).

    Args: as SimpleRNNCell, plus recurrent_activation="sigmoid" and
    reset_after=True (cuDNN's variant, with a (2, 3u) bias).
    Weights: kernel (I, 3u), recurrent_kernel (u, 3u), bias (2, 3u) or (3u,).
    """

    mode = "gru"
    _config_keys = _COMMON + ("recurrent_activation", "reset_after")

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, reset_after: bool = True,
                 seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, reset_after=reset_after, seed=seed,
                         **kwargs)


BUILTIN_CELLS = (SimpleRNNCell, LSTMCell, GRUCell)


def state_sizes(cell) -> list[int]:
    size = cell.state_size
    return [int(s) for s in size] if isinstance(size, (list, tuple)) else [int(size)]


@register_layer
class StackedRNNCells(Layer):
    """Several cells as one: the output of each is the input of the next.

    ``state_size`` lists every cell's states in order (flat); a step takes and
    returns them flat, so ``RNN([LSTMCell(8), LSTMCell(4)], return_state=True)``
    returns ``(output, h1, c1, h2, c2)``.
    """

    def __init__(self, cells, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"`cells` must be a non-empty list of cells, got {cells!r}")
        for i, c in enumerate(cells):
            if not isinstance(c, Layer) or not hasattr(c, "state_size"):
                raise TypeError(f"`cells`[{i}] must be a cell (a Layer with `state_size` and "
                                f"call(inputs, states)), got {type(c).__name__}")
        self.cells = torch.nn.ModuleList(cells)

    @property
    def state_size(self) -> list[int]:
        return [s for c in self.cells for s in state_sizes(c)]

    @property
    def output_size(self) -> int:
        last = self.cells[-1]
        return int(getattr(last, "output_size", state_sizes(last)[0]))

    def build(self, input_shape) -> None:
        size = input_shape[-1]
        for c in self.cells:
            c.maybe_build((size,))
            size = int(getattr(c, "output_size", state_sizes(c)[0]))
        self.built = True

    def forward(self, inputs: Tensor, states, training: Optional[bool] = None):
        states = list(states)
        new_states: list = []
        x = inputs
        k = 0
        for c in self.cells:
            n = len(state_sizes(c))
            x, s = c(x, states[k:k + n])
            new_states += list(s) if isinstance(s, (list, tuple)) else [s]
            k += n
        return x, new_states

    def get_weights(self) -> list[np.ndarray]:
        return [w for c in self.cells for w in c.get_weights()]

    def set_weights(self, weights) -> None:
        i = 0
        for c in self.cells:
            n = len(c.get_weights())
            c.set_weights(weights[i:i + n])
            i += n

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg["cells"] = [{"class_name": type(c).__name__, "config": c.get_config()}
                        for c in self.cells]
        return cfg

    @classmethod
    def from_config(cls, config: dict) -> "StackedRNNCells":
        config = dict(config)
        config["cells"] = [layer_from_config(c) for c in config["cells"]]
        return cls(**config)
