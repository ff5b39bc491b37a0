"""A tiny stand-in for the native extension, for the tests of the kernel cache.

``compile_library`` builds a real shared library (a CPython module with ``blas_name()``) with
``cc`` in a fraction of a second, instead of the real kernel's minute. ``fake_load`` replaces
``torch.utils.cpp_extension.load`` and behaves as torch's does where the cache logic cares:

- it holds torch's ``lock`` file (FileBaton) in the build folder while building, and waits
  while someone else's is there: a killed build leaves it behind, as torch's does;
- it imports a library already in the folder, as ninja would find it up to date;
- it appends to the flag lists it receives (torch appends ``-ltorch`` ...);
- ``-fno-such-flag-for-rnnkit`` fails the build, as the compiler would.

Environment knobs, for the subprocess tests: RNNKIT_TEST_BUILD_LOG (a file: one line per
build: its folder and that folder's mode), RNNKIT_TEST_BUILD_SLEEP (seconds a build takes),
RNNKIT_TEST_STARTED (a file created when a build starts), RNNKIT_TEST_TAG (``blas_name()``).
``python _fake_extension.py`` installs the fake and loads the kernel: prints ``LOADED <blas
name> <library>``, or ``UNAVAILABLE <reason>`` with status 1.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Optional

C_SOURCE = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdio.h>
#ifdef MARKER
/* runs at dlopen, before Python sees the module: proof that the library was loaded */
__attribute__((constructor)) static void planted(void) {
    FILE *f = fopen(MARKER, "w");
    if (f) { fputs("the planted library ran\n", f); fclose(f); }
}
#endif
static PyObject *blas_name(PyObject *self, PyObject *args) { return PyUnicode_FromString(TAG); }
static PyMethodDef methods[] = {{"blas_name", blas_name, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, NAME, NULL, -1, methods};
PyMODINIT_FUNC INIT(void) { return PyModule_Create(&module); }
"""


def compile_library(folder: Path, tag: str, marker: Optional[Path] = None,
                    name: str = "rnnkit_cpu_kernels") -> Path:
    """Build ``folder/<name>.so``, a module whose ``blas_name()`` returns ``tag``."""
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / "fake.c"
    src.write_text(C_SOURCE, encoding="utf-8")
    lib = folder / f"{name}.so"
    defines = [f'-DTAG="{tag}"', f'-DNAME="{name}"', f"-DINIT=PyInit_{name}"]
    if marker is not None:
        defines.append(f'-DMARKER="{marker}"')
    subprocess.run([os.environ.get("CC", "cc"), "-shared", "-fPIC", "-O0", *defines,
                    f"-I{sysconfig.get_paths()['include']}", str(src), "-o", str(lib)],
                   check=True, capture_output=True, timeout=120)
    src.unlink()
    return lib


def _import(lib: Path):
    spec = importlib.util.spec_from_file_location(lib.name.split(".")[0], lib)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_load(name, sources, extra_cflags=None, extra_ldflags=None, build_directory=None,
              verbose=False, **_):
    from torch.utils.file_baton import FileBaton

    extra_cflags, extra_ldflags = extra_cflags or [], extra_ldflags or []
    if "-fno-such-flag-for-rnnkit" in extra_cflags:
        raise RuntimeError("Error building extension 'rnnkit_cpu_kernels'\n"
                           "c++: error: unrecognized command-line option '-fno-such-flag-for-rnnkit'")
    extra_ldflags.append("-ltorch")  # as torch's _prepare_ldflags does
    folder = Path(build_directory)
    baton = FileBaton(str(folder / "lock"))
    if baton.try_acquire():
        try:
            if not list(folder.glob(f"{name}*.so")):
                if os.environ.get("RNNKIT_TEST_STARTED"):
                    Path(os.environ["RNNKIT_TEST_STARTED"]).write_text(str(os.getpid()))
                time.sleep(float(os.environ.get("RNNKIT_TEST_BUILD_SLEEP", "0")))
                compile_library(folder, os.environ.get("RNNKIT_TEST_TAG", "fake"), name=name)
                if os.environ.get("RNNKIT_TEST_BUILD_LOG"):
                    with open(os.environ["RNNKIT_TEST_BUILD_LOG"], "a", encoding="utf-8") as f:
                        f.write(f"{folder} {folder.stat().st_mode & 0o777:o}\n")
        finally:
            baton.release()
    else:
        baton.wait()  # torch polls until the lock file is gone: forever, if its owner was killed
    return _import(next(iter(folder.glob(f"{name}*.so"))))


def install(monkeypatch=None) -> None:
    from torch.utils import cpp_extension

    if monkeypatch is None:
        cpp_extension.load = fake_load
    else:
        monkeypatch.setattr(cpp_extension, "load", fake_load)


if __name__ == "__main__":
    install()
    from rnnkit.kernels.cpu import build

    if os.environ.get("RNNKIT_TEST_LOCK_WAIT"):
        build.LOCK_WAIT_S = float(os.environ["RNNKIT_TEST_LOCK_WAIT"])
    try:
        module = build.load()
    except RuntimeError as e:
        print("UNAVAILABLE", e)
        sys.exit(1)
    print("LOADED", module.blas_name(), build.loaded_from)
