"""Keras-style callbacks: ``from rnnkit.callbacks import EarlyStopping`` (see
:mod:`rnnkit.training.callbacks`)."""
from rnnkit._unsupported import module_getattr
from rnnkit.training.callbacks import (BackupAndRestore, Callback, CallbackList, CSVLogger,
                                       EarlyStopping, History, LambdaCallback,
                                       LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau,
                                       TerminateOnNaN)
from rnnkit.training.progress import ProgbarLogger

__all__ = ["BackupAndRestore", "Callback", "CallbackList", "CSVLogger", "EarlyStopping",
           "History", "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint",
           "ProgbarLogger", "ReduceLROnPlateau", "TerminateOnNaN"]
__getattr__ = module_getattr("rnnkit.callbacks", __all__)
