"""The native kernel tests: skip cleanly without a compiler, and run every
test with the kernel's NaN poisoning on, so that reads of memory the kernel
allocated but never wrote show up as NaN in the compared results."""
import pytest

from rnnkit.kernels.cpu import build


@pytest.fixture(autouse=True)
def native(one_thread):
    reason = build.why_unavailable()  # compiles once per machine, then loads the cached build
    if reason is not None:
        pytest.skip(f"the native CPU kernel is unavailable: {reason}")
    build.set_poison(True)
    yield build.load()
    build.set_poison(False)
