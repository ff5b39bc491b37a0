"""The conv fast path on CUDA against the CPU reference in float64 (skipped without CUDA)."""
import pytest
import torch

from rnnkit.kernels import registry
from tests.kernels.test_conv_recurrent import CASES, HOLES, _setup

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.mark.parametrize("case", ["lstm", "lstm-peephole-ln", "gru-reset-before-ln",
                                  "lstm-bidirectional-2-layers", "lstm-valid-strided"])
def test_cuda_fast_path_matches_the_cpu_reference(case):
    spec, weights, x, hx = _setup(**CASES[case])
    cuda = torch.device("cuda")
    wc = [{k: v.detach().to(cuda).requires_grad_() for k, v in w.items()} for w in weights]
    xc = x.detach().to(cuda).requires_grad_()
    hc = tuple(h.detach().to(cuda).requires_grad_() for h in hx)
    o1, s1, _ = registry.run_conv(spec, weights, x, hx, HOLES, backend="reference")
    o2, s2, choice = registry.run_conv(spec, wc, xc, hc, HOLES.to(cuda))
    assert choice.kernel == "conv"
    torch.testing.assert_close(o2.cpu(), o1, rtol=1e-9, atol=1e-10)
    for a, b in zip(s2, s1):
        torch.testing.assert_close(a.cpu(), b, rtol=1e-9, atol=1e-10)
    g1 = torch.autograd.grad(o1.sum() + s1[0].sum(), [x, *weights[0].values()])
    g2 = torch.autograd.grad(o2.sum() + s2[0].sum(), [xc, *wc[0].values()])
    for a, b in zip(g2, g1):
        torch.testing.assert_close(a.cpu(), b, rtol=1e-8, atol=1e-9)
