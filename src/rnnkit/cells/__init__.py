"""The math: one file per cell family, each a pure step function plus a module,
and the table of families (:mod:`rnnkit.cells.family`) that every kernel reads.

Nothing here imports the rest of rnnkit. Importing this package imports every
cell module, so the family table is complete.
"""
from rnnkit.cells.activations import resolve_activation
from rnnkit.cells.base import GATES, param_shapes, torch_default_init_
from rnnkit.cells.family import FAMILIES, CellFamily, family, register_family
from rnnkit.cells.gru import GRUCell, gru_step
from rnnkit.cells.lstm import LSTMCell, lstm_step
from rnnkit.cells.minrnn import mingru_step, minlstm_step
from rnnkit.cells.rnn import RNNCell, rnn_step

__all__ = ["FAMILIES", "GATES", "CellFamily", "GRUCell", "LSTMCell", "RNNCell", "family",
           "gru_step", "lstm_step", "mingru_step", "minlstm_step", "param_shapes", "register_family", "resolve_activation",
           "rnn_step", "torch_default_init_"]
