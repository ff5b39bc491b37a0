"""The exact configuration of a recurrent layer stack, as kernels see it."""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field, fields
from typing import Callable, Optional, Union

import torch

from rnnkit.cells.activations import resolve_activation
from rnnkit.cells.base import GATES

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

    def __hash__(self) -> int:
        # Streaming cells look their step kernel up by spec once per step: hash the
        # fields once (the dataclass would rebuild and hash the 22-field tuple each time).
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash(tuple(getattr(self, f.name) for f in fields(self)))
            object.__setattr__(self, "_hash", h)
        return h

    def __getstate__(self) -> dict:
        # str hashes differ between processes: an unpickled spec hashes afresh
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}

    def __post_init__(self) -> None:
        # Kernels trust the spec; a bad field would otherwise surface as an
        # AssertionError or a shape error deep inside a kernel.
        if self.mode not in GATES:
            raise ValueError(f"`mode` must be one of {sorted(GATES)}, got {self.mode!r}")
        for name in ("input_size", "hidden_size", "num_layers"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
                raise ValueError(f"`{name}` must be a positive integer, got {v!r}")
        if self.merge_mode not in MERGE_MODES:
            raise ValueError(f"`merge_mode` must be one of {list(MERGE_MODES)}, got {self.merge_mode!r}")
        if self.bidirectional and self.merge_mode is None and self.num_layers > 1:
            raise ValueError("`merge_mode`=None returns the two directions apart, so it can't feed "
                             f"a next layer; got num_layers={self.num_layers}")
        if self.proj_size and (self.mode != "lstm" or not 0 < self.proj_size < self.hidden_size):
            raise ValueError(f"`proj_size` needs mode='lstm' and 0 < proj_size < hidden_size="
                             f"{self.hidden_size}, got {self.proj_size} for mode={self.mode!r}")
        if self.peephole and self.mode != "lstm":
            raise ValueError(f"`peephole` is an LSTM option, got peephole=True for mode={self.mode!r}")
        if self.zoneout_c and self.mode != "lstm":
            raise ValueError(f"`zoneout_c` is an LSTM option, got {self.zoneout_c} for mode={self.mode!r}")
        for name in ("dropout", "input_dropout", "recurrent_dropout", "zoneout_h", "zoneout_c",
                     "dropconnect"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise ValueError(f"`{name}` must be in [0, 1), got {v!r}")
        resolve_activation(self.activation, "activation")
        resolve_activation(self.recurrent_activation, "recurrent_activation")

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
