"""The native kernel tests: skip cleanly without a compiler, and run every
test with the kernel's NaN poisoning on, so that reads of memory the kernel
allocated but never wrote show up as NaN in the compared results.

Every test runs twice: as one call over the whole batch, and with the batch cut
into 3 slices (binding.cpp runs slices on torch's threads when the work is big
enough; here they run one after the other on one thread, which checks the
slicing itself: row offsets, the time stride, the summed layer-norm grads)."""
import pytest

from rnnkit.kernels.cpu import build


@pytest.fixture(autouse=True, params=[0, 3], ids=["whole-batch", "3-slices"])
def native(request, one_thread):
    reason = build.why_unavailable()  # compiles once per machine, then loads the cached build
    if reason is not None:
        pytest.skip(f"the native CPU kernel is unavailable: {reason}")
    build.set_poison(True)
    build.set_batch_slices(request.param)
    yield build.load()
    build.set_batch_slices(0)
    build.set_poison(False)
