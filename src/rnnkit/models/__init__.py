"""Keras-style models: :class:`Sequential` (compile / fit / evaluate / predict /
summary / save), the functional :class:`Model`, and :func:`load_model`; :class:`Seq2Seq`, an encoder–decoder.
All of them are :class:`BaseModel` s: one :class:`Trainer` (``model.trainer``) runs their loop."""
from rnnkit._unsupported import module_getattr
from rnnkit.models.base import BaseModel
from rnnkit.models.functional import Functional, Model
from rnnkit.models.saving import load_model
from rnnkit.models.seq2seq import Seq2Seq
from rnnkit.models.sequential import Sequential
from rnnkit.models.steps import Batch
from rnnkit.models.trainer import NotCompiledError, Trainer

__all__ = ["BaseModel", "Batch", "Trainer", "Functional", "Model", "Seq2Seq", "Sequential",
           "load_model", "NotCompiledError"]
__getattr__ = module_getattr("rnnkit.models", __all__)
