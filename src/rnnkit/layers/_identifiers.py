"""How Keras resolves a regularizer or constraint argument, written once: an
object, a name, a Keras config dict, or a plain function."""
from __future__ import annotations

__all__ = ["resolve"]


def resolve(identifier, arg: str, base: type, kind: str, names: dict, classes: dict):
    """``base`` instance as is; a name from ``names`` (lower case) built with no
    arguments; ``{"class_name": ..., "config": ...}`` from ``classes``; a callable as
    is. Anything else raises, naming ``arg``."""
    if isinstance(identifier, base):
        return identifier
    if isinstance(identifier, str):
        if identifier.lower() not in names:
            raise ValueError(f"`{arg}` must be one of {sorted(names)}, a {base.__name__} or a "
                             f"function, got {identifier!r}")
        return names[identifier.lower()]()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        if name not in classes:
            raise ValueError(f"`{arg}` names {kind} class {name!r}; rnnkit supports "
                             f"{sorted(classes)}")
        return classes[name].from_config(identifier.get("config") or {})
    if callable(identifier):
        return identifier
    raise TypeError(f"`{arg}` must be a {base.__name__}, a name or a function, got "
                    f"{type(identifier).__name__} {identifier!r}")
