"""What the classic cell families (rnn, lstm, gru) share: parameter shapes,
default init, LN, and the single-step module with torch.nn.*Cell's calling
convention. Which families exist is :mod:`rnnkit.cells.family`'s table."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Iterator, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.cells.family import FAMILIES, family
from rnnkit.util.checks import float_tensor as check_float_input
from rnnkit.util.checks import positive_int as check_positive_int


class _Gates(Mapping):
    """mode -> number of gate blocks, read live from the family table."""

    def __getitem__(self, mode: str) -> int:
        fam = FAMILIES.get(mode) if isinstance(mode, str) else None
        if fam is None:
            raise KeyError(mode)  # a Mapping's contract (``in``, ``get``); family() words it
        return fam.n_gates

    def __iter__(self) -> Iterator[str]:
        return iter(FAMILIES)

    def __len__(self) -> int:
        return len(FAMILIES)

    def __repr__(self) -> str:
        return repr(dict(self))


GATES = _Gates()
State = Union[Tensor, tuple[Tensor, Tensor]]


def ln(v: Tensor, weight: Optional[Tensor], bias: Optional[Tensor], eps: float) -> Tensor:
    """Layer norm over the last axis (Ba et al. 2016), biased variance."""
    return F.layer_norm(v, v.shape[-1:], weight, bias, eps)


def linear_opt(v: Tensor, *biases: Optional[Tensor]) -> Tensor:
    for b in biases:
        if b is not None:
            v = v + b
    return v


def param_shapes(mode: str, input_size: int, hidden_size: int, *, bias: bool = True,
                 proj_size: int = 0, layer_norm: bool = False, peephole: bool = False,
                 bias_hh: bool = True) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every parameter of one cell (one layer, one direction).

    The names and layouts are torch.nn's (weight_ih is (G*H, I), gates stacked
    in torch's order), so torch state_dicts load unchanged. ``bias_hh=False``
    gives Keras's single-bias layout (LSTM, SimpleRNN, GRU with reset_after=False).
    Each family declares its own shapes (:mod:`rnnkit.cells.family`).
    """
    return family(mode).param_shapes(input_size, hidden_size, bias=bias, proj_size=proj_size,
                                     layer_norm=layer_norm, peephole=peephole, bias_hh=bias_hh)


def classic_shapes(mode: str, input_size: int, hidden_size: int, *, bias: bool = True,
                   proj_size: int = 0, layer_norm: bool = False, peephole: bool = False,
                   bias_hh: bool = True) -> dict[str, tuple[int, ...]]:
    """The shapes of the families with a recurrent weight (rnn, lstm, gru)."""
    G, H = family(mode).n_gates, hidden_size
    P = proj_size if proj_size > 0 else H
    shapes: dict[str, tuple[int, ...]] = {"weight_ih": (G * H, input_size), "weight_hh": (G * H, P)}
    if bias:
        shapes["bias_ih"] = (G * H,)
        if bias_hh:
            shapes["bias_hh"] = (G * H,)
    if proj_size > 0:
        shapes["weight_hr"] = (P, H)
    if peephole:
        shapes.update(weight_ci=(H,), weight_cf=(H,), weight_co=(H,))
    if layer_norm:
        shapes.update(ln_ih=(G * H,), ln_hh=(G * H,))
        if mode == "lstm":
            shapes.update(ln_c_weight=(H,), ln_c_bias=(H,))
    return shapes


def torch_default_init_(params: dict[str, Tensor], hidden_size: int) -> None:
    """torch.nn's init: U(−1/√H, 1/√H) for weights and biases; LN gains 1, LN shifts 0."""
    k = 1.0 / math.sqrt(hidden_size)
    with torch.no_grad():
        for name, p in params.items():
            if name in ("ln_ih", "ln_hh", "ln_c_weight"):
                p.fill_(1.0)
            elif name == "ln_c_bias":
                p.zero_()
            else:
                p.uniform_(-k, k)


def classic_init_(params: dict[str, Tensor], input_size: int, hidden_size: int) -> None:
    """The family-table form of :func:`torch_default_init_` (input_size unused)."""
    torch_default_init_(params, hidden_size)


class CellBase(nn.Module):
    """Parameters and the torch.nn.*Cell forward convention; subclasses give ``_step``."""

    mode = ""
    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 layer_norm: bool = False, peephole: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.bias = bool(bias)
        self.layer_norm = bool(layer_norm)
        self.peephole = bool(peephole)
        if self.peephole and self.mode != "lstm":
            raise ValueError(f"`peephole` is an LSTM option; got peephole=True for {self.mode}")
        shapes = param_shapes(self.mode, input_size, hidden_size, bias=bias,
                              layer_norm=layer_norm, peephole=peephole)
        for name, shape in shapes.items():
            self.register_parameter(name, nn.Parameter(torch.empty(shape, device=device, dtype=dtype)))
        self._weight_names = tuple(shapes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        torch_default_init_(dict(self.named_parameters(recurse=False)), self.hidden_size)

    def weights(self) -> dict[str, Optional[Tensor]]:
        """Name -> the tensor the step uses, for every parameter of param_shapes.

        Read per step, so it is built from the ``_parameters`` dict (named_parameters'
        generator costs microseconds at B=1), except under torch's parametrize
        (weight_norm, ...), which moves a weight behind a property computed on access.
        """
        if "parametrizations" in self._modules:
            return {name: getattr(self, name) for name in self._weight_names}
        return dict(self._parameters)

    def _state_size(self) -> int:
        return self.hidden_size

    def forward(self, input: Tensor, hx: Optional[State] = None) -> State:
        """x (B, I) or (I,), hx (h[, c]) each (B, H) or (H,) -> the new state.

        Streaming calls this once per step at B=1, where the checks below cost as
        much as the step. So a well-formed batched call is recognised with a few
        cheap comparisons (plain tensors, rank 2, I, dtype == the parameters',
        state shapes (B, H)) and stepped at once; anything else (unbatched, hx
        None, a list, a Tensor subclass, parametrized weights, or a bad
        argument) takes :meth:`_checked_forward`, which does the same work and
        raises the detailed errors. The fast path accepts only calls that the
        checked path accepts, so both give the same result.
        """
        w = self._parameters.get("weight_ih")  # absent under torch's parametrize
        if w is not None and type(input) is Tensor:
            dt, size = input.dtype, input.shape  # x.shape once: each Tensor attribute is ~80 ns
            if not (len(size) == 2 and size[1] == self.input_size and dt == w.dtype
                    and dt.is_floating_point):
                return self._checked_forward(input, hx)
            want = (size[0], self.hidden_size)  # (B, H)
            if self.mode == "lstm":
                if type(hx) is tuple and len(hx) == 2:
                    h, c = hx
                    if (type(h) is Tensor and type(c) is Tensor and h.dtype == dt
                            and c.dtype == dt and h.shape == want and c.shape == want):
                        return self._step(input, hx)
            elif type(hx) is Tensor and hx.dtype == dt and hx.shape == want:
                return self._step(input, (hx,))[0]
        return self._checked_forward(input, hx)

    def _checked_forward(self, input: Tensor, hx: Optional[State] = None) -> State:
        """:meth:`forward` with every argument check and every accepted form."""
        x = check_float_input(input)
        if x.dim() not in (1, 2):
            raise ValueError(f"`input` must be 1-D (I,) or 2-D (B, I), got shape {tuple(x.shape)}")
        unbatched = x.dim() == 1
        if unbatched:
            x = x.unsqueeze(0)
        if x.shape[-1] != self.input_size:
            raise ValueError(f"`input` has {x.shape[-1]} features per step but the cell was built "
                             f"for input_size={self.input_size}")
        if x.dtype != self.weight_ih.dtype:
            raise TypeError(f"`input` has dtype {x.dtype} but the cell's parameters are "
                            f"{self.weight_ih.dtype}; cast one of them (e.g. cell.to({x.dtype}))")
        B, H = x.shape[0], self.hidden_size
        n_state = 2 if self.mode == "lstm" else 1
        if hx is None:
            state = tuple(x.new_zeros(B, H) for _ in range(n_state))
        else:
            parts = hx if isinstance(hx, (tuple, list)) else (hx,)
            if len(parts) != n_state:
                raise ValueError(f"`hx` must hold {n_state} tensor(s) for {self.mode}, got {len(parts)}")
            state = []
            want = (H,) if unbatched else (B, H)
            for k, s in enumerate(parts):
                check_float_input(s, "hx")
                if s.dtype != x.dtype:
                    raise TypeError(f"`hx`[{k}] must have the input's dtype {x.dtype}, got {s.dtype}")
                if tuple(s.shape) != want:
                    raise ValueError(f"`hx`[{k}] must have shape {want}, got {tuple(s.shape)}")
                state.append(s.unsqueeze(0) if unbatched else s)
            state = tuple(state)
        out = self._step(x, state)
        if unbatched:
            out = tuple(o.squeeze(0) for o in out)
        return out if n_state == 2 else out[0]

    def _step(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        raise NotImplementedError

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self.layer_norm:
            s += ", layer_norm=True"
        if self.peephole:
            s += ", peephole=True"
        return s
