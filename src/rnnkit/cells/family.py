"""The table of cell families: what each recurrent cell *is*, declared once.

Every kernel, layer and tool reads a family's facts from here (its gates,
states, parameter shapes, step function, initialisation and the options it
supports) and refuses a family it does not know, rather than guessing
(STYLE.md habit 11). A family is declared at the bottom of its own cell
module (rnn.py, lstm.py, gru.py, minrnn.py) with :func:`register_family`;
``rnnkit.cells`` imports every module of its package (rnnkit.util.discover),
so the table is complete as soon as anything in ``rnnkit.cells`` is imported.

Adding a family: write its step function in a new ``cells/<name>.py`` and
declare a :class:`CellFamily` there; no other line in this package. The
reference kernel then runs it (with masks, stacking, bidirectional and
dropout); faster kernels run it once their ``why_not`` accepts it. See
docs/architecture.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional

from torch import Tensor

# The spec's options a family may or may not support, with the value that means "off".
# (Structural fields, such as sizes, layers, directions, merge, between-layer and input
# dropout, bias, are supported by every family and are not listed.)
OPTION_DEFAULTS: dict[str, object] = {
    "proj_size": 0, "layer_norm": False, "peephole": False, "reset_after": True,
    "recurrent_dropout": 0.0, "zoneout_h": 0.0, "zoneout_c": 0.0, "dropconnect": 0.0,
    "activation": "tanh", "recurrent_activation": "sigmoid",
}

# StepFn(x_t (B, I), state tuple, weights, h_rec) -> new state tuple. ``h_rec`` is the
# h_{t-1} that enters the recurrent projection (recurrent dropout), else state[0].
StepFn = Callable[[Tensor, tuple, Mapping[str, Optional[Tensor]], Tensor], tuple]


@dataclass(frozen=True)
class CellFamily:
    """One cell family. ``name`` is the spec's ``mode``.

    gates: the row blocks of ``weight_ih`` in torch's order, e.g. ("i", "f", "g", "o").
    keras_gates: the same blocks in Keras's column order (Keras 3's kernel layout).
    states: the carried state, e.g. ("h",) or ("h", "c"); h is always first.
    recurrent: whether the gates read h_{t-1} (a ``weight_hh`` exists). A family
        without it (minGRU, minLSTM) is a linear recurrence h_t = a_t ⊙ h_{t-1} + b_t
        that a parallel scan can run.
    options: the names of :data:`OPTION_DEFAULTS` it supports.
    param_shapes: (input_size, hidden_size, **layout) -> name -> shape, torch's layout.
    init: (params, input_size, hidden_size) -> None, in place: the default init.
    bind: (opts) -> StepFn; ``opts`` is a RecurrentSpec (or anything with its
        fields and ``act_fn()`` / ``ract_fn()``), read once, not per step.
    log_coeffs: only for a family that is a linear recurrence (``recurrent=False``):
        xg (T, B, G*H) = W_ih x_t + b_ih -> (log a, log b), each (T, B, H), with
        h_t = a_t ⊙ h_{t-1} + b_t and b_t > 0; a parallel scan runs it (kernels/scan.py).
    """

    name: str
    gates: tuple[str, ...]
    keras_gates: tuple[str, ...]
    states: tuple[str, ...]
    recurrent: bool
    options: frozenset
    param_shapes: Callable[..., dict]
    init: Callable[[dict, int, int], None]
    bind: Callable[[object], StepFn]
    doc: str = ""
    log_coeffs: Optional[Callable[[Tensor], tuple[Tensor, Tensor]]] = None
    keras_perm: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        if sorted(self.gates) != sorted(self.keras_gates):
            raise ValueError(f"family {self.name!r}: keras_gates {self.keras_gates} must reorder "
                             f"gates {self.gates}")
        if (self.log_coeffs is not None) == self.recurrent:
            raise ValueError(f"family {self.name!r}: log_coeffs is for the families whose gates "
                             f"don't read h_(t-1), and only those (recurrent={self.recurrent})")
        unknown = set(self.options) - set(OPTION_DEFAULTS)
        if unknown:
            raise ValueError(f"family {self.name!r}: unknown options {sorted(unknown)}; "
                             f"known: {sorted(OPTION_DEFAULTS)}")
        # Keras's gate block k is torch's block keras_perm[k].
        object.__setattr__(self, "keras_perm",
                           tuple(self.gates.index(g) for g in self.keras_gates))

    @property
    def n_gates(self) -> int:
        return len(self.gates)

    @property
    def n_states(self) -> int:
        return len(self.states)


FAMILIES: dict[str, CellFamily] = {}


def register_family(fam: CellFamily) -> CellFamily:
    if fam.name in FAMILIES and FAMILIES[fam.name] is not fam:
        raise ValueError(f"cell family {fam.name!r} is already registered")
    FAMILIES[fam.name] = fam
    return fam


def family(mode: str) -> CellFamily:
    """The family called ``mode``; a ValueError naming the known ones otherwise."""
    try:
        return FAMILIES[mode]
    except (KeyError, TypeError):
        raise ValueError(f"`mode` must be one of {sorted(FAMILIES)}, got {mode!r}") from None


def families_with(option: str) -> list[str]:
    """Names of the families that support ``option``."""
    return sorted(n for n, f in FAMILIES.items() if option in f.options)
