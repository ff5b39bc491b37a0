"""Keras-style regularizers: ``keras.regularizers.L2(1e-4)`` (see
:mod:`rnnkit.layers.regularizers`)."""
from rnnkit._unsupported import module_getattr
from rnnkit.layers.regularizers import L1, L1L2, L2, Regularizer, get_regularizer

get = get_regularizer
l1, l2, l1_l2 = L1, L2, L1L2  # Keras's lower-case aliases

__all__ = ["L1", "L1L2", "L2", "Regularizer", "get", "l1", "l2", "l1_l2"]
__getattr__ = module_getattr("rnnkit.regularizers", __all__)
