"""Keras 3's SimpleRNN layer on rnnkit's kernels. Equations: :mod:`rnnkit.cells.rnn`."""
from __future__ import annotations

from typing import Any, Optional

from rnnkit.layers.base import register_layer
from rnnkit.layers.recurrent import RecurrentLayer

_KEYS = ("units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer",
         "bias_initializer", "dropout", "recurrent_dropout", "seed", "return_sequences",
         "return_state", "go_backwards", "stateful", "unroll", "zero_output_for_mask",
         "layer_norm", "zoneout", "backend")


@register_layer
class SimpleRNN(RecurrentLayer):
    """Fully connected (Elman) recurrent layer, as Keras 3's::

        h' = act(x W + h U + b)

    Args:
        units: positive integer, the size of h (u).
        activation: act (default ``"tanh"``); ``None`` means linear.
        use_bias: learn b (default True).
        kernel_initializer: for the (I, u) kernel (default ``"glorot_uniform"``).
        recurrent_initializer: for the (u, u) recurrent kernel (default ``"orthogonal"``).
        bias_initializer: default ``"zeros"``.
        dropout, recurrent_dropout, seed: as :class:`rnnkit.layers.LSTM` (default 0, 0, None).
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as :class:`rnnkit.layers.LSTM` (all False);
            return_state gives ``(output, h)``.
        layer_norm: rnnkit extra (default False).
        zoneout: rnnkit extra, rate on h (default 0).
        backend: kernel registry backend (default ``"auto"``).
        checkpoint_every: rnnkit extra, recompute chunks of this many steps in backward
            (gradient checkpointing, :mod:`rnnkit.kernels.chunked`) (default None).
        name, input_shape, trainable: as every layer.

    Weights (get_weights order): kernel (I, u), recurrent_kernel (u, u), bias (u,),
    then with layer_norm the gains γ_ih (u,), γ_hh (u,).

    Example::

        >>> SimpleRNN(8, return_sequences=True)(torch.zeros(2, 5, 3)).shape
        torch.Size([2, 5, 8])
    """

    mode = "rnn"
    _config_keys = _KEYS

    def __init__(self, units: int, activation="tanh", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", *, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: Optional[int] = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, layer_norm: bool = False, zoneout=0.0,
                 backend: str = "auto", **kwargs: Any) -> None:
        super().__init__(
            units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, return_sequences=return_sequences,
            return_state=return_state, go_backwards=go_backwards, stateful=stateful,
            unroll=unroll, zero_output_for_mask=zero_output_for_mask, layer_norm=layer_norm,
            zoneout=zoneout, backend=backend, **kwargs)
