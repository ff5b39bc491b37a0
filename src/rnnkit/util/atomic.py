"""Write files atomically: a temporary file in the same folder, then ``os.replace``.

A reader (or a crash) never sees a half-written report, plot or model: the
rename is atomic on POSIX and Windows when source and target share a folder.
The file gets the permissions an ordinary ``open(path, "w")`` would give it
(0o666 minus the umask), not mkstemp's private 0o600.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from typing import Iterator

__all__ = ["atomic_path", "write_text", "write_bytes"]


def _default_mode() -> int:
    mask = os.umask(0)   # the only way to read the umask is to set it
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_path(path, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was.
    ``suffix`` lets writers that look at the extension (matplotlib) see the right one.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=suffix + ".tmp",
                               dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, _default_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_bytes(path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)


def write_text(path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))
