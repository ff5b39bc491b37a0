"""torch.nn drop-ins with rnnkit's extras.

Every module of this package is imported in sorted name order and the names in
its ``__all__`` are exported here (:mod:`rnnkit.util.discover`): a new
``nn/<name>.py`` with an ``__all__`` needs no line in this file. The imports
below are for readers and static analysers; discovery finds the same objects
(a clash would raise).
"""
from rnnkit.nn.cells import GRUCell, LSTMCell, RNNCell
from rnnkit.nn.conv_recurrent import ConvGRU, ConvLSTM
from rnnkit.nn.recurrent import GRU, LSTM, RNN
from rnnkit.util.discover import export, submodules

__all__ = export(globals(), submodules(__name__, __path__))
