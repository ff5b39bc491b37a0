"""The exact configuration of a recurrent layer stack, as kernels see it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import torch

from rnnkit.cells.activations import resolve_activation

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


@dataclass(frozen=True)
class RecurrentSpec:
    """Everything that decides what a recurrent stack computes.

    Weights for layer ``k``, direction ``d`` sit at index ``k * D + d`` of the
    kernel's weight list (torch.nn's order), each a dict with the names of
    :func:`rnnkit.cells.param_shapes`.
    """

    mode: str  # "rnn" | "lstm" | "gru"
    input_size: int
    hidden_size: int
    num_layers: int = 1
    bias: bool = True
    bias_hh: bool = True  # False: Keras's single bias per cell
    bidirectional: bool = False
    merge_mode: Optional[str] = "concat"
    dropout: float = 0.0  # on the outputs of every layer but the last (torch.nn's `dropout`)
    proj_size: int = 0
    activation: Union[str, Callable] = "tanh"
    recurrent_activation: Union[str, Callable] = "sigmoid"
    layer_norm: bool = False
    peephole: bool = False
    reset_after: bool = True
    input_dropout: float = 0.0
    recurrent_dropout: float = 0.0
    zoneout_h: float = 0.0
    zoneout_c: float = 0.0
    dropconnect: float = 0.0
    go_backwards: bool = False
    ln_eps: float = field(default=1e-5)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def state_size(self) -> int:
        """Size of h (and of each direction's output): proj_size or hidden_size."""
        return self.proj_size if self.proj_size > 0 else self.hidden_size

    @property
    def output_size(self) -> int:
        D = self.num_directions
        return self.state_size * (D if self.merge_mode == "concat" else 1)

    def layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.output_size

    @property
    def n_states(self) -> int:
        return 2 if self.mode == "lstm" else 1

    def act_fn(self) -> Callable:
        return resolve_activation(self.activation, "activation")[1]

    def ract_fn(self) -> Callable:
        return resolve_activation(self.recurrent_activation, "recurrent_activation")[1]

    def uses_default_activations(self) -> bool:
        act = self.act_fn()
        if self.mode == "rnn":
            return act is torch.tanh or act is torch.relu
        return act is torch.tanh and self.ract_fn() is torch.sigmoid

    def regularised_in_training(self) -> bool:
        """Whether any in-recurrence regulariser is active when training."""
        return any(p > 0 for p in (self.input_dropout, self.recurrent_dropout, self.zoneout_h,
                                   self.zoneout_c, self.dropconnect))
