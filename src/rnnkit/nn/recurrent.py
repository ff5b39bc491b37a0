"""torch.nn drop-ins: RNN, LSTM and GRU with torch.nn's arguments, parameter
names and return values, plus rnnkit's extras as keyword arguments.

``load_state_dict(torch_module.state_dict())`` works unchanged. Every forward
goes through :func:`rnnkit.kernels.registry.run`; ``kernel_report()`` says
which kernel ran and why.
"""
from __future__ import annotations

import functools
from typing import Optional, Union

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

from rnnkit.cells.activations import resolve_activation
from rnnkit.cells.base import check_positive_int, param_shapes
from rnnkit.cells.init import chrono_init_, forget_bias_
from rnnkit.kernels import chunked, precision, registry
from rnnkit.kernels.spec import RecurrentSpec
from rnnkit.nn.inputs import build_mask, check_prob, to_time_first

# What rnnkit.nn exports from this module (rnnkit.util.discover).
__all__ = ["GRU", "LSTM", "RNN"]


def _zoneout_pair(zoneout) -> tuple[float, float]:
    if isinstance(zoneout, (tuple, list)):
        if len(zoneout) != 2:
            raise ValueError(f"`zoneout` must be a float or a pair (z_h, z_c), got {zoneout!r}")
        return check_prob(zoneout[0], "zoneout"), check_prob(zoneout[1], "zoneout")
    z = check_prob(zoneout, "zoneout")
    return z, z


class _RecurrentBase(nn.Module):
    mode = ""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None, *, activation="tanh",
                 recurrent_activation="sigmoid", layer_norm: bool = False, peephole: bool = False,
                 reset_after: bool = True, input_dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, zoneout=0.0, dropconnect: float = 0.0,
                 stateful: bool = False, backend: str = "auto",
                 checkpoint_every: Optional[int] = None) -> None:
        super().__init__()
        # time steps per gradient-checkpointed chunk (rnnkit.kernels.chunked); None: no chunks
        self.checkpoint_every = chunked.check_checkpoint_every(checkpoint_every)
        check_positive_int(input_size, "input_size")
        check_positive_int(hidden_size, "hidden_size")
        check_positive_int(num_layers, "num_layers")
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(f"`proj_size` must be an integer ≥ 0, got {proj_size!r}")
        if proj_size >= hidden_size:
            raise ValueError(f"`proj_size` must be smaller than hidden_size={hidden_size}, got {proj_size}")
        if backend not in registry.backend_names():
            raise ValueError(f"`backend` must be one of {registry.backend_names()}, got {backend!r}")
        resolve_activation(activation, "activation")
        resolve_activation(recurrent_activation, "recurrent_activation")
        zh, zc = _zoneout_pair(zoneout)
        self.spec = RecurrentSpec(
            mode=self.mode, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers,
            bias=bool(bias), bidirectional=bool(bidirectional), dropout=check_prob(dropout, "dropout"),
            proj_size=proj_size, activation=activation, recurrent_activation=recurrent_activation,
            layer_norm=bool(layer_norm), peephole=bool(peephole), reset_after=bool(reset_after),
            input_dropout=check_prob(input_dropout, "input_dropout"),
            recurrent_dropout=check_prob(recurrent_dropout, "recurrent_dropout"),
            zoneout_h=zh, zoneout_c=zc if self.mode == "lstm" else 0.0,
            dropconnect=check_prob(dropconnect, "dropconnect"))
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bool(bias), bool(batch_first), float(dropout)
        self.bidirectional, self.proj_size = bool(bidirectional), proj_size
        self.backend, self.stateful = backend, bool(stateful)
        self._state: Optional[tuple[Tensor, ...]] = None
        self.last_choice: Optional[registry.Choice] = None
        self._names: list[dict[str, str]] = []
        S = self.spec
        for k in range(num_layers):
            for d in range(S.num_directions):
                suffix = f"_l{k}" + ("_reverse" if d == 1 else "")
                shapes = param_shapes(self.mode, S.layer_input_size(k), hidden_size, bias=bias,
                                      proj_size=proj_size, layer_norm=layer_norm, peephole=peephole)
                names = {}
                for base, shape in shapes.items():
                    self.register_parameter(base + suffix, nn.Parameter(
                        torch.empty(shape, device=device, dtype=dtype)))
                    names[base] = base + suffix
                self._names.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The family's default init (rnnkit.cells.family), layer by layer and direction by
        direction in torch's order (torch.nn's U(−1/√H, 1/√H) for RNN, LSTM, GRU)."""
        S, params = self.spec, dict(self.named_parameters(recurse=False))
        for idx, names in enumerate(self._names):
            S.family.init({b: params[f] for b, f in names.items() if f in params},
                          S.layer_input_size(idx // S.num_directions), self.hidden_size)

    def cell_weights(self) -> list[dict[str, Tensor]]:
        """Per (layer, direction), in torch's order: the cell's weights by base name."""
        return [{base: getattr(self, full) for base, full in names.items()} for names in self._names]

    def flatten_parameters(self) -> None:
        """torch.nn's call for cuDNN's contiguous weight buffer. rnnkit's kernels
        take the weights as they are, so there is nothing to do; kept so torch code runs."""

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """Per (layer, direction), the parameters in torch.nn's order."""
        return [[getattr(self, full) for full in names.values()] for names in self._names]

    def kernel_report(self) -> str:
        """Which kernel the last forward ran, and why faster ones didn't."""
        return "no forward yet" if self.last_choice is None else str(self.last_choice)

    def reset_state(self, samples=None) -> None:
        """Stateful use: forget the carried state, for all samples or only for
        ``samples`` (indices, or a (B,) bool tensor), e.g. when a stream ends."""
        if samples is None or self._state is None:
            self._state = None
            return
        B = self._state[0].shape[1]
        idx = torch.as_tensor(samples)
        if idx.numel() == 0:
            return
        if idx.dtype == torch.bool:
            if idx.shape != (B,):
                raise ValueError(f"`samples` as a bool mask must have shape ({B},), one per sample "
                                 f"of the carried state, got {tuple(idx.shape)}")
        elif idx.dtype.is_floating_point or idx.dtype.is_complex:
            raise TypeError(f"`samples` must be sample indices or a (B,) bool mask, got dtype {idx.dtype}")
        elif int(idx.min()) < -B or int(idx.max()) >= B:
            raise ValueError(f"`samples` must index the carried batch of {B}, got {idx.tolist()}")
        keep = torch.ones(B, dtype=torch.bool, device=self._state[0].device)
        keep[idx.to(keep.device)] = False
        self._state = tuple(torch.where(keep.view(1, -1, 1), s, torch.zeros_like(s))
                            for s in self._state)

    def _initial_state(self, hx, B: int, x: Tensor, unbatched: bool) -> tuple[Tensor, ...]:
        S = self.spec
        LD = S.num_layers * S.num_directions
        sizes = [S.state_size, S.hidden_size][: S.n_states]
        if hx is None and self.stateful and self._state is not None:
            if self._state[0].shape[1] != B:
                raise ValueError(f"stateful module carries state for batch size "
                                 f"{self._state[0].shape[1]} but `input` has batch size {B}; "
                                 "call reset_state() between streams of different batch sizes")
            return self._state
        if hx is None:
            return tuple(x.new_zeros(LD, B, n) for n in sizes)
        parts = hx if isinstance(hx, (tuple, list)) else (hx,)
        if len(parts) != S.n_states:
            raise ValueError(f"`hx` must be {'(h_0, c_0)' if S.n_states == 2 else 'h_0'} for "
                             f"{type(self).__name__}, got {len(parts)} tensor(s)")
        out = []
        for name, s, n in zip(("h_0", "c_0"), parts, sizes):
            if not isinstance(s, Tensor):
                raise TypeError(f"`hx` ({name}) must be a torch.Tensor, got {type(s).__name__}")
            if s.dtype != x.dtype:
                raise TypeError(f"`hx` ({name}) must have the input's dtype {x.dtype}, got {s.dtype}")
            want = (LD, n) if unbatched else (LD, B, n)
            if tuple(s.shape) != want:
                raise ValueError(f"`hx` ({name}) must have shape {want}, got {tuple(s.shape)}")
            out.append(s.unsqueeze(1) if unbatched else s)
        return tuple(out)

    def forward(self, input: Union[Tensor, PackedSequence], hx=None, *, lengths=None, mask=None,
                generator: Optional[torch.Generator] = None):
        """input: (T, B, I) or (B, T, I) with batch_first, (T, I) unbatched, or a
        PackedSequence. ``lengths`` (B,) or ``mask`` (True = valid step) mark
        padding anywhere. Returns (output, h_n) for RNN/GRU and
        (output, (h_n, c_n)) for LSTM, shaped as torch.nn's."""
        x, packed_lengths, unbatched, packed = to_time_first(
            input, batch_first=self.batch_first, input_size=self.input_size)
        w_dtype = self.weight_ih_l0.dtype
        if x.dtype == precision.autocast_dtype(x.device):
            x = x.to(w_dtype)  # an earlier layer's autocast output; the recurrence is float32
        if x.dtype != w_dtype:
            raise TypeError(f"`input` has dtype {x.dtype} but the module's parameters are {w_dtype}; "
                            f"cast one of them (e.g. module.to({x.dtype}))")
        if packed is not None and (lengths is not None or mask is not None):
            raise ValueError("a PackedSequence carries its own lengths; don't pass `lengths` or `mask`")
        m = build_mask(x, lengths=packed_lengths if packed is not None else lengths,
                       mask=mask, batch_first=self.batch_first)
        state0 = self._initial_state(hx, x.shape[1], x, unbatched)
        runner = registry.run if self.checkpoint_every is None else \
            functools.partial(chunked.run, self.checkpoint_every)
        runner = precision.float32_recurrence(runner)  # float32 state under autocast
        out, state, self.last_choice = runner(
            self.spec, self.cell_weights(), x, state0, m, training=self.training,
            backend=self.backend, generator=generator)
        if self.stateful:
            # Truncated BPTT: carry the values, not the graph, into the next batch.
            self._state = tuple(s.detach() for s in state)
        if packed is not None:
            out = _repack(out, packed, packed_lengths)
        elif unbatched:
            out = out.squeeze(1)
            state = tuple(s.squeeze(1) for s in state)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, (state if self.spec.n_states == 2 else state[0])

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for name, default in (("num_layers", 1), ("bias", True), ("batch_first", False),
                              ("dropout", 0.0), ("bidirectional", False), ("proj_size", 0)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s


def _repack(out: Tensor, like: PackedSequence, lengths: Tensor) -> PackedSequence:
    """Pack (T, B, ·) outputs in the same batch order as the input PackedSequence."""
    order = like.sorted_indices
    if order is not None:
        out, lengths = out.index_select(1, order), lengths.index_select(0, order.cpu())
    p = pack_padded_sequence(out, lengths, enforce_sorted=True)
    return PackedSequence(p.data, p.batch_sizes, like.sorted_indices, like.unsorted_indices)


class RNN(_RecurrentBase):
    """Elman RNN, a drop-in for torch.nn.RNN. Equations: :mod:`rnnkit.cells.rnn`.

    Extras: ``activation`` (any name or callable; overrides ``nonlinearity``),
    ``layer_norm``, ``input_dropout``, ``recurrent_dropout``, ``zoneout``,
    ``dropconnect``, ``stateful``, ``backend``; ``forward(..., lengths=, mask=)``.
    """

    mode = "rnn"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None,
                 *, activation=None, **extras) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"`nonlinearity` must be 'tanh' or 'relu', got {nonlinearity!r}; "
                             "use `activation=` for any other function")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype,
                         activation=activation if activation is not None else nonlinearity, **extras)


class LSTM(_RecurrentBase):
    """LSTM, a drop-in for torch.nn.LSTM (proj_size included). Equations: :mod:`rnnkit.cells.lstm`.

    Extras: ``layer_norm``, ``peephole``, ``forget_bias`` (e.g. 1.0, Keras's
    unit_forget_bias), ``chrono_init`` (T_max, Tallec & Ollivier 2018),
    ``activation``/``recurrent_activation``, ``input_dropout``,
    ``recurrent_dropout``, ``zoneout`` (float or (z_h, z_c)), ``dropconnect``,
    ``stateful``, ``backend``.
    """

    mode = "lstm"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None, *,
                 forget_bias: Optional[float] = None, chrono_init: Optional[float] = None,
                 **extras) -> None:
        self.forget_bias, self.chrono_init = forget_bias, chrono_init
        if forget_bias is not None and chrono_init is not None:
            raise ValueError("pass `forget_bias` or `chrono_init`, not both")
        if not bias and (forget_bias is not None or chrono_init is not None):
            arg = "forget_bias" if forget_bias is not None else "chrono_init"
            raise ValueError(f"`{arg}` sets gate biases, but the LSTM was built with bias=False")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype, **extras)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if not self.bias or (self.forget_bias is None and self.chrono_init is None):
            return
        for w in self.cell_weights():
            if self.forget_bias is not None:
                forget_bias_(w, self.hidden_size, float(self.forget_bias))
            else:
                chrono_init_(w, self.hidden_size, float(self.chrono_init))


class GRU(_RecurrentBase):
    """GRU, a drop-in for torch.nn.GRU. Equations: :mod:`rnnkit.cells.gru`.

    Extras: ``reset_after`` (default True as torch.nn; False = Cho et al. v3),
    ``layer_norm``, ``activation``/``recurrent_activation``, ``input_dropout``,
    ``recurrent_dropout``, ``zoneout``, ``dropconnect``, ``stateful``, ``backend``.
    """

    mode = "gru"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None, **extras) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype, **extras)
