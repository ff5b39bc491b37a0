"""The error for Keras names that an rnnkit namespace module doesn't offer."""
from __future__ import annotations


class NotSupportedError(AttributeError):
    """A Keras name that rnnkit doesn't offer (an AttributeError, so hasattr() is False)."""


def module_getattr(module: str, supported: list):
    """A module ``__getattr__`` that names the missing Keras name and says it isn't supported."""
    def __getattr__(name: str):
        if name.startswith("_"):
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        raise NotSupportedError(f"{module.replace('rnnkit', 'keras')}.{name} is not supported by "
                                f"rnnkit ({module} offers: {', '.join(sorted(supported))})")
    return __getattr__
