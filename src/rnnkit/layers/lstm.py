"""Keras 3's LSTM layer on rnnkit's kernels. Equations: :mod:`rnnkit.cells.lstm`."""
from __future__ import annotations

from typing import Any, Optional

from rnnkit.layers.base import register_layer
from rnnkit.layers.recurrent import RecurrentLayer

_KEYS = ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
         "recurrent_initializer", "bias_initializer", "unit_forget_bias", "dropout",
         "recurrent_dropout", "seed", "return_sequences", "return_state", "go_backwards",
         "stateful", "unroll", "zero_output_for_mask", "layer_norm", "peephole", "zoneout",
         "backend")


@register_layer
class LSTM(RecurrentLayer):
    """Long short-term memory layer (Hochreiter & Schmidhuber 1997), as Keras 3's.

    With gate order i, f, c, o (Keras) = i, f, g, o (torch)::

        i = σ(x W_i + h U_i + b_i),  f = σ(x W_f + h U_f + b_f),  g = act(x W_c + h U_c + b_c)
        o = σ(x W_o + h U_o + b_o),  c' = f ⊙ c + i ⊙ g,           h' = o ⊙ act(c')

    Args:
        units: positive integer, the size of h and c (u).
        activation: act (default ``"tanh"``); ``None`` means linear.
        recurrent_activation: σ (default ``"sigmoid"``).
        use_bias: learn b (default True). Keras has one bias per gate, so does this layer.
        kernel_initializer: for the (I, 4u) kernel (default ``"glorot_uniform"``).
        recurrent_initializer: for the (u, 4u) recurrent kernel (default ``"orthogonal"``).
        bias_initializer: default ``"zeros"``.
        unit_forget_bias: add 1 to the forget-gate bias at initialisation (default True).
        dropout: rate on the inputs, one mask per sequence (default 0).
        recurrent_dropout: rate on h entering the recurrence (default 0).
        seed: seeds the dropout masks (default None: torch's global generator).
        return_sequences: return (B, T, u) instead of the last output (B, u) (default False).
        return_state: also return h and c: ``(output, h, c)`` (default False).
        go_backwards: process the sequence backwards and return the reversed outputs (default False).
        stateful: carry the final state into the next call (default False).
        unroll: accepted for Keras code; has no effect (default False).
        zero_output_for_mask: masked steps output zeros instead of repeating (default False).
        layer_norm: rnnkit extra, layer-normalised LSTM (Ba et al. 2016) (default False).
        peephole: rnnkit extra, Gers & Schmidhuber 2000 peepholes (default False).
        zoneout: rnnkit extra, a rate or a pair (z_h, z_c) (Krueger et al. 2016) (default 0).
        backend: kernel registry backend, ``"auto"`` picks the fastest that runs exactly
            this configuration (default ``"auto"``).
        checkpoint_every: rnnkit extra, recompute chunks of this many steps in backward
            (gradient checkpointing, :mod:`rnnkit.kernels.chunked`) (default None).
        name, input_shape, trainable: as every layer.

    Weights (get_weights order): kernel (I, 4u), recurrent_kernel (u, 4u),
    bias (4u,), then the extras of :mod:`rnnkit.layers.keras_layout`.

    Example::

        >>> lstm = LSTM(4, return_sequences=True)
        >>> lstm(torch.zeros(2, 5, 3)).shape
        torch.Size([2, 5, 4])
    """

    mode = "lstm"
    _config_keys = _KEYS

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias: bool = True, *, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: Optional[int] = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, layer_norm: bool = False,
                 peephole: bool = False, zoneout=0.0, backend: str = "auto",
                 **kwargs: Any) -> None:
        super().__init__(
            units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, return_sequences=return_sequences,
            return_state=return_state, go_backwards=go_backwards, stateful=stateful,
            unroll=unroll, zero_output_for_mask=zero_output_for_mask, layer_norm=layer_norm,
            peephole=peephole, zoneout=zoneout, backend=backend, **kwargs)
