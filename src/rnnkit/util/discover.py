"""Finding a package's modules, so that adding one needs no line in the package's
``__init__.py`` or in a registry (issue 12: a new cell family touches at most 4 files).

The rule, the same for ``rnnkit.cells``, ``rnnkit.kernels``, ``rnnkit.nn`` and
``rnnkit.layers``: every module of the package whose name does not start with
``_`` is imported, in sorted name order (so the order never depends on the file
system), once, when the package is imported. A module's only import-time effect
beyond defining its names is to register what it declares (a cell family, a
layer class). What the package then exports or registers is what each module
declares: ``__all__`` (nn, cells), its ``@register_layer`` classes (layers) or
its ``KERNELS`` tables (kernels). Two modules declaring the same name is an
error that names both, never a silent overwrite.

Static analysers that don't run code (pyright, mypy) see the names that a
package's ``__init__`` imports explicitly, not the discovered ones; the
runtime ``__all__`` (``dir()``, ``help()``, IPython/Jupyter completion,
``from rnnkit.nn import *``) lists them all.
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Callable, Iterable, MutableMapping


def submodules(package: str, path: Iterable[str], *, skip: Iterable[str] = ()) -> list[ModuleType]:
    """Import and return the public modules and subpackages of ``package`` found on
    ``path`` (the package's ``__path__``), sorted by name; ``skip``: names not to import
    (e.g. the module doing the discovering)."""
    names = sorted({m.name for m in pkgutil.iter_modules(list(path))
                    if not m.name.startswith("_")} - set(skip))
    return [importlib.import_module(f"{package}.{name}") for name in names]


def declared_all(module: ModuleType) -> list[str]:
    """The names a module declares public with ``__all__``; none without one."""
    names = getattr(module, "__all__", ())
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"{module.__name__}.__all__ must be a list of names, got {names!r}")
    return list(names)


def export(namespace: MutableMapping, modules: Iterable[ModuleType],
           names_of: Callable[[ModuleType], Iterable[str]] = declared_all) -> list[str]:
    """Bind in ``namespace`` (a package's ``globals()``) each name that ``names_of(module)``
    gives, taken from that module. A name already bound to another object (by a module
    or by the package itself) raises ValueError naming both places. Returns the sorted
    names exported."""
    origin: dict[str, str] = {}
    for module in modules:
        for name in names_of(module):
            value = getattr(module, name)
            if name in namespace and namespace[name] is not value:
                where = origin.get(name, namespace.get("__name__", "the package"))
                raise ValueError(f"{module.__name__} exports {name!r}, which {where} already "
                                 "defines as something else; rename one of them")
            namespace[name] = value
            origin.setdefault(name, module.__name__)
    return sorted(origin)
