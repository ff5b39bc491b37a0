"""rnnkit: recurrent neural networks from their equations, on PyTorch."""
from rnnkit._version import __version__
from rnnkit.seed import set_random_seed

__all__ = ["__version__", "set_random_seed"]
