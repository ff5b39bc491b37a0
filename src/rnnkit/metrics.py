"""Keras-style metrics: ``from rnnkit.metrics import RootMeanSquaredError`` (see
:mod:`rnnkit.training.metrics`)."""
from rnnkit._unsupported import module_getattr
from rnnkit.training.metrics import (Accuracy, BinaryAccuracy, CategoricalAccuracy, Mean,
                                     MeanAbsoluteError, MeanMetricWrapper, MeanSquaredError,
                                     Metric, RootMeanSquaredError, SparseCategoricalAccuracy,
                                     binary_accuracy, categorical_accuracy, get_metric,
                                     sparse_categorical_accuracy)

get = get_metric  # keras.metrics.get

__all__ = ["Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "Mean", "MeanAbsoluteError",
           "MeanMetricWrapper", "MeanSquaredError", "Metric", "RootMeanSquaredError",
           "SparseCategoricalAccuracy", "binary_accuracy", "categorical_accuracy", "get",
           "get_metric", "sparse_categorical_accuracy"]
__getattr__ = module_getattr("rnnkit.metrics", __all__)
