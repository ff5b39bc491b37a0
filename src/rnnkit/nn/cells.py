"""Streaming cells: torch.nn.RNNCell / LSTMCell / GRUCell drop-ins whose step
goes through the kernel registry (:func:`rnnkit.kernels.registry.step`).

The math and the argument checks are :mod:`rnnkit.cells`' (these classes
subclass them); only ``_step`` differs. With ``backend="auto"`` a cell with
the default activations and no layer norm / peephole runs one native call
per step (the "cpu" step kernel), else the cells' step functions ("reference").
An explicit backend that can't run the cell raises ValueError with the reason.
``kernel_report()`` says which kernel ran last and why faster ones didn't.

Example::

    cell = rnnkit.nn.LSTMCell(3, 8)            # backend="auto"
    h, c = cell(torch.randn(2, 3))             # x (B, I) -> h, c each (B, H)
    print(cell.kernel_report())                # kernel: cpu (backend='auto')
"""
from __future__ import annotations

from typing import Optional

from torch import Tensor

from rnnkit.cells import gru as _gru, lstm as _lstm, rnn as _rnn
from rnnkit.kernels import registry
from rnnkit.kernels.spec import RecurrentSpec


class _RegistryStep:
    """Mixin: build the cell's 1-layer spec once, run each step through the registry."""

    def _init_registry(self, backend: str, spec: RecurrentSpec) -> None:
        if backend not in registry.step_backend_names():
            raise ValueError(f"`backend` must be one of {registry.step_backend_names()}, "
                             f"got {backend!r}")
        self.backend = backend
        self.spec = spec
        self._plain_cls = type(self)
        self.last_choice: Optional[registry.Choice] = None

    def _step(self, x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        # The parameter dict itself is the weights dict (getattr per weight costs more
        # than the B=1 gate math); torch's parametrize (weight_norm, ...) swaps the
        # class and moves the weights behind properties, so it takes the getattr path.
        if type(self) is self._plain_cls:
            w = self._parameters
        else:
            w = {name: getattr(self, name) for name in self._weight_names}
        new, choice = registry.step(self.spec, w, x, state, backend=self.backend)
        if choice is not self.last_choice:
            # nn.Module.__setattr__ (it looks for parameters, buffers and submodules
            # first) costs about a microsecond; the choice is cached, so it rarely changes.
            self.last_choice = choice
        return new

    def kernel_report(self) -> str:
        """Which step kernel the last call ran, and why faster ones didn't."""
        return "no call yet" if self.last_choice is None else str(self.last_choice)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.backend == "auto" else f"{s}, backend={self.backend!r}"


class RNNCell(_RegistryStep, _rnn.RNNCell):
    """:class:`rnnkit.cells.RNNCell` (torch.nn.RNNCell's arguments) plus
    ``backend`` (default ``"auto"``; or ``"cpu"``, ``"reference"``)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", *, backend: str = "auto", **kwargs) -> None:
        super().__init__(input_size, hidden_size, bias, nonlinearity, **kwargs)
        self._init_registry(backend, RecurrentSpec(
            "rnn", self.input_size, self.hidden_size, bias=self.bias, activation=self._act,
            layer_norm=self.layer_norm))


class LSTMCell(_RegistryStep, _lstm.LSTMCell):
    """:class:`rnnkit.cells.LSTMCell` (torch.nn.LSTMCell's arguments) plus
    ``backend`` (default ``"auto"``; or ``"cpu"``, ``"reference"``)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 backend: str = "auto", **kwargs) -> None:
        super().__init__(input_size, hidden_size, bias, **kwargs)
        self._init_registry(backend, RecurrentSpec(
            "lstm", self.input_size, self.hidden_size, bias=self.bias, activation=self._act,
            recurrent_activation=self._ract, layer_norm=self.layer_norm,
            peephole=self.peephole))


class GRUCell(_RegistryStep, _gru.GRUCell):
    """:class:`rnnkit.cells.GRUCell` (torch.nn.GRUCell's arguments, plus
    reset_after) plus ``backend`` (default ``"auto"``; or ``"cpu"``, ``"reference"``)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *,
                 backend: str = "auto", **kwargs) -> None:
        super().__init__(input_size, hidden_size, bias, **kwargs)
        self._init_registry(backend, RecurrentSpec(
            "gru", self.input_size, self.hidden_size, bias=self.bias, activation=self._act,
            recurrent_activation=self._ract, layer_norm=self.layer_norm,
            reset_after=self.reset_after))


__all__ = ["GRUCell", "LSTMCell", "RNNCell"]
