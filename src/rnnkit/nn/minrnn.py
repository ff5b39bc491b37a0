"""minGRU and minLSTM (Feng et al. 2024) with torch.nn.GRU's calling convention.

Equations: :mod:`rnnkit.cells.minrnn`. Training and whole-sequence inference
run as a log-space parallel scan (the registry's "scan" kernel); the
reference loop (``backend="reference"``) computes the same numbers step by step.
"""
from __future__ import annotations

from rnnkit.nn.recurrent import _RecurrentBase

# What rnnkit.nn exports from this module (rnnkit.util.discover).
__all__ = ["MinGRU", "MinLSTM"]


class _MinBase(_RecurrentBase):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, bidirectional: bool = False, device=None, dtype=None,
                 *, dropout: float = 0.0, input_dropout: float = 0.0, stateful: bool = False,
                 backend: str = "auto") -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype, input_dropout=input_dropout,
                         stateful=stateful, backend=backend)


class MinGRU(_MinBase):
    r"""minGRU: z_t = σ(W_z x_t + b_z), h̃_t = g(W_h x_t + b_h), h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t.

    g(v) = v + 0.5 for v ≥ 0, σ(v) otherwise. The gates don't read h_{t-1}, so
    the sequence runs as a parallel scan.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, bidirectional,
            device, dtype: as torch.nn.GRU (defaults 1, True, False, False).
        dropout: on the outputs of every layer but the last (default 0).
        input_dropout: one mask per sequence on x_t (default 0).
        stateful: carry the final state into the next call (default False).
        backend: ``"auto"`` (default; the scan) or ``"reference"`` (the step loop).

    Parameters per layer k: ``weight_ih_l{k}`` (2H, I_k), rows z | h̃, and
    ``bias_ih_l{k}`` (2H,); ``_reverse`` for the backward direction. Init:
    torch.nn.Linear's U(−1/√I_k, 1/√I_k).

    ``forward(input, h_0=None, *, lengths=None, mask=None)`` returns
    ``(output, h_n)`` shaped as torch.nn.GRU's: output (T, B, D·H), h_n (L·D, B, H).

    Example::

        >>> out, h_n = MinGRU(3, 8, batch_first=True)(torch.zeros(2, 5, 3))
        >>> out.shape, h_n.shape
        (torch.Size([2, 5, 8]), torch.Size([1, 2, 8]))
    """

    mode = "mingru"


class MinLSTM(_MinBase):
    r"""minLSTM: f_t = σ(W_f x_t + b_f), i_t = σ(W_i x_t + b_i), f'_t = f_t / (f_t + i_t),
    i'_t = i_t / (f_t + i_t), h̃_t = g(W_h x_t + b_h), h_t = f'_t ⊙ h_{t-1} + i'_t ⊙ h̃_t.

    It carries h only, so it returns ``(output, h_n)`` like :class:`MinGRU`.
    Arguments as :class:`MinGRU`; ``weight_ih_l{k}`` is (3H, I_k) with rows f | i | h̃.
    """

    mode = "minlstm"
