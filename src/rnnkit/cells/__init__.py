"""The math: one file per cell family, each a pure step function plus a module,
and the table of families (:mod:`rnnkit.cells.family`) that every kernel reads.

Nothing here imports the rest of rnnkit. Importing this package imports every
module of it, in sorted name order (:func:`rnnkit.util.discover.submodules`),
so the family table is complete: a new ``cells/<name>.py`` that calls
``register_family`` needs no line here, and the names in its ``__all__`` are
exported from this package. The imports below are for readers and static
analysers; discovery finds the same objects (a clash would raise).
"""
from rnnkit.cells.activations import resolve_activation
from rnnkit.cells.base import GATES, param_shapes, torch_default_init_
from rnnkit.cells.family import FAMILIES, CellFamily, family, register_family
from rnnkit.cells.gru import GRUCell, gru_step
from rnnkit.cells.lstm import LSTMCell, lstm_step
from rnnkit.cells.rnn import RNNCell, rnn_step
from rnnkit.util.discover import export, submodules

__all__ = sorted({"FAMILIES", "GATES", "CellFamily", "family", "param_shapes", "register_family",
                  "resolve_activation", "torch_default_init_",
                  *export(globals(), submodules(__name__, __path__))})
