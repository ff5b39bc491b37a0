"""Keras-style activations: ``keras.activations.get("relu")``, ``keras.activations.tanh``.

Each is a function of a tensor; softmax and log_softmax act over the last axis,
as Keras's. ``get`` accepts a name, a function or None (linear) and returns the
function (see :mod:`rnnkit.layers.activations`).
"""
import torch
import torch.nn.functional as F

from rnnkit._unsupported import module_getattr
from rnnkit.layers.activations import get_activation, log_softmax, softmax


def get(identifier):
    """The activation function for a name, a function, or None (linear)."""
    return get_activation(identifier, "identifier")[1]


def serialize(fn) -> str:
    return get_activation(fn, "activation")[0]


tanh = torch.tanh
sigmoid = torch.sigmoid
relu = torch.relu
elu = F.elu
selu = F.selu
gelu = F.gelu
softplus = F.softplus
softsign = F.softsign
silu = swish = F.silu
exp = torch.exp


def linear(x):
    return x


def hard_sigmoid(x):
    """Keras 3's: relu6(x + 3) / 6."""
    return F.relu6(x + 3.0) / 6.0


__all__ = ["get", "serialize", "tanh", "sigmoid", "relu", "elu", "selu", "gelu", "softplus",
           "softsign", "silu", "swish", "exp", "linear", "hard_sigmoid", "softmax", "log_softmax"]
__getattr__ = module_getattr("rnnkit.activations", __all__)
