"""Native fused CPU kernels (C++ in ``csrc/``), registered as the "cpu" kernel.

One native call runs the whole time loop of a layer and direction, with a
hand-written BPTT (function.py); :func:`why_not` says which configurations it
runs. The extension is compiled on first use and cached (build.py).
Streaming single steps: :mod:`rnnkit.kernels.cpu.streaming`.
"""
from rnnkit.kernels.cpu.build import set_poison, why_unavailable
from rnnkit.kernels.cpu.function import calls
from rnnkit.kernels.cpu.kernel import run, why_not, yields
from rnnkit.kernels.cpu.streaming import gru_cell, lstm_cell, rnn_cell
from rnnkit.kernels.registry import Kernel, register

register(Kernel("cpu", 20, why_not, run,
                "rnnkit's native fused CPU time loops (C++, hand-written BPTT)", yields=yields))

__all__ = ["calls", "gru_cell", "lstm_cell", "rnn_cell", "run", "set_poison", "why_not",
           "why_unavailable"]
