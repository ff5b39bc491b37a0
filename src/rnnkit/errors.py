"""The one error type for files rnnkit refuses to load.

A model file, a weights file or a BackupAndRestore backup is untrusted input: it
may be damaged, truncated, hand-edited or crafted. Whatever is wrong with it,
loading raises :class:`InvalidModelFile` (a ValueError, so ``except ValueError``
keeps working), whose message names the file and says what is wrong, on one line
(the ``rnnkit`` command prints it as is and exits with status 2).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

__all__ = ["InvalidModelFile", "invalid_file"]


class InvalidModelFile(ValueError):
    """A file that rnnkit refuses to load.

    Attributes:
        path: the file, as given.
        problem: what is wrong with it, one line.
    """

    def __init__(self, path, problem: str) -> None:
        self.path = os.fspath(path)
        # One line: messages quoted from parsers (safetensors, json) may hold newlines.
        self.problem = " ".join(str(problem).split())
        super().__init__(f"invalid rnnkit file {self.path!r}: {self.problem}")

    def __reduce__(self):  # pickling (multiprocessing) rebuilds it from its two fields
        return (type(self), (self.path, self.problem))


@contextmanager
def invalid_file(path, what: str) -> Iterator[None]:
    """Re-raise what building from a file's contents raises as InvalidModelFile: a
    constructor refusing a config value, a missing key, a wrong type are properties
    of the file, and the caller sees the one error type."""
    try:
        yield
    except InvalidModelFile:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError,
            RuntimeError, OverflowError, NotImplementedError) as e:
        raise InvalidModelFile(path, f"{what}: {type(e).__name__}: {e}") from None
