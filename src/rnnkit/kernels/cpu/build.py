"""Compile (once) and load the native extension in ``csrc/``.

The extension is built on first use with ``torch.utils.cpp_extension.load``
(it needs a C++ compiler and ``ninja``) and cached. ``-march=native`` makes the
binary specific to this CPU, so the cache folder is keyed on the CPU's
feature flags, the torch version and the Python version:
``$RNNKIT_CACHE_DIR`` (default ``~/.cache/rnnkit``) ``/cpu-kernels/<key>``.

If the build fails, :func:`why_unavailable` returns the reason, rnnkit logs
it once, and the registry runs the torch / reference kernels instead.
``RNNKIT_CPU_KERNEL=0`` turns the kernel off without trying to build it.
"""
from __future__ import annotations

import hashlib
import logging
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

import torch

log = logging.getLogger("rnnkit")

CSRC = Path(__file__).with_name("csrc")
SOURCES = ("binding.cpp", "blas.cpp", "lstm.cpp", "gru.cpp", "rnn.cpp", "step.cpp")
# -fno-trapping-math lets GCC if-convert the clamps of the activations (csrc/common.h), hence
# vectorise the gate loops.
# -mprefer-vector-width=512 (x86 only): GCC otherwise keeps to 256-bit vectors on AVX-512 CPUs.
CFLAGS = ["-O3", "-march=native", "-fno-trapping-math", "-std=c++17"]
if platform.machine().lower() in ("x86_64", "amd64"):
    CFLAGS.insert(2, "-mprefer-vector-width=512")
# OpenMP: at::parallel_for runs batch slices on torch's intra-op threads (binding.cpp); the
# library it links, libgomp.so.1, is the one torch has already loaded (same soname). A
# compiler without OpenMP support builds without it, and the slices run one after another.
OPENMP = ["-fopenmp"]
# The flag sets tried in order: (compile flags, link flags).
FLAG_SETS = ((CFLAGS + OPENMP, OPENMP), (CFLAGS, []))

_lock = threading.Lock()
_module = None
_error: Optional[str] = None
build_seconds: Optional[float] = None  # wall time of the load() that compiled or found the binary
openmp: Optional[bool] = None  # whether the loaded build has OpenMP (batch slices in parallel)


def _cpu_key() -> str:
    """What decides whether a -march=native binary runs here."""
    flags = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    flags += line
                    break
    except OSError:
        flags += platform.processor()
    return flags


def _source_key() -> str:
    """The sources' contents: a new version of them never reuses an old binary
    (ninja trusts file times, which a copy or an interrupted build can get wrong)."""
    h = hashlib.sha256()
    for path in sorted(CSRC.iterdir()):
        if path.suffix in (".cpp", ".h"):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def cache_dir(flags: tuple = FLAG_SETS[0]) -> Path:
    """The build folder for this CPU, torch, Python, flag set and source version (created on
    demand)."""
    root = Path(os.environ.get("RNNKIT_CACHE_DIR") or Path.home() / ".cache" / "rnnkit")
    key = hashlib.sha256("|".join(
        [_cpu_key(), torch.__version__, sys.version, " ".join(flags[0] + flags[1]),
         _source_key()]).encode()).hexdigest()[:16]
    path = root / "cpu-kernels" / key
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        path = Path(tempfile.gettempdir()) / f"rnnkit-cpu-kernels-{key}"
        path.mkdir(parents=True, exist_ok=True)
    return path


def _is_built(flags: tuple) -> bool:
    return any(cache_dir(flags).glob("rnnkit_cpu_kernels*.so"))


def _probe(flags: list) -> Optional[str]:
    """None when the C++ compiler builds a tiny OpenMP program with these flags, else why not."""
    import subprocess

    cxx = os.environ.get("CXX", "c++")
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "probe.cpp"
        src.write_text("#include <omp.h>\nint main() { return omp_get_max_threads() > 0 ? 0 : 1; }\n",
                       encoding="utf-8")
        try:
            r = subprocess.run([cxx, *flags, str(src), "-o", str(Path(d) / "probe")],
                               capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as e:
            return str(e)
        if r.returncode != 0:
            lines = (r.stderr or r.stdout).strip().splitlines()
            return lines[-1] if lines else f"exit status {r.returncode}"
    return None


def _precheck() -> Optional[str]:
    if os.environ.get("RNNKIT_CPU_KERNEL", "1") == "0":
        return "disabled by the environment variable RNNKIT_CPU_KERNEL=0"
    from torch.utils import cpp_extension

    if not cpp_extension.is_ninja_available():
        return "the native kernels are built with ninja, which is not installed (pip install ninja)"
    cxx = os.environ.get("CXX", "c++")
    if shutil.which(cxx) is None:
        return f"no C++ compiler found (looked for {cxx!r}; set CXX)"
    return None


def load():
    """The compiled module, building it on the first call; raises RuntimeError with
    the reason when it can't be built."""
    global _module, _error, build_seconds, openmp
    if _module is not None:
        return _module
    with _lock:
        if _module is None and _error is None:
            _error = _precheck()
            if _error is None:
                from torch.utils import cpp_extension

                start = time.perf_counter()
                failures = []
                for cflags, ldflags in FLAG_SETS:
                    if ldflags and not _is_built((cflags, ldflags)):
                        # a compiler without OpenMP would fail the whole build in every new
                        # process: a one-line probe finds out first (once, while uncached)
                        why = _probe(cflags + ldflags)
                        if why is not None:
                            failures.append(f"the compiler can't build with {' '.join(ldflags)}: {why}")
                            continue
                    try:
                        _module = cpp_extension.load(
                            name="rnnkit_cpu_kernels",
                            sources=[str(CSRC / s) for s in SOURCES],
                            extra_cflags=cflags,
                            extra_ldflags=ldflags,
                            build_directory=str(cache_dir((cflags, ldflags))),
                            verbose=os.environ.get("RNNKIT_CPU_KERNEL_VERBOSE") == "1")
                    except Exception as e:  # compiler errors arrive as RuntimeError/OSError/...
                        lines = str(e).strip().splitlines()
                        errors = [ln.strip() for ln in lines if "error" in ln.lower()] or lines[-2:]
                        failures.append(f"building the native kernels in "
                                        f"{cache_dir((cflags, ldflags))} failed: "
                                        + " | ".join(errors[:3]))
                        continue
                    build_seconds = time.perf_counter() - start
                    openmp = bool(ldflags)
                    if failures:
                        log.info("rnnkit: built the CPU kernel without OpenMP (%s)", failures[0])
                    break
                if _module is None:
                    _error = failures[-1]
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
