"""Keras-style layers: Keras 3's names, arguments, defaults, masks and weight
layouts, running on rnnkit's kernels. See :mod:`rnnkit.layers.base` for the
contract and :mod:`rnnkit.layers.keras_layout` for the weight order."""
from rnnkit.layers.activations import Activation
from rnnkit.layers.base import Layer, layer_from_config, register_layer
from rnnkit.layers.bidirectional import Bidirectional
from rnnkit.layers.dense import Dense
from rnnkit.layers.dropout import Dropout
from rnnkit.layers.embedding import Embedding
from rnnkit.layers.gru import GRU
from rnnkit.layers.lstm import LSTM
from rnnkit.layers.masking import Masking
from rnnkit.layers.minrnn import MinGRU, MinLSTM
from rnnkit.layers.recurrent import RecurrentLayer
from rnnkit.layers.reshaping import Flatten, RepeatVector
from rnnkit.layers.simple_rnn import SimpleRNN
from rnnkit.layers.time_distributed import TimeDistributed

__all__ = ["GRU", "LSTM", "Activation", "Bidirectional", "Dense", "Dropout", "Embedding", "Flatten", "Layer",
           "Masking", "MinGRU", "MinLSTM", "RecurrentLayer", "RepeatVector", "SimpleRNN", "TimeDistributed",
           "layer_from_config", "register_layer"]
