"""rnnkit: recurrent neural networks from their equations, on PyTorch."""
from rnnkit._version import __version__
from rnnkit.errors import InvalidModelFile
from rnnkit.seed import set_random_seed

__all__ = ["__version__", "InvalidModelFile", "set_random_seed"]
