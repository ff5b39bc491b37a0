"""The models the tools train, as :class:`rnnkit.models.Sequential` stacks of
:mod:`rnnkit.layers` (so they save with ``model.save`` and load with
``rnnkit.models.load_model`` like any other model).

A cell name picks the layer: ``rnn`` -> SimpleRNN (tanh), ``lstm`` -> LSTM,
``gru`` -> GRU (Keras's reset_after=True variant); the suffixes ``-ln`` (layer
normalisation, Ba et al. 2016) and ``-peephole`` (Gers & Schmidhuber 2000,
LSTM only) switch on the layer's ``layer_norm`` / ``peephole`` extras. Layers
keep Keras's defaults (glorot_uniform kernels, orthogonal recurrent kernels,
unit_forget_bias for the LSTM).

The many-to-one regressor of ``rnnkit train``/``compare``/``diagnose`` is::

    x (B, T, I) -> L recurrent layers (all but the last with return_sequences) -> (B, H)
                -> Dense(K) -> (B, K)
"""
from __future__ import annotations

from typing import Any

from rnnkit.tools.names import parse_variant
from rnnkit.util import checks

__all__ = ["LAYER_CLASSES", "recurrent_layer", "build_regressor"]

# cell -> class name in rnnkit.layers
LAYER_CLASSES = {"rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def _positive(value, arg: str) -> int:
    return checks.positive_int(value, arg, style="plain")


def recurrent_layer(cell: str, units: int, **kwargs: Any):
    """The rnnkit.layers layer for ``cell`` (e.g. ``"gru"``, ``"lstm-ln"``) with ``units``
    units; ``kwargs`` go to the layer (return_sequences, input_shape, name, ...)."""
    import rnnkit.layers as L

    opts = parse_variant(cell)
    extra = {k: True for k in ("layer_norm", "peephole") if opts[k]}
    return getattr(L, LAYER_CLASSES[opts["cell"]])(_positive(units, "units"), **extra, **kwargs)


def build_regressor(cell: str, input_shape, units: int = 32, layers: int = 1,
                    outputs: int = 1):
    """A built Sequential: ``layers`` stacked recurrent layers of ``units`` units
    reading inputs of ``input_shape`` = (T, I) (T may be None), then Dense(``outputs``)
    on the last step's output.

    Example::

        >>> build_regressor("lstm", (20, 1), units=32).output_shape
        (None, 1)
    """
    from rnnkit.layers import Dense
    from rnnkit.models import Sequential

    parse_variant(cell)                       # a bad name fails before anything is built
    _positive(layers, "layers")
    _positive(outputs, "outputs")
    model = Sequential(name=f"{cell}_regressor")
    for k in range(layers):
        first = {"input_shape": tuple(input_shape)} if k == 0 else {}
        model.add(recurrent_layer(cell, units, return_sequences=k < layers - 1, **first))
    model.add(Dense(outputs))
    return model
