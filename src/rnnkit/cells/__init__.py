"""The math: one file per cell family, each a pure step function plus a module.

Nothing here imports the rest of rnnkit.
"""
from rnnkit.cells.activations import resolve_activation
from rnnkit.cells.base import GATES, param_shapes, torch_default_init_
from rnnkit.cells.gru import GRUCell, gru_step
from rnnkit.cells.lstm import LSTMCell, lstm_step
from rnnkit.cells.rnn import RNNCell, rnn_step

__all__ = ["GATES", "GRUCell", "LSTMCell", "RNNCell", "gru_step", "lstm_step", "param_shapes",
           "resolve_activation", "rnn_step", "torch_default_init_"]
