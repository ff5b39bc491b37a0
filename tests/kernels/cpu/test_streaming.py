"""rnnkit.kernels.cpu.streaming: single native steps equal torch.nn's cells
(outputs, and gradients through the one-step BPTT when autograd is on)."""
import pytest
import torch

from rnnkit.cells.gru import gru_step
from rnnkit.kernels.cpu import calls, streaming

B, I, H = 3, 4, 5


def _cell(cls, dtype, i=I, h=H, **kw):
    torch.manual_seed(0)
    return cls(i, h, dtype=dtype, **kw)


# B of 1 and 2 take the AVX-512 dot products (csrc/blas.cpp, gemm_rows_nt) where the CPU
# has them, B = 3 the BLAS; (19, 37): rows beyond the 8-row blocks, inputs beyond the
# 16-lane chunks.
@pytest.mark.parametrize("batch,i,h", [(3, I, H), (1, I, H), (2, 19, 37), (1, 19, 37)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
def test_step_matches_torch_cells(core, kind, dtype, bias, batch, i, h):
    cls, kw = {"lstm": (torch.nn.LSTMCell, {}), "gru": (torch.nn.GRUCell, {}),
               "rnn_tanh": (torch.nn.RNNCell, {}),
               "rnn_relu": (torch.nn.RNNCell, {"nonlinearity": "relu"})}[kind]
    m = _cell(cls, dtype, i, h, bias=bias, **kw)
    x = torch.randn(batch, 2 * i, dtype=dtype)[:, ::2]  # strided, as x[:, t] of a sequence
    c = torch.randn(batch, h, dtype=dtype)
    h = torch.randn(batch, h, dtype=dtype)
    b = (m.bias_ih, m.bias_hh) if bias else (None, None)
    key = (kind, "step")
    before = calls[key]
    with torch.no_grad():
        if kind == "lstm":
            mine, ref = streaming.lstm_cell(x, h, c, m.weight_ih, m.weight_hh, *b), m(x, (h, c))
        elif kind == "gru":
            mine, ref = streaming.gru_cell(x, h, m.weight_ih, m.weight_hh, *b), m(x, h)
        else:
            mine = streaming.rnn_cell(x, h, m.weight_ih, m.weight_hh, *b,
                                      nonlinearity=kind.split("_")[1])
            ref = m(x, h)
    assert calls[key] == before + 1  # the native step ran, not a fallback
    assert core.max_abs_diff(mine, ref) <= core.TOL[dtype]


@pytest.mark.parametrize("batch,i,h,dtype", [(3, I, H, torch.float64), (1, 19, 37, torch.float64),
                                             (1, 19, 37, torch.float32)])
def test_gru_reset_before_step_matches_the_cell_equations(core, batch, i, h, dtype):
    m = _cell(torch.nn.GRUCell, dtype, i, h)
    x, h = torch.randn(batch, i, dtype=dtype), torch.randn(batch, h, dtype=dtype)
    with torch.no_grad():
        mine = streaming.gru_cell(x, h, m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh,
                                  reset_after=False)
        ref = gru_step(x, h, dict(m.named_parameters()), reset_after=False)
    assert core.max_abs_diff(mine, ref) <= (1e-12 if dtype == torch.float64 else core.TOL[dtype])


def test_step_with_autograd_matches_torch_gradients(core):
    m = _cell(torch.nn.LSTMCell, torch.float64)
    x = torch.randn(B, I, dtype=torch.float64, requires_grad=True)
    h = torch.randn(B, H, dtype=torch.float64, requires_grad=True)
    c = torch.randn(B, H, dtype=torch.float64, requires_grad=True)
    leaves = [x, h, c, *m.parameters()]
    mine = streaming.lstm_cell(x, h, c, m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh)
    ref = m(x, (h, c))
    assert core.max_abs_diff(core.grads(mine, leaves), core.grads(ref, leaves)) <= 1e-10


def test_bad_shapes_raise_with_the_argument_name():
    w_ih, w_hh = torch.randn(4 * H, I), torch.randn(4 * H, H)
    with pytest.raises(ValueError, match="`h` must have shape"):
        with torch.no_grad():
            streaming.lstm_cell(torch.randn(B, I), torch.randn(B, H + 1), torch.randn(B, H),
                                w_ih, w_hh)
    with pytest.raises(ValueError, match="nonlinearity"):
        streaming.rnn_cell(torch.randn(B, I), torch.randn(B, H), w_ih[:H], w_hh[:H],
                           nonlinearity="gelu")
