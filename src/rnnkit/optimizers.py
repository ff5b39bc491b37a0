"""Keras-style optimizers: ``from rnnkit.optimizers import Adam`` (see
:mod:`rnnkit.training.optimizers`)."""
from rnnkit._unsupported import module_getattr
from rnnkit.training.optimizers import (SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop,
                                        TorchOptimizer, get_optimizer)

get = get_optimizer  # keras.optimizers.get

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "TorchOptimizer", "get",
           "get_optimizer"]
__getattr__ = module_getattr("rnnkit.optimizers", __all__)
