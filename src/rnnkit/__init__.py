"""rnnkit: recurrent neural networks from their equations, on PyTorch."""
from rnnkit._version import __version__

__all__ = ["__version__"]
