"""torch-style convolutional recurrences: ``rnnkit.nn.ConvLSTM`` and ``rnnkit.nn.ConvGRU``.

There is no ConvLSTM in torch.nn; these follow torch.nn.LSTM's conventions
(arguments, ``l{k}`` / ``_reverse`` parameter names, two biases, time-first
unless ``batch_first=True``, (output, (h_n, c_n)) return values) with feature
maps in place of feature vectors. Equations: :mod:`rnnkit.cells.conv_lstm`,
:mod:`rnnkit.cells.conv_gru`. Every forward goes through
:func:`rnnkit.kernels.registry.run_conv`; ``kernel_report()`` says which kernel ran.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor, nn

from rnnkit.cells.activations import resolve_activation
from rnnkit.cells.base import check_positive_int
from rnnkit.cells.conv_base import as_tuple, check_rank, conv_param_shapes
from rnnkit.kernels import registry
from rnnkit.kernels.conv_spec import ConvSpec
from rnnkit.nn.inputs import build_mask, check_prob

# What rnnkit.nn exports from this module (rnnkit.util.discover).
__all__ = ["ConvGRU", "ConvLSTM"]


class _ConvRecurrentBase(nn.Module):
    mode = ""

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, padding: str = "same", dilation=1,
                 device=None, dtype=None, *, dims: int = 2, activation="tanh",
                 recurrent_activation="sigmoid", layer_norm: bool = False,
                 peephole: bool = False, state_size=None, reset_after: bool = True,
                 input_dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 backend: str = "auto") -> None:
        super().__init__()
        check_positive_int(in_channels, "in_channels")
        check_positive_int(hidden_channels, "hidden_channels")
        check_positive_int(num_layers, "num_layers")
        rank = check_rank(dims)
        if not isinstance(padding, str) or padding.lower() != "same":
            raise ValueError(f"`padding` must be 'same' in {type(self).__name__}: the state is "
                             "convolved with itself every step, and 'valid' padding would "
                             f"shrink it step after step; got {padding!r}")
        if backend not in registry.conv_backend_names():
            raise ValueError(f"`backend` must be one of {registry.conv_backend_names()}, "
                             f"got {backend!r}")
        _, act = resolve_activation(activation, "activation")
        _, ract = resolve_activation(recurrent_activation, "recurrent_activation")
        kernel = as_tuple(kernel_size, rank, "kernel_size")
        size = None if state_size is None else as_tuple(state_size, rank, "state_size")
        self.spec = ConvSpec(
            self.mode, rank, in_channels, hidden_channels, kernel, (1,) * rank, "same",
            as_tuple(dilation, rank, "dilation"), bias=bool(bias), bias_hh=True,
            num_layers=num_layers, bidirectional=bool(bidirectional),
            dropout=check_prob(dropout, "dropout"),
            input_dropout=check_prob(input_dropout, "input_dropout"),
            recurrent_dropout=check_prob(recurrent_dropout, "recurrent_dropout"),
            activation=act, recurrent_activation=ract, layer_norm=bool(layer_norm),
            peephole=bool(peephole), reset_after=bool(reset_after), state_size=size)
        self.in_channels, self.hidden_channels, self.num_layers = (
            in_channels, hidden_channels, num_layers)
        self.kernel_size, self.batch_first, self.bidirectional = kernel, bool(batch_first), bool(
            bidirectional)
        self.backend = backend
        self.last_choice: Optional[registry.Choice] = None
        self._names: list[dict[str, str]] = []
        S = self.spec
        for k in range(num_layers):
            for d in range(S.num_directions):
                suffix = f"_l{k}" + ("_reverse" if d == 1 else "")
                shapes = conv_param_shapes(self.mode, S.layer_in_channels(k), hidden_channels,
                                           kernel, bias=bias, bias_hh=True, peephole=peephole,
                                           state_size=size, layer_norm=layer_norm)
                names = {}
                for base, shape in shapes.items():
                    self.register_parameter(base + suffix, nn.Parameter(
                        torch.empty(shape, device=device, dtype=dtype)))
                    names[base] = base + suffix
                self._names.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(−1/√n, 1/√n) with n = F·∏k, the recurrent convolution's fan-in (torch.nn.LSTM's
        rule with the fan-in of a convolution); LN gains 1, LN shifts 0."""
        bound = 1.0 / math.sqrt(self.hidden_channels * math.prod(self.kernel_size))
        with torch.no_grad():
            for names in self._names:
                for base, full in names.items():
                    p = getattr(self, full)
                    if base in ("ln_ih", "ln_hh", "ln_c_weight"):
                        p.fill_(1.0)
                    elif base == "ln_c_bias":
                        p.zero_()
                    else:
                        p.uniform_(-bound, bound)

    def _weights(self) -> list[dict[str, Tensor]]:
        return [{base: getattr(self, full) for base, full in names.items()}
                for names in self._names]

    def _check_input(self, input) -> Tensor:
        r = self.spec.rank
        if not isinstance(input, Tensor):
            raise TypeError(f"`input` must be a torch.Tensor, got {type(input).__name__}")
        order = "B, T" if self.batch_first else "T, B"
        if input.dim() != r + 3:
            raise ValueError(f"`input` must be {r + 3}-D ({order}, C, {r} spatial dims) for "
                             f"dims={r}, got {input.dim()}-D with shape {tuple(input.shape)}")
        if not input.is_floating_point():
            raise TypeError(f"`input` must have a floating dtype, got {input.dtype}")
        if input.shape[2] != self.in_channels:
            raise ValueError(f"`input` has {input.shape[2]} channels (axis 2) but the module "
                             f"was built for in_channels={self.in_channels}")
        if self.spec.peephole and tuple(input.shape[3:]) != self.spec.state_size:
            raise ValueError(f"`input` has spatial size {tuple(input.shape[3:])} but the "
                             f"peephole weights were built for state_size={self.spec.state_size}")
        return input.transpose(0, 1) if self.batch_first else input  # (T, B, C, *S)

    def _hx(self, hx, x: Tensor) -> tuple[Tensor, ...]:
        S, B = self.spec, x.shape[1]
        shape = (S.num_layers * S.num_directions, B, S.filters) + tuple(x.shape[3:])
        if hx is None:
            return tuple(x.new_zeros(shape) for _ in range(S.n_states))
        parts = (hx,) if isinstance(hx, Tensor) else tuple(hx)
        if len(parts) != S.n_states:
            raise ValueError(f"`hx` must be {'(h_0, c_0)' if S.n_states == 2 else 'h_0'}, got "
                             f"{len(parts)} tensor(s)")
        for k, s in enumerate(parts):
            if tuple(s.shape) != shape:
                raise ValueError(f"`hx`[{k}] must have shape {shape} (L·D, B, F, *S), "
                                 f"got {tuple(s.shape)}")
        return tuple(s.to(x.dtype) for s in parts)

    def forward(self, input: Tensor, hx=None, *, lengths=None, mask=None):
        """input (T, B, C, *S) or, with batch_first, (B, T, C, *S); ``lengths`` (B,) or a
        bool ``mask`` ((B, T) if batch_first else (T, B); True = valid step).

        Returns output (…, D·F, *S) in the input's batch/time order, zeros at masked
        steps, and the final state: (h_n, c_n) for ConvLSTM, h_n for ConvGRU, each
        (L·D, B, F, *S), each sample's state at its last valid step."""
        x = self._check_input(input)
        m = build_mask(x, lengths=lengths, mask=mask, batch_first=self.batch_first)
        out, state, self.last_choice = registry.run_conv(
            self.spec, self._weights(), x, self._hx(hx, x), m, training=self.training,
            backend=self.backend)
        out = out.transpose(0, 1) if self.batch_first else out
        return out, (state if self.spec.n_states == 2 else state[0])

    def kernel_report(self) -> str:
        return "no call yet" if self.last_choice is None else str(self.last_choice)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.hidden_channels}, kernel_size={self.kernel_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for key in ("batch_first", "bidirectional"):
            if getattr(self, key):
                s += f", {key}=True"
        return s


class ConvLSTM(_ConvRecurrentBase):
    """ConvLSTM (Shi et al. 2015) with torch.nn.LSTM's conventions.

    Args:
        in_channels: C. hidden_channels: F, channels of h and c.
        kernel_size: int or tuple of ``dims`` ints (both convolutions).
        num_layers, bias, batch_first, dropout, bidirectional: as torch.nn.LSTM.
        padding: only "same" (a recurrent convolution must keep the state's size).
        dilation: of the input convolution (default 1).
        dims: spatial dimensions, 1, 2 (default) or 3.
        activation, recurrent_activation: act and σ (tanh, sigmoid).
        layer_norm: layer-normalised gates and cell (default False).
        peephole: per-position peepholes W_ci, W_cf, W_co (F, *S); needs ``state_size``.
        input_dropout, recurrent_dropout: one mask per sequence and gate (training only).
        backend: ``"auto"``, ``"conv-cpu"``, ``"conv"`` or ``"reference"``.

    Example::

        >>> m = ConvLSTM(1, 8, 3, batch_first=True)
        >>> out, (h, c) = m(torch.zeros(2, 10, 1, 16, 16))
        >>> out.shape, h.shape
        (torch.Size([2, 10, 8, 16, 16]), torch.Size([1, 2, 8, 16, 16]))
    """

    mode = "conv_lstm"


class ConvGRU(_ConvRecurrentBase):
    """ConvGRU (Ballas et al. 2016) with torch.nn.GRU's conventions; ``reset_after``
    picks the reset placement (True: torch's, default; False: the paper's).
    Arguments as :class:`ConvLSTM`, without peepholes. Returns (output, h_n)."""

    mode = "conv_gru"
