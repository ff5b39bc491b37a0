"""The native kernel tests: skip cleanly without a compiler (fail where a compiler and
ninja are found but the build fails: a broken source must not pass as skips), and run every
test with the kernel's NaN poisoning on, so that reads of memory the kernel
allocated but never wrote show up as NaN in the compared results.

Every test runs twice: as one call over the whole batch, and with the batch cut
into 3 slices (binding.cpp runs slices on torch's threads when the work is big
enough; here they run one after the other on one thread, which checks the
slicing itself: row offsets, the time stride, the summed layer-norm grads)."""
import importlib.util
from pathlib import Path

import pytest

from rnnkit.kernels.cpu import build

FAKE_EXTENSION = Path(__file__).with_name("_fake_extension.py")


@pytest.fixture(autouse=True, params=[0, 3], ids=["whole-batch", "3-slices"])
def native(request, one_thread):
    reason = build.why_unavailable()  # compiles once per machine, then loads the cached build
    if reason is not None and build.why_no_toolchain() is None:
        # a compiler and ninja are here, so a failed build is a defect (a broken C++ source):
        # fail, not skip, or the suite would pass with every native test skipped
        pytest.fail(f"the native CPU kernel failed to build with a toolchain present: {reason}")
    if reason is not None:
        pytest.skip(f"the native CPU kernel is unavailable: {reason}")
    build.set_poison(True)
    build.set_batch_slices(request.param)
    yield build.load()
    build.set_batch_slices(0)
    build.set_poison(False)


@pytest.fixture(scope="session")
def fake_ext():
    """_fake_extension.py: a stand-in extension that builds in a fraction of a second."""
    spec = importlib.util.spec_from_file_location("_rnnkit_fake_extension", FAKE_EXTENSION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fresh_build(monkeypatch, tmp_path, fake_ext):
    """Forget the loaded kernel (restored afterwards), use a temporary RNNKIT_CACHE_DIR and the
    fake compile step. Returns the build log's path (one line per build: folder, mode)."""
    for name in ("_module", "_error", "openmp", "loaded_from", "build_seconds", "built"):
        monkeypatch.setattr(build, name, None)
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RNNKIT_CPU_KERNEL", raising=False)
    fake_ext.install(monkeypatch)
    log = tmp_path / "builds.log"
    monkeypatch.setenv("RNNKIT_TEST_BUILD_LOG", str(log))
    return log
