"""Compile (once) and load the native extension in ``csrc/``.

The extension is built with ``torch.utils.cpp_extension.load`` (it needs a C++ compiler and
``ninja``), once per machine: ``make install`` and ``python -m rnnkit.kernels.cpu`` build it
ahead; otherwise the first forward pass does, and says so. Builds are published in a cache
keyed on everything the binary depends on (cache.py); a published build is imported directly.

- The cache is ``$RNNKIT_CACHE_DIR`` (default ``~/.cache/rnnkit``) ``/cpu-kernels/<key>``.
- A build runs in a private folder and is published by an atomic rename, while the process
  holds an flock that dies with it: a killed build never blocks a later process.
- A library is loaded only from folders owned by this user or root, writable by nobody else.
  A cache that is untrusted or can't be written (and holds no build) is not used: the kernel
  is then built, for this process only, in a private ``mkdtemp`` folder, with a warning.
- A cache that can't be written but holds a valid build is used as it is.

If the build fails, :func:`why_unavailable` returns the reason, rnnkit logs it once, and the
registry runs the torch / reference kernels instead. ``RNNKIT_CPU_KERNEL=0`` turns the kernel
off without trying to build it.
"""
from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import platform
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

import torch

from rnnkit.kernels.cpu import cache

log = logging.getLogger("rnnkit")

NAME = "rnnkit_cpu_kernels"
CSRC = Path(__file__).with_name("csrc")
SOURCES = ("binding.cpp", "blas.cpp", "lstm.cpp", "gru.cpp", "rnn.cpp", "step.cpp", "conv_gates.cpp")
# Tuples, never lists: cpp_extension.load appends to the lists it gets (-ltorch ...), which
# once changed the cache key, hence cache_dir(), after the first load().
# -fno-trapping-math lets GCC if-convert the clamps of the activations (csrc/common.h), hence
# vectorise the gate loops.
# -mprefer-vector-width=512 (x86 only): GCC otherwise keeps to 256-bit vectors on AVX-512 CPUs.
CFLAGS = ("-O3", "-march=native", "-fno-trapping-math", "-std=c++17")
if platform.machine().lower() in ("x86_64", "amd64"):
    CFLAGS = CFLAGS[:2] + ("-mprefer-vector-width=512",) + CFLAGS[2:]
# OpenMP: at::parallel_for runs batch slices on torch's intra-op threads (binding.cpp); the
# library it links, libgomp.so.1, is the one torch has already loaded (same soname). A
# compiler without OpenMP support builds without it, and the slices run one after another.
OPENMP = ("-fopenmp",)
# The flag sets tried in order: (compile flags, link flags).
FLAG_SETS = ((CFLAGS + OPENMP, OPENMP), (CFLAGS, ()))
LOCK_WAIT_S = 900.0  # the longest wait for another process's build before building too
ANNOUNCE = "rnnkit: building the native CPU kernels (about a minute, once per machine) in %s"

_lock = threading.Lock()
_module = None
_error: Optional[str] = None
build_seconds: Optional[float] = None  # wall time of the load() that compiled or found the binary
openmp: Optional[bool] = None  # whether the loaded build has OpenMP (batch slices in parallel)
loaded_from: Optional[Path] = None  # the library loaded (its folder may be gone: private builds)
built: Optional[bool] = None  # whether that load() compiled it (else it was found in the cache)


class _Unavailable(Exception):
    """Why the kernel can't be had in this process (the message reaches the registry)."""


class _Untrusted(Exception):
    """Why a cached library must not be loaded."""


def _key_inputs(flags: tuple) -> dict:
    return cache.key_inputs(flags, CSRC)


def cache_dir(flags: tuple = FLAG_SETS[0]) -> Path:
    """The published build folder for this CPU, torch, Python, toolchain, flag set and source
    version (it may not exist)."""
    return cache.root() / cache.key(_key_inputs(flags))


def _probe(flags) -> Optional[str]:
    """None when the C++ compiler builds a tiny OpenMP program with these flags, else why not."""
    import subprocess

    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "probe.cpp"
        src.write_text("#include <omp.h>\nint main() { return omp_get_max_threads() > 0 ? 0 : 1; }\n",
                       encoding="utf-8")
        try:
            r = subprocess.run([cache.compiler(), *flags, str(src), "-o", str(Path(d) / "probe")],
                               capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as e:
            return str(e)
        if r.returncode != 0:
            lines = (r.stderr or r.stdout).strip().splitlines()
            return lines[-1] if lines else f"exit status {r.returncode}"
    return None


def why_no_toolchain() -> Optional[str]:
    """Why this machine can't build the native kernel (no compiler, no ninja, or turned off
    with RNNKIT_CPU_KERNEL=0), or None. Tests skip the native kernel's tests only then:
    with a toolchain here, a kernel that fails to build is a defect and they fail."""
    if os.environ.get("RNNKIT_CPU_KERNEL", "1") == "0":
        return "disabled by the environment variable RNNKIT_CPU_KERNEL=0"
    return _precheck()


def _precheck() -> Optional[str]:
    """Why a build can't start, or None."""
    if cache.ninja() is None:
        return "the native kernels are built with ninja, which is not installed (pip install ninja)"
    if shutil.which(cache.compiler()) is None:
        return f"no C++ compiler found (looked for {cache.compiler()!r}; set CXX)"
    return None


def _import(lib: Path):
    """Import a built library (as torch's cpp_extension does, without running ninja again)."""
    spec = importlib.util.spec_from_file_location(lib.name.split(".")[0], lib)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _ninja_first_on_path():
    """cpp_extension runs ``ninja`` from PATH: make it the one in the key (cache.ninja)."""
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = str(Path(cache.ninja()).parent) + os.pathsep + old
    try:
        yield
    finally:
        os.environ["PATH"] = old


def _compile(build_dir: Path, flags: tuple):
    """Build the extension in ``build_dir`` and import it (the compile step tests replace)."""
    from torch.utils import cpp_extension

    cflags, ldflags = flags
    with _ninja_first_on_path():
        return cpp_extension.load(
            name=NAME, sources=[str(CSRC / s) for s in SOURCES],
            extra_cflags=list(cflags), extra_ldflags=list(ldflags),
            build_directory=str(build_dir),
            verbose=os.environ.get("RNNKIT_CPU_KERNEL_VERBOSE") == "1")


def _find_published(folder: Path):
    """(module, flags, library) of the first flag set with a trusted published build, or None."""
    for flags in FLAG_SETS:
        lib = cache.published(folder / cache.key(_key_inputs(flags)))
        if lib is None:
            continue
        lib = Path(os.path.realpath(lib))  # load what was checked, not a link that may change
        why = cache.why_untrusted(lib)
        if why is not None:
            raise _Untrusted(f"refusing to load {lib}: {why}")
        try:
            return _import(lib), flags, lib
        except ImportError as e:  # a damaged file: set it aside (when we can) and rebuild
            log.warning("rnnkit: can't import the cached kernel %s (%s); rebuilding", lib, e)
            with contextlib.suppress(OSError):
                os.rename(lib.parent, cache.new_build_dir(folder))
    return None


def _build(where, publish_in: Optional[Path]):
    """Try FLAG_SETS in order; ``where()`` gives each build's private folder. Publishes in
    ``publish_in`` (else the folder is removed after the import). Returns (module, flags, lib)."""
    global built
    log.warning(ANNOUNCE, publish_in or "a private temporary folder")
    built = True
    failures = []
    for flags in FLAG_SETS:
        cflags, ldflags = flags
        if ldflags:
            # a compiler without OpenMP would fail the whole build: a one-line probe finds out first
            why = _probe(cflags + ldflags)
            if why is not None:
                failures.append(f"the compiler can't build with {' '.join(ldflags)}: {why}")
                continue
        build_dir = where()
        try:
            module = _compile(build_dir, flags)
        except Exception as e:  # compiler errors arrive as RuntimeError/OSError/...
            lines = str(e).strip().splitlines()
            errors = [ln.strip() for ln in lines if "error" in ln.lower()] or lines[-2:]
            failures.append(f"building the native kernels in {publish_in or build_dir} failed: "
                            + " | ".join(errors[:3]))
            shutil.rmtree(build_dir, ignore_errors=True)
            continue
        if publish_in is not None:
            inputs = _key_inputs(flags)
            lib = cache.publish(build_dir, publish_in / cache.key(inputs), inputs)
        else:
            lib = cache.published(build_dir)
            shutil.rmtree(build_dir, ignore_errors=True)  # the loaded library stays mapped
        if failures:
            log.info("rnnkit: built the CPU kernel without OpenMP (%s)", failures[0])
        return module, flags, lib
    raise _Unavailable(failures[-1])


def _private_dir() -> Path:
    d = cache.private_dir()
    why = cache.why_untrusted(d)
    if why is not None:
        shutil.rmtree(d, ignore_errors=True)
        raise _Unavailable(f"no safe folder to build the native kernels in: {why}")
    return d


def _find_or_build():
    folder = cache.root()
    untrusted = cache.why_untrusted(cache.nearest_existing(folder))
    if untrusted is None and folder.is_dir():
        try:
            found = _find_published(folder)
        except _Untrusted as e:
            untrusted = str(e)
        else:
            if found is not None:
                return found
    why = _precheck()
    if why is not None:
        raise _Unavailable(why)
    if untrusted is None:
        try:
            cache.make_dirs(folder)
        except OSError as e:
            untrusted = f"can't create {folder}: {e.strerror}"
    if untrusted is None and not cache.writable(folder):
        untrusted = f"{folder} is not writable"
    if untrusted is not None:
        log.warning("rnnkit: not using the kernel cache (%s); the kernel is built for this "
                    "process only, in a private temporary folder. Set RNNKIT_CACHE_DIR to a "
                    "folder of yours to build it once.", untrusted)
        return _build(_private_dir, None)
    with cache.build_lock(folder, LOCK_WAIT_S) as held:
        try:
            found = _find_published(folder)  # built meanwhile by the process we waited for
        except _Untrusted as e:
            log.warning("rnnkit: %s; building in a private temporary folder", e)
            return _build(_private_dir, None)
        if found is not None:
            return found
        if held:
            cache.remove_stale(folder)
        return _build(lambda: cache.new_build_dir(folder), folder)


def load():
    """The compiled module, building it on the first call; raises RuntimeError with
    the reason when it can't be built."""
    global _module, _error, build_seconds, openmp, loaded_from, built
    if _module is not None:
        return _module
    with _lock:
        if _module is None and _error is None:
            if os.environ.get("RNNKIT_CPU_KERNEL", "1") == "0":
                _error = "disabled by the environment variable RNNKIT_CPU_KERNEL=0"
            else:
                start = time.perf_counter()
                built = False
                try:
                    module, flags, loaded_from = _find_or_build()
                except _Unavailable as e:
                    _error = str(e)
                except OSError as e:  # the cache's file system (full, gone, permissions)
                    _error = f"the kernel cache failed: {e}"
                else:
                    build_seconds = time.perf_counter() - start
                    openmp = bool(flags[1])
                    _module = module
            if _error is not None:
                log.warning("rnnkit: the fused CPU kernel is unavailable (%s); "
                            "using the torch / reference kernels", _error)
    if _module is None:
        raise RuntimeError(_error)
    return _module


def why_unavailable() -> Optional[str]:
    """None when the extension is loaded (building it if needed), else why not."""
    if _module is not None:
        return None
    if _error is not None:
        return _error
    try:
        load()
    except RuntimeError as e:
        return str(e)
    return None


def set_poison(on: bool) -> None:
    """Debug: fill every buffer the kernels allocate with NaN (tests use it)."""
    load().set_poison(bool(on))


def set_batch_slices(n: int) -> None:
    """Test aid: run every sequence as ``n`` slices of its batch (0: by size and thread count)."""
    load().set_batch_slices(int(n))
