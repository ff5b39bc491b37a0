"""The raw Triton kernels, launched on NaN-filled buffers longer than their outputs:
every output element is written (no NaN left inside) and nothing past the end
(the masked tail of the last block stays NaN). Runs in Triton's interpreter."""
import pytest
import torch

pytest.importorskip("triton", reason="triton is not installed (pip install -e '.[gpu]')")

from rnnkit.kernels import triton_conv as tc  # noqa: E402

B, F, S = 2, 3, (5, 7)  # n = 210 elements per state tensor, not a multiple of the block
N = F * S[0] * S[1]
n = B * N
PAD = 37


def _nan(size):
    return torch.full((size + PAD,), float("nan"), dtype=torch.float64)


def _g(k):  # a gate tensor (B, kF, *S) with each sample's block contiguous
    return torch.randn(B, k * F, *S, dtype=torch.float64)


CASES = {  # kernel -> (inputs, output sizes, extra flags)
    "lstm_fwd": (lambda: [_g(4), _g(1)], [n, n], (4 * N, N), ()),
    "lstm_bwd": (lambda: [_g(4), _g(1), _g(1).flatten(), _g(1).flatten()], [4 * n, n],
                 (4 * N, N), ()),
    "gru_fwd": (lambda: [_g(3), _g(3), _g(1)], [n], (3 * N, 3 * N, N), (True,)),
    "gru_bwd": (lambda: [_g(3), _g(3), _g(1), _g(1).flatten()], [3 * n, 3 * n, n],
                (3 * N, 3 * N, N), (False,)),
    "gru_reset_fwd": (lambda: [_g(1), _g(1), _g(1)], [n], (N, N, N), ()),
    "gru_reset_bwd": (lambda: [_g(1), _g(1), _g(1), _g(1).flatten()], [n, n], (N, N, N), ()),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_kernel_writes_exactly_its_outputs(name, monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    make_inputs, sizes, strides, flags = CASES[name]
    torch.manual_seed(0)
    outs = [_nan(size) for size in sizes]
    tc._launch(name, (*make_inputs(), *outs), N, *strides, *flags)
    for out, size in zip(outs, sizes):
        assert not out[:size].isnan().any(), f"{name} left unwritten elements"
        assert out[size:].isnan().all(), f"{name} wrote past its output"
