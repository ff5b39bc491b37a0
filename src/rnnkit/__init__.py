"""rnnkit: recurrent neural networks from their equations, on PyTorch.

``import rnnkit as keras`` offers the supported subset of Keras 3 under Keras's
names: ``keras.Input``, ``keras.Model``, ``keras.Sequential``, and the modules
``layers``, ``models``, ``callbacks``, ``optimizers``, ``losses``, ``metrics``,
``activations``, ``regularizers``, ``constraints``, ``utils`` and
``preprocessing``. A Keras name that rnnkit lacks raises an error that names it.
Everything is imported on first use, so ``import rnnkit`` stays light.
"""
import importlib

from rnnkit._unsupported import NotSupportedError
from rnnkit._version import __version__
from rnnkit.seed import set_random_seed

_NAMES = {"Input": ("rnnkit.layers.input_layer", "Input"),
          "InputLayer": ("rnnkit.layers.input_layer", "InputLayer"),
          "Model": ("rnnkit.models.functional", "Model"),
          "Sequential": ("rnnkit.models.sequential", "Sequential"),
          "KerasTensor": ("rnnkit.layers.node", "KerasTensor"),
          "Layer": ("rnnkit.layers.base", "Layer")}
_MODULES = ("layers", "models", "callbacks", "optimizers", "losses", "metrics", "activations",
            "regularizers", "constraints", "utils", "preprocessing", "nn", "cells", "kernels",
            "data", "datasets", "tools", "training", "cli")

__all__ = ["NotSupportedError", "__version__", "set_random_seed", *_NAMES, *_MODULES]


def __getattr__(name: str):
    if name in _NAMES:
        module, attr = _NAMES[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    if name in _MODULES:
        return importlib.import_module(f"rnnkit.{name}")
    if name.startswith("__"):
        raise AttributeError(name)
    raise NotSupportedError(f"keras.{name} is not supported by rnnkit; `import rnnkit as keras` "
                            f"offers {sorted(_NAMES)} and the modules {sorted(_MODULES[:11])}")
