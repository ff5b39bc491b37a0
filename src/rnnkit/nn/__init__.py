"""torch.nn drop-ins with rnnkit's extras."""
from rnnkit.nn.cells import GRUCell, LSTMCell, RNNCell
from rnnkit.nn.conv_recurrent import ConvGRU, ConvLSTM
from rnnkit.nn.minrnn import MinGRU, MinLSTM
from rnnkit.nn.recurrent import GRU, LSTM, RNN

__all__ = ["ConvGRU", "ConvLSTM", "GRU", "GRUCell", "LSTM", "LSTMCell", "MinGRU", "MinLSTM", "RNN",
           "RNNCell"]
