"""Keras's ``keras.preprocessing`` names that recurrent code imports:
``timeseries_dataset_from_array`` and ``sequence.pad_sequences`` (the same
functions as in :mod:`rnnkit.utils`)."""
from types import SimpleNamespace

from rnnkit._unsupported import module_getattr
from rnnkit.utils import pad_sequences, timeseries_dataset_from_array

sequence = SimpleNamespace(pad_sequences=pad_sequences)  # keras.preprocessing.sequence

__all__ = ["sequence", "timeseries_dataset_from_array"]
__getattr__ = module_getattr("rnnkit.preprocessing", __all__)
