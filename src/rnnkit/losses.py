"""Keras-style losses: ``from rnnkit.losses import MeanSquaredError`` (see
:mod:`rnnkit.training.losses`)."""
from rnnkit._unsupported import module_getattr
from rnnkit.training.losses import (BinaryCrossentropy, CategoricalCrossentropy, Huber, Loss,
                                    LossFunctionWrapper, MeanAbsoluteError, MeanSquaredError,
                                    SparseCategoricalCrossentropy, binary_crossentropy,
                                    categorical_crossentropy, get_loss, huber,
                                    mean_absolute_error, mean_squared_error,
                                    sparse_categorical_crossentropy)

get = get_loss  # keras.losses.get
MSE = mse = mean_squared_error
MAE = mae = mean_absolute_error

__all__ = ["BinaryCrossentropy", "CategoricalCrossentropy", "Huber", "Loss", "LossFunctionWrapper",
           "MeanAbsoluteError", "MeanSquaredError", "SparseCategoricalCrossentropy",
           "binary_crossentropy", "categorical_crossentropy", "get", "get_loss", "huber",
           "mean_absolute_error", "mean_squared_error", "sparse_categorical_crossentropy",
           "MSE", "mse", "MAE", "mae"]
__getattr__ = module_getattr("rnnkit.losses", __all__)
