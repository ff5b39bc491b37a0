"""Tools on top of the library: compare RNN/LSTM/GRU, diagnose gradient flow,
train forecasters and character language models, write reports.

Everything here is used by the ``rnnkit`` command (``rnnkit.cli``) and by the
scripts in ``examples/``; each module is also usable from Python.
"""
