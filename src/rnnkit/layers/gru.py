"""Keras 3's GRU layer on rnnkit's kernels. Equations: :mod:`rnnkit.cells.gru`."""
from __future__ import annotations

from typing import Any, Optional

from rnnkit.layers.base import register_layer
from rnnkit.layers.recurrent import RecurrentLayer

_KEYS = ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
         "recurrent_initializer", "bias_initializer", "dropout", "recurrent_dropout", "seed",
         "return_sequences", "return_state", "go_backwards", "stateful", "unroll",
         "zero_output_for_mask", "reset_after", "layer_norm", "zoneout", "backend")


@register_layer
class GRU(RecurrentLayer):
    """Gated recurrent unit layer (Cho et al. 2014), as Keras 3's.

    Keras's gate order is z, r, h (update, reset, candidate)::

        z = σ(x W_z + b_z + h U_z + b'_z),   r = σ(x W_r + b_r + h U_r + b'_r)
        reset_after=True  (default, cuDNN's):  h̃ = act(x W_h + b_h + r ⊙ (h U_h + b'_h))
        reset_after=False (Cho et al. v3):     h̃ = act(x W_h + b_h + (r ⊙ h) U_h)
        h' = z ⊙ h + (1 − z) ⊙ h̃

    b' (the recurrent bias) exists only with reset_after=True, as in Keras.

    Args:
        units: positive integer, the size of h (u).
        activation: act (default ``"tanh"``); ``None`` means linear.
        recurrent_activation: σ (default ``"sigmoid"``).
        use_bias: learn the biases (default True).
        kernel_initializer: for the (I, 3u) kernel (default ``"glorot_uniform"``).
        recurrent_initializer: for the (u, 3u) recurrent kernel (default ``"orthogonal"``).
        bias_initializer: default ``"zeros"``.
        dropout, recurrent_dropout, seed: as :class:`rnnkit.layers.LSTM` (default 0, 0, None).
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as :class:`rnnkit.layers.LSTM` (all False);
            return_state gives ``(output, h)``.
        reset_after: where the reset gate applies (default True).
        layer_norm: rnnkit extra (default False).
        zoneout: rnnkit extra, rate on h (default 0).
        backend: kernel registry backend (default ``"auto"``).
        checkpoint_every: rnnkit extra, recompute chunks of this many steps in backward
            (gradient checkpointing, :mod:`rnnkit.kernels.chunked`) (default None).
        name, input_shape, trainable: as every layer.

    Weights (get_weights order): kernel (I, 3u), recurrent_kernel (u, 3u), bias
    (2, 3u) with reset_after (row 0 input, row 1 recurrent) else (3u,), all with
    columns z | r | h; then the extras of :mod:`rnnkit.layers.keras_layout`.

    Example::

        >>> GRU(8)(torch.zeros(2, 5, 3)).shape
        torch.Size([2, 8])
    """

    mode = "gru"
    _config_keys = _KEYS

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", *,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: Optional[int] = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, reset_after: bool = True,
                 zero_output_for_mask: bool = False, layer_norm: bool = False, zoneout=0.0,
                 backend: str = "auto", **kwargs: Any) -> None:
        super().__init__(
            units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
            return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll,
            zero_output_for_mask=zero_output_for_mask, reset_after=reset_after,
            layer_norm=layer_norm, zoneout=zoneout, backend=backend, **kwargs)
