"""The exact configuration of a recurrent layer stack, as kernels see it."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Callable, Optional, Union

import torch

from rnnkit.cells.activations import resolve_activation
from rnnkit.cells.family import OPTION_DEFAULTS, CellFamily, families_with, family
from rnnkit.util import checks

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


@dataclass(frozen=True)
class RecurrentSpec:
    """Everything that decides what a recurrent stack computes.

    Weights for layer ``k``, direction ``d`` sit at index ``k * D + d`` of the
    kernel's weight list (torch.nn's order), each a dict with the names of
    :func:`rnnkit.cells.param_shapes`.
    """

    mode: str  # a family of rnnkit.cells.family.FAMILIES: "rnn" | "lstm" | "gru" | ...
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
        fam = family(self.mode)  # raises for an unknown mode, naming the known ones
        for name in ("input_size", "hidden_size", "num_layers"):
            checks.positive_int(getattr(self, name), name)
        if self.merge_mode not in MERGE_MODES:
            raise ValueError(f"`merge_mode` must be one of {list(MERGE_MODES)}, got {self.merge_mode!r}")
        if self.bidirectional and self.merge_mode is None and self.num_layers > 1:
            raise ValueError("`merge_mode`=None returns the two directions apart, so it can't feed "
                             f"a next layer; got num_layers={self.num_layers}")
        resolve_activation(self.activation, "activation")
        resolve_activation(self.recurrent_activation, "recurrent_activation")
        used = self._options_in_use()
        object.__setattr__(self, "_options", used)
        for name in sorted(used - fam.options):
            # The family table says which options each family supports: no option is
            # silently ignored by a family that has no use for it.
            sup = families_with(name)
            # "an LSTM", "an RNN", "a GRU": the article of the spelled-out first letter
            art = "an" if sup and sup[0][0].upper() in "AEFHILMNORSX" else "a"
            who = (f"{art} {sup[0].upper()} option" if len(sup) == 1
                   else f"an option of {', '.join(sup)} only")
            raise ValueError(f"`{name}` is {who}, got {name}={getattr(self, name)!r} "
                             f"for mode={self.mode!r}")
        if self.proj_size and not 0 < self.proj_size < self.hidden_size:
            raise ValueError(f"`proj_size` needs 0 < proj_size < hidden_size="
                             f"{self.hidden_size}, got {self.proj_size}")
        for name in ("dropout", "input_dropout", "recurrent_dropout", "zoneout_h", "zoneout_c",
                     "dropconnect"):
            checks.rate(getattr(self, name), name)

    def _options_in_use(self) -> frozenset:
        used = set()
        for name, off in OPTION_DEFAULTS.items():
            v = getattr(self, name)
            if name in ("activation", "recurrent_activation"):
                if resolve_activation(v, name)[1] is not resolve_activation(off, name)[1]:
                    used.add(name)
            elif v != off:
                used.add(name)
        return frozenset(used)

    @property
    def family(self) -> CellFamily:
        return family(self.mode)

    def options_in_use(self) -> frozenset:
        """Names of the family options (rnnkit.cells.family.OPTION_DEFAULTS) set away from off."""
        return self.__dict__["_options"]

    def refuse_options(self, accepted: frozenset, who: str) -> Optional[str]:
        """For a kernel's why_not: the reason it can't run, when an option in use is
        not in ``accepted``; None otherwise."""
        extra = self.options_in_use() - accepted
        if extra:
            return (f"{who} doesn't run {', '.join(sorted(extra))} "
                    f"(it runs {', '.join(sorted(accepted)) or 'no options'} for {self.mode})")
        return None

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
        return self.family.n_states

    def act_fn(self) -> Callable:
        return resolve_activation(self.activation, "activation")[1]

    def ract_fn(self) -> Callable:
        return resolve_activation(self.recurrent_activation, "recurrent_activation")[1]

    def uses_default_activations(self) -> bool:
        act = self.act_fn()
        if "recurrent_activation" in self.family.options:
            return act is torch.tanh and self.ract_fn() is torch.sigmoid
        return act is torch.tanh or act is torch.relu

    def regularised_in_training(self) -> bool:
        """Whether any in-recurrence regulariser is active when training."""
        return any(p > 0 for p in (self.input_dropout, self.recurrent_dropout, self.zoneout_h,
                                   self.zoneout_c, self.dropconnect))
