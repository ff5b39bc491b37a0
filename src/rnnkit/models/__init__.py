"""Keras-style models: :class:`Sequential` (compile / fit / evaluate / predict /
summary / save) and :func:`load_model`; :class:`Seq2Seq`, an encoder–decoder."""
from rnnkit.models.saving import load_model
from rnnkit.models.seq2seq import Seq2Seq
from rnnkit.models.sequential import Sequential
from rnnkit.models.trainer import NotCompiledError

__all__ = ["Seq2Seq", "Sequential", "load_model", "NotCompiledError"]
