"""Tools on top of the library: compare RNN/LSTM/GRU, diagnose gradient flow,
train forecasters and character language models, write reports.

Every model here is a :class:`rnnkit.models.Sequential` of :mod:`rnnkit.layers`
(built by :mod:`rnnkit.tools.stacks`), trained with ``Sequential.fit`` and saved
with ``Sequential.save`` -- the tools add data preparation, budgets, metrics and
plots, not another training loop or file format.

Everything here is used by the ``rnnkit`` command (``rnnkit.cli``) and by the
scripts in ``examples/``; each module is also usable from Python.
"""
