"""Benchmark runners, registered by name (as PyTorch's benchmarks/fastrnns does).

They live in :mod:`rnnkit.tools.bench`, so that the installed ``rnnkit bench``
runs the same code; register more here with ``@register("name")``.
"""
from rnnkit.tools.bench import GATES, RUNNERS, Pair, Workload, max_diff, register  # noqa: F401
