"""Keras-style minGRU and minLSTM layers (Feng et al. 2024) on rnnkit's kernels.

Equations: :mod:`rnnkit.cells.minrnn`. Keras has no such layers; these take
the arguments of Keras 3's GRU that apply to a cell whose gates read only x_t
(no recurrent kernel, so no recurrent_initializer, recurrent_dropout or
activations), and keep every Keras RNN behaviour of
:class:`rnnkit.layers.RecurrentLayer`: masks, return_sequences, return_state,
go_backwards, stateful, ``step``, Bidirectional.
"""
from __future__ import annotations

from typing import Any, Optional

from rnnkit.cells.family import family
from rnnkit.layers.base import register_layer
from rnnkit.layers.initializers import get_initializer
from rnnkit.layers.recurrent import RecurrentLayer

_KEYS = ("units", "use_bias", "kernel_initializer", "bias_initializer", "dropout", "seed",
         "return_sequences", "return_state", "go_backwards", "stateful", "zero_output_for_mask",
         "backend")

_NOT_HERE = ("activation", "recurrent_activation", "recurrent_initializer", "unit_forget_bias",
             "recurrent_dropout", "reset_after", "layer_norm", "peephole", "zoneout", "unroll")


class _MinLayer(RecurrentLayer):
    _config_keys = _KEYS

    def __init__(self, units: int, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", *, dropout: float = 0.0, seed: Optional[int] = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False,
                 zero_output_for_mask: bool = False, backend: str = "auto", **kwargs: Any) -> None:
        for key in _NOT_HERE:  # RecurrentLayer would take them; this family has no use for them
            if key in kwargs:
                raise TypeError(f"{type(self).__name__} got an unexpected keyword argument "
                                f"{key!r}: its gates read x_t only (no recurrent kernel)")
        super().__init__(
            units, use_bias=use_bias, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer, dropout=dropout, seed=seed,
            return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful,
            zero_output_for_mask=zero_output_for_mask, backend=backend, **kwargs)

    def reset_parameters(self) -> None:
        """kernel (I, G·u) from kernel_initializer, bias (G·u,) from bias_initializer, drawn
        in Keras's layout and stored in torch's."""
        G, u, I = family(self.mode).n_gates, self.units, self.input_size
        arrays = [get_initializer(self.kernel_initializer, "kernel_initializer")((I, G * u))]
        if self.use_bias:
            arrays.append(get_initializer(self.bias_initializer, "bias_initializer")((G * u,)))
        self._load_keras(arrays)


@register_layer
class MinGRU(_MinLayer):
    """minGRU layer: z = σ(x W_z + b_z), h̃ = g(x W_h + b_h), h' = (1 − z) ⊙ h + z ⊙ h̃.

    Args:
        units: positive integer, the size of h (u).
        use_bias: learn the bias (default True).
        kernel_initializer: for the (I, 2u) kernel (default ``"glorot_uniform"``).
        bias_initializer: default ``"zeros"``.
        dropout: input dropout rate, one mask per sequence (default 0); seed: its RNG seed.
        return_sequences, return_state, go_backwards, stateful, zero_output_for_mask:
            as :class:`rnnkit.layers.GRU` (all False); return_state gives ``(output, h)``.
        backend: kernel registry backend (default ``"auto"``: the parallel scan).
        name, input_shape, trainable: as every layer.

    Weights (get_weights order): kernel (I, 2u) with columns z | h̃, bias (2u,).

    Example::

        >>> MinGRU(8)(torch.zeros(2, 5, 3)).shape
        torch.Size([2, 8])
    """

    mode = "mingru"


@register_layer
class MinLSTM(_MinLayer):
    """minLSTM layer: f, i = σ(x W_f + b_f), σ(x W_i + b_i); f', i' = f, i / (f + i);
    h̃ = g(x W_h + b_h); h' = f' ⊙ h + i' ⊙ h̃. It carries h only (return_state gives
    ``(output, h)``). Arguments as :class:`MinGRU`; kernel (I, 3u) with columns f | i | h̃.
    """

    mode = "minlstm"
