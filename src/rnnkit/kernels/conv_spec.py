"""What a convolutional recurrent stack is (ConvLSTM, ConvGRU): one frozen,
hashable record that the conv kernels read and the registry chooses on."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch

from rnnkit.cells.conv_base import CONV_GATES, CONV_STATES, conv_out_size


@dataclass(frozen=True)
class ConvSpec:
    """One ConvLSTM/ConvGRU stack. Sizes per spatial dimension are tuples of ``rank``
    ints; ``stride``/``padding``/``dilation`` are the input convolution's (the recurrent
    one is stride 1, "same"). ``state_size`` is the state's spatial size, needed only
    by the per-position peephole weights."""

    mode: str  # "conv_lstm" | "conv_gru"
    rank: int
    in_channels: int
    filters: int
    kernel_size: tuple
    stride: tuple
    padding: str
    dilation: tuple
    bias: bool = True
    bias_hh: bool = False  # torch-style modules keep two biases, Keras layers one
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0  # between layers (torch.nn's dropout)
    input_dropout: float = 0.0  # one mask per sequence and gate (Keras's dropout)
    recurrent_dropout: float = 0.0  # one mask per sequence and gate on H_{t-1}
    activation: Callable = torch.tanh
    recurrent_activation: Callable = torch.sigmoid
    layer_norm: bool = False
    peephole: bool = False
    reset_after: bool = True
    state_size: Optional[tuple] = None
    ln_eps: float = 1e-5

    @property
    def gates(self) -> int:
        return CONV_GATES[self.mode]

    @property
    def n_states(self) -> int:
        return CONV_STATES[self.mode]

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def layer_in_channels(self, layer: int) -> int:
        return self.in_channels if layer == 0 else self.filters * self.num_directions

    def layer_conv(self, layer: int) -> dict:
        """The input convolution's arguments: the given ones for the first layer;
        stride 1 and "same" above it, where the input already has the state's size."""
        if layer == 0:
            return dict(stride=self.stride, padding=self.padding, dilation=self.dilation)
        ones = (1,) * self.rank
        return dict(stride=ones, padding="same", dilation=ones)

    def out_size(self, in_size: tuple) -> tuple:
        """The state's spatial size for an input of spatial size ``in_size``."""
        return tuple(conv_out_size(n, k, s, self.padding, d) for n, k, s, d in
                     zip(in_size, self.kernel_size, self.stride, self.dilation))
