"""Write files atomically: a temporary file in the same folder, then ``os.replace``.

A reader (or a crash) never sees a half-written report, plot or model: the
rename is atomic on POSIX and Windows when source and target share a folder.
The file gets the permissions an ordinary ``open(path, "w")`` would give it
(0o666 minus the umask), not mkstemp's private 0o600.

Temporary files are named ``.<name>.rnnkit-tmp-<pid>-<random><suffix>.tmp``. A
process killed while writing (``kill -9``, a power cut) leaves its temporary
file behind; the next successful write of the same ``<name>`` removes those left
by processes that no longer run (a live writer's file is never touched).
"""
from __future__ import annotations

import glob
import os
import tempfile
from contextlib import contextmanager
from typing import Iterator

__all__ = ["atomic_path", "write_text", "write_bytes", "temp_prefix", "remove_stale_temps"]

_TAG = ".rnnkit-tmp-"


def _default_mode() -> int:
    mask = os.umask(0)   # the only way to read the umask is to set it
    os.umask(mask)
    return 0o666 & ~mask


def temp_prefix(path) -> str:
    """The name prefix of every temporary file written for ``path`` (without the pid)."""
    return "." + os.path.basename(os.fspath(path)) + _TAG


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True   # another user's live process
    return True


def remove_stale_temps(path) -> list[str]:
    """Remove the temporary files of ``path`` left by dead processes; returns them."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    prefix = temp_prefix(path)
    removed = []
    for tmp in glob.glob(os.path.join(glob.escape(folder), glob.escape(prefix) + "*.tmp")):
        pid_text = os.path.basename(tmp)[len(prefix):].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or _alive(int(pid_text)):
            continue
        try:
            os.remove(tmp)
            removed.append(tmp)
        except OSError:  # cleaned by another process first, or not ours to remove: the save stands
            pass
    return removed


@contextmanager
def atomic_path(path, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was.
    ``suffix`` lets writers that look at the extension (matplotlib) see the right one.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{temp_prefix(path)}{os.getpid()}-",
                                   suffix=suffix + ".tmp", dir=folder)
    except OSError as e:
        raise _about(e, path) from None
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, _default_mode())
        try:
            os.replace(tmp, path)
        except OSError as e:
            raise _about(e, path) from None
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    remove_stale_temps(path)


def _about(e: OSError, path: str) -> OSError:
    # the user asked for `path`; the temporary file's name would only confuse them
    if e.filename is None:
        return e                                  # nothing names the temporary file
    return type(e)(e.errno, f"cannot write {path!r}: {e.strerror}")


def write_bytes(path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)


def write_text(path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))
