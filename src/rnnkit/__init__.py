"""rnnkit: recurrent neural networks from their equations, on PyTorch."""
from rnnkit._version import __version__
from rnnkit.seed import set_random_seed

__all__ = ["__version__", "set_random_seed", "set_threads"]


def set_threads(n) -> None:
    """Pin torch's CPU thread count to ``n`` for everything rnnkit runs, over its thread
    policy (``None``: back to torch's default and the policy). See docs/threads.md."""
    from rnnkit.kernels.threads import set_threads as _set

    _set(n)
