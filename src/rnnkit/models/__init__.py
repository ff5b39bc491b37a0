"""Keras-style models: :class:`Sequential` (compile / fit / evaluate / predict /
summary / save) and :func:`load_model`."""
from rnnkit.models.saving import load_model
from rnnkit.models.sequential import Sequential
from rnnkit.models.trainer import NotCompiledError

__all__ = ["Sequential", "load_model", "NotCompiledError"]
