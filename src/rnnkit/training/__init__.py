"""Training machinery behind ``Sequential.compile/fit``: Keras 3's losses,
metrics, optimizers (and their update rules), callbacks and progress output.

One concept per module; the user-facing short paths are ``rnnkit.losses``,
``rnnkit.metrics``, ``rnnkit.optimizers`` and ``rnnkit.callbacks``.
"""
# callbacks first: it re-exports the file-writing callbacks and BackupAndRestore,
# which themselves import the Callback base class from it.
from rnnkit.training import callbacks  # noqa: F401
from rnnkit.training.callbacks import (BackupAndRestore, Callback, CallbackList, CSVLogger,
                                       EarlyStopping, History, LambdaCallback,
                                       LearningRateScheduler, ModelCheckpoint,
                                       ReduceLROnPlateau, TerminateOnNaN)
from rnnkit.training.losses import Loss, get_loss
from rnnkit.training.metrics import Metric, get_metric
from rnnkit.training.optimizers import Optimizer, get_optimizer

__all__ = ["BackupAndRestore", "Callback", "CallbackList", "CSVLogger", "EarlyStopping",
           "History", "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint",
           "ReduceLROnPlateau", "TerminateOnNaN", "Loss", "get_loss", "Metric", "get_metric",
           "Optimizer", "get_optimizer"]
