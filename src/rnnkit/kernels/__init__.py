"""Kernels run a recurrent stack; the registry chooses among them."""
from rnnkit.kernels.registry import Choice, Kernel, choose, kernels, register, run
from rnnkit.kernels.spec import RecurrentSpec

__all__ = ["Choice", "Kernel", "RecurrentSpec", "choose", "kernels", "register", "run"]
