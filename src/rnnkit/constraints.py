"""Keras-style constraints: ``keras.constraints.MaxNorm(3)`` (see
:mod:`rnnkit.layers.constraints`)."""
from rnnkit._unsupported import module_getattr
from rnnkit.layers.constraints import Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm, get_constraint

get = get_constraint
max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "get", "max_norm",
           "non_neg", "unit_norm", "min_max_norm"]
__getattr__ = module_getattr("rnnkit.constraints", __all__)
