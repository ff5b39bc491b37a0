"""kernels/conv_buffers.py: the buffer pool of the conv-cpu kernel (the recurrent
convolution and the native ops it holds are tested through tests/kernels/test_conv_fused.py)."""
import pytest
import torch
from _support import sibling

from rnnkit.kernels import conv_buffers, conv_fused, registry
from rnnkit.kernels.cpu import build


def _sibling(name):
    return sibling(__file__, name)


_setup = _sibling("test_conv_recurrent")._setup

# Skipped only where the kernel can't be built here; with a toolchain a failed build fails.
pytestmark = pytest.mark.skipif(build.why_no_toolchain() is not None,
                                reason=f"native kernel unavailable: {build.why_no_toolchain()}")


def test_the_buffer_pool_never_hands_out_a_live_buffer(monkeypatch):
    """Every buffer pooled (MIN_BYTES = 0): outputs, and tensors saved for a backward that
    may run again (retain_graph), survive later calls of the kernel."""
    monkeypatch.setattr(conv_buffers.POOL, "MIN_BYTES", 0)
    monkeypatch.setattr(conv_buffers.POOL, "items", {})
    spec, weights, x, hx = _setup()
    out1, state1, _ = registry.run_conv(spec, weights, x, hx, backend="conv-cpu")
    kept = out1.detach().clone(), state1[1].detach().clone()
    loss1 = out1.square().sum()
    g1 = torch.autograd.grad(loss1, [x, weights[0]["weight_hh"]], retain_graph=True)
    for _ in range(2):  # other calls, forward and backward, in between
        out2, _, _ = registry.run_conv(spec, weights, x * 0.5, hx, backend="conv-cpu")
        out2.sum().backward()
    assert float((out2 - out1).detach().abs().max()) > 1e-3
    torch.testing.assert_close(out1.detach(), kept[0], rtol=0, atol=0)
    torch.testing.assert_close(state1[1].detach(), kept[1], rtol=0, atol=0)
    g1_again = torch.autograd.grad(loss1, [x, weights[0]["weight_hh"]])
    for a, b in zip(g1_again, g1):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert any(len(v) > 0 for v in conv_buffers.POOL.items.values())  # the pool was used
    conv_fused.release_buffers()
    assert conv_buffers.POOL.items == {} and conv_buffers.POOL.bytes == 0
