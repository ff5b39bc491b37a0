"""Where the native kernel's build is kept, what its key is, and whether it may be loaded.

Layout of ``$RNNKIT_CACHE_DIR`` (default ``~/.cache/rnnkit``) ``/cpu-kernels/``::

    <key>/rnnkit_cpu_kernels*.so   a published build: complete, never written again
    <key>/key.json                 what the key was computed from (for people; never read back)
    .build-<host>-<pid>-<random>/  a build in progress, private (0700); renamed to <key> when done
    build.lock                     flock-ed by the process that builds; the OS drops the lock
                                   when that process dies, so a killed build blocks nobody

The key hashes what the binary depends on: the CPU's feature flags (``-march=native``), torch,
Python, the compiler's and ninja's versions, the flags and the sources' contents. Not their
paths: two checkouts or venvs of one version share one build, and a published build is
imported directly (ninja never runs again, so nothing depends on a build.ninja's paths).

A library is loaded only from a folder that this user or root owns, and that nobody else can
write, up to ``/`` (:func:`why_untrusted`); otherwise another local user could plant code there.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import shutil
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Optional

import torch

log = logging.getLogger("rnnkit")

SCHEMA = "rnnkit-cpu-kernels/2"  # bump when the layout or the key's inputs change
LIBRARY_GLOB = "rnnkit_cpu_kernels*.so"
STALE_AFTER_S = 24 * 3600  # a .build-* folder of another host is removed after this long


def root() -> Path:
    """The folder of published builds (it may not exist yet)."""
    base = os.environ.get("RNNKIT_CACHE_DIR") or Path.home() / ".cache" / "rnnkit"
    return Path(base).absolute() / "cpu-kernels"


def cpu_flags() -> str:
    """What decides whether a -march=native binary runs here."""
    flags = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return flags + line
    except OSError:
        pass
    return flags + platform.processor()


def ninja() -> Optional[str]:
    """The ninja beside this Python (pip's, a dependency of rnnkit), else the one on PATH: the
    same binary whether or not the venv is activated."""
    here = Path(sysconfig.get_path("scripts")) / ("ninja.exe" if os.name == "nt" else "ninja")
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which("ninja")


def compiler() -> str:
    """The C++ compiler torch's build uses (``$CXX``, else ``c++``)."""
    return os.environ.get("CXX", "c++")


@lru_cache(maxsize=16)
def tool_version(program: Optional[str]) -> str:
    """``program --version``'s output (not its path), or why there is none."""
    if program is None or shutil.which(program) is None:
        return "not found"
    try:
        r = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        return f"failed: {e}"
    return r.stdout.strip() or r.stderr.strip()


def source_hash(csrc: Path) -> str:
    """The sources' contents: a new version of them never reuses an old binary (ninja trusts file
    times, which a copy or an interrupted build can get wrong)."""
    h = hashlib.sha256()
    for path in sorted(csrc.iterdir()):
        if path.suffix in (".cpp", ".h"):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def key_inputs(flags: tuple, csrc: Path) -> dict:
    """Everything the binary depends on, by value."""
    cflags, ldflags = flags
    return {"schema": SCHEMA, "cpu": cpu_flags(), "torch": torch.__version__,
            "torch_git": getattr(torch.version, "git_version", ""),
            "cxx11_abi": str(torch.compiled_with_cxx11_abi()),
            "python": sys.version, "abi": sysconfig.get_config_var("EXT_SUFFIX") or "",
            "compiler": tool_version(compiler()), "ninja": tool_version(ninja()),
            "cflags": " ".join(cflags), "ldflags": " ".join(ldflags), "sources": source_hash(csrc)}


def key(inputs: dict) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def why_untrusted(path: Path) -> Optional[str]:
    """None when ``path`` and every folder above it belong to this user or root and can't be
    written by group or others, else why not (the first offending path).

    A root-owned folder with the sticky bit (``/tmp``) is accepted: there only an entry's owner
    may rename or remove it, and the entries below are checked themselves. Symbolic links are
    resolved first, and it is the resolved path that the caller loads. POSIX only."""
    if os.name != "posix":
        return None
    uid = os.geteuid()
    real = Path(os.path.realpath(path))
    for p in (real, *real.parents):
        try:
            st = os.stat(p)
        except OSError as e:
            return f"can't check {p}: {e.strerror}"
        if st.st_uid not in (uid, 0):
            return f"{p} belongs to another user (uid {st.st_uid}, you are {uid})"
        sticky_root = stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX and st.st_uid == 0
        if st.st_mode & 0o022 and not sticky_root:
            return (f"{p} can be written by group or others (mode {stat.filemode(st.st_mode)}; "
                    f"fix with `chmod go-w {p}`)")
    return None


def nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def writable(path: Path) -> bool:
    return os.access(path, os.W_OK | os.X_OK)


def make_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents, readable by all, writable only by this user
    (mode 0755: a umask that allows group writes would make them untrusted)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for p in reversed(missing):
        with contextlib.suppress(FileExistsError):
            p.mkdir(mode=0o755)


def published(folder: Path) -> Optional[Path]:
    """The library in a published build folder, or None."""
    found = sorted(folder.glob(LIBRARY_GLOB)) if folder.is_dir() else []
    return found[0] if found else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, someone else's
        return True
    return True


def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def new_build_dir(folder: Path) -> Path:
    """A private (0700, unpredictable) folder for one build, named so that a later process can
    tell whether its builder is gone."""
    return Path(tempfile.mkdtemp(prefix=f".build-{_host()}-{os.getpid()}-", dir=folder))


def remove_stale(folder: Path) -> list:
    """Remove the build folders left by killed builds: of this host whose process is gone, or
    older than STALE_AFTER_S. Returns the folders removed."""
    removed = []
    for d in folder.glob(".build-*"):
        try:
            _, host, pid, _ = d.name.split("-", 3)
            gone = host == _host() and not _pid_alive(int(pid))
            gone = gone or time.time() - d.stat().st_mtime > STALE_AFTER_S
        except (ValueError, OSError):
            continue
        if gone:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def publish(build_dir: Path, final: Path, inputs: dict) -> Optional[Path]:
    """Rename the finished ``build_dir`` to ``final`` (atomic: readers see all of it or nothing),
    keeping only the library and key.json. Returns the published library; when another process
    published first, its build is kept, ours removed, and the published library returned."""
    lib = published(build_dir)
    if lib is None:
        raise FileNotFoundError(f"the build left no {LIBRARY_GLOB} in {build_dir}")
    for p in build_dir.iterdir():
        if p == lib:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
    (build_dir / "key.json").write_text(json.dumps(inputs, indent=1, sort_keys=True) + "\n",
                                        encoding="utf-8")
    os.chmod(lib, 0o755)
    os.chmod(build_dir, 0o755)
    try:
        os.rename(build_dir, final)
    except OSError:  # published meanwhile by a process that didn't wait for the lock
        shutil.rmtree(build_dir, ignore_errors=True)
    return published(final)


@contextlib.contextmanager
def build_lock(folder: Path, wait_s: float) -> Iterator[bool]:
    """Hold ``folder/build.lock`` while building; yields whether it is held.

    An flock dies with its process, so a killed build never blocks a later one (torch's own
    ``lock`` file stays behind forever). A live builder is waited for at most ``wait_s``
    seconds; after that the caller builds anyway (publishing is atomic, so both are safe)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, duplicate builds stay safe
        yield False
        return
    fd = os.open(folder / "build.lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0),
                 0o644)
    try:
        deadline = time.monotonic() + wait_s
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
                break
            except OSError:
                if not said:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    log.warning("rnnkit: waiting (at most %.0f s) for process %s, which is "
                                "building the native CPU kernels in %s", wait_s, holder, folder)
                    said = True
                if time.monotonic() > deadline:
                    held = False
                    break
                time.sleep(0.2)
        if held:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield held
    finally:
        os.close(fd)  # releases the flock


def private_dir() -> Path:
    """A fresh private folder (mkdtemp: 0700, an unpredictable name) for a build used by this
    process only, when the cache can't be used."""
    return Path(tempfile.mkdtemp(prefix="rnnkit-cpu-kernels-"))
