"""Keras-style layers: Keras 3's names, arguments, defaults, masks and weight
layouts, running on rnnkit's kernels. See :mod:`rnnkit.layers.base` for the
contract, :mod:`rnnkit.layers.keras_layout` for the weight order, and
:mod:`rnnkit.layers.node` for calls on symbolic tensors (the Functional API).
``register_layer`` is the registry by Keras class name that configs are read
with, and every class a module of this package registers is exported here
(discovered, so a new layer module needs no line in this file); a Keras layer
name that rnnkit lacks raises an error naming it."""
from rnnkit._unsupported import module_getattr
from rnnkit.layers.activations import Activation
from rnnkit.layers.attention import AdditiveAttention, Attention
from rnnkit.layers.base import Layer, layer_from_config, register_layer, registered_layers
from rnnkit.layers.bidirectional import Bidirectional
from rnnkit.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from rnnkit.layers.conv_nd import Conv2D, Conv2DTranspose, Conv3D
from rnnkit.layers.convolutional import Conv1D
from rnnkit.layers.dense import Dense
from rnnkit.layers.dropout import Dropout
from rnnkit.layers.embedding import Embedding
from rnnkit.layers.gru import GRU
from rnnkit.layers.input_layer import Input, InputLayer
from rnnkit.layers.lstm import LSTM
from rnnkit.layers.lambda_layer import Lambda, register_function
from rnnkit.layers.masking import Masking
from rnnkit.layers.multi_head_attention import MultiHeadAttention
from rnnkit.layers.noise import GaussianNoise, SpatialDropout1D
from rnnkit.layers.normalization import BatchNormalization, LayerNormalization
from rnnkit.layers.pooling import (AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D,
                                  MaxPooling1D, UpSampling1D)
from rnnkit.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply,
                                   Subtract, add, average, concatenate, dot, maximum, minimum,
                                   multiply, subtract)
from rnnkit.layers.recurrent import RecurrentLayer
from rnnkit.layers.resampling import MaxPooling2D, MaxPooling3D, UpSampling2D, UpSampling3D
from rnnkit.layers.reshaping import Flatten, Permute, RepeatVector, Reshape
from rnnkit.layers.rnn import RNN
from rnnkit.layers.rnn_cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from rnnkit.layers.simple_rnn import SimpleRNN
from rnnkit.layers.time_distributed import TimeDistributed
from rnnkit.util.discover import export, submodules

__all__ = ["Activation", "Add", "Average", "Bidirectional", "Concatenate", "Dense", "Dot",
           "Dropout", "Embedding", "Flatten", "GRU", "GRUCell", "Input", "InputLayer", "LSTM",
           "LSTMCell", "Lambda", "Layer", "Masking", "Maximum", "Minimum", "Multiply", "Permute",
           "RNN", "RecurrentLayer", "RepeatVector", "Reshape", "SimpleRNN", "SimpleRNNCell",
           "StackedRNNCells", "Subtract", "TimeDistributed", "add", "average", "concatenate",
           "dot", "layer_from_config", "maximum", "minimum", "multiply", "register_function",
           "register_layer", "registered_layers", "subtract"]
# A Keras layer that rnnkit lacks: an error naming it, never a half-working object.
# Companion layers (issue 13, second half).
__all__ += ["AdditiveAttention", "Attention", "AveragePooling1D", "BatchNormalization", "Conv1D",
            "GaussianNoise", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "LayerNormalization",
            "MaxPooling1D", "MultiHeadAttention", "SpatialDropout1D", "UpSampling1D"]
# Video and spatial sequences (issue 14).
__all__ += ["Conv2D", "Conv2DTranspose", "Conv3D", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D",
            "MaxPooling2D", "MaxPooling3D", "UpSampling2D", "UpSampling3D"]


def _registered_here(module) -> list[str]:
    """The Keras names of the layer classes that ``module`` registers (@register_layer)."""
    return sorted(n for n, cls in registered_layers().items() if cls.__module__ == module.__name__)


# Every module of this package, in sorted name order, and each layer class it registers
# (rnnkit.util.discover): a new layers/<name>.py needs no line in this file. The imports
# above are for readers and static analysers; discovery finds the same objects.
__all__ = sorted({*__all__, *export(globals(), submodules(__name__, __path__), _registered_here)})
__getattr__ = module_getattr("rnnkit.layers", __all__)
