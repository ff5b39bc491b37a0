"""rnnkit.nn.MinGRU / MinLSTM: torch.nn.GRU's calling convention, parameter names
and row order, the scan against the step loop, and the arguments they refuse."""
import math

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit.nn as rnn

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("cls,G", [(rnn.MinGRU, 2), (rnn.MinLSTM, 3)])
def test_parameter_names_and_shapes_follow_torch_nn(cls, G):
    m = cls(3, 4, num_layers=2, bidirectional=True)
    assert {n: tuple(p.shape) for n, p in m.named_parameters()} == {
        "weight_ih_l0": (G * 4, 3), "bias_ih_l0": (G * 4,),
        "weight_ih_l0_reverse": (G * 4, 3), "bias_ih_l0_reverse": (G * 4,),
        "weight_ih_l1": (G * 4, 8), "bias_ih_l1": (G * 4,),
        "weight_ih_l1_reverse": (G * 4, 8), "bias_ih_l1_reverse": (G * 4,)}
    assert [n for n, _ in cls(3, 4, bias=False).named_parameters()] == ["weight_ih_l0"]
    # torch.nn.Linear's init: U(−1/√I, 1/√I) with I the layer's input size
    assert m.weight_ih_l1.abs().max() <= 1 / math.sqrt(8)
    assert m.weight_ih_l0.abs().max() > 1 / math.sqrt(8)  # drawn up to 1/√3 ≈ 0.58 (32 draws)


def test_mingru_rows_are_z_then_h_tilde():
    m = rnn.MinGRU(1, 1, bias=False).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.tensor([[400.0], [1.0]]))  # z = σ(100) ≈ 1: h_1 = h̃ = g(x)
    out, h = m(torch.full((1, 1, 1), 0.25, dtype=torch.float64), torch.full((1, 1, 1), 9.0,
                                                                           dtype=torch.float64))
    assert out.item() == pytest.approx(0.75, abs=1e-12)  # g(0.25) = 0.25 + 0.5


def test_minlstm_rows_are_f_then_i_then_h_tilde():
    m = rnn.MinLSTM(1, 1, bias=False).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.tensor([[math.log(3)], [0.0], [-2.0]], dtype=torch.float64))  # f' = .6, i' = .4
    out, _ = m(torch.ones(1, 1, 1, dtype=torch.float64), torch.full((1, 1, 1), 0.5,
                                                                   dtype=torch.float64))
    assert out.item() == pytest.approx(0.6 * 0.5 + 0.4 / (1 + math.exp(2)), abs=1e-12)


@pytest.mark.parametrize("cls", [rnn.MinGRU, rnn.MinLSTM])
def test_shapes_and_return_values_are_torch_nn_grus(cls):
    torch.manual_seed(0)
    m = cls(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    ref = torch.nn.GRU(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(4, 7, 3)
    (out, h), (rout, rh) = m(x), ref(x)
    assert (out.shape, h.shape) == (rout.shape, rh.shape)
    out1, h1 = m(x[0])  # unbatched
    assert out1.shape == (7, 10) and h1.shape == (4, 5)
    torch.testing.assert_close(out1, out[0], rtol=0, atol=1e-6)
    assert "kernel: scan" in m.kernel_report()


@pytest.mark.parametrize("cls", [rnn.MinGRU, rnn.MinLSTM])
def test_lengths_mask_and_packed_sequences_agree(cls):
    torch.manual_seed(1)
    m = cls(2, 3, bidirectional=True).double()
    x = torch.randn(6, 3, 2, dtype=torch.float64)
    lengths = torch.tensor([6, 2, 4])
    out_l, h_l = m(x, lengths=lengths)
    packed_out, h_p = m(pack_padded_sequence(x, lengths, enforce_sorted=False))
    torch.testing.assert_close(h_l, h_p, rtol=0, atol=1e-12)
    # each sample alone, unpadded, gives the same outputs and final states
    for b, n in enumerate(lengths.tolist()):
        o_b, h_b = m(x[:n, b:b + 1])
        torch.testing.assert_close(out_l[:n, b], o_b[:, 0], rtol=0, atol=1e-12)
        torch.testing.assert_close(h_l[:, b], h_b[:, 0], rtol=0, atol=1e-12)
        assert (out_l[n:, b] == 0).all()


@pytest.mark.parametrize("cls", [rnn.MinGRU, rnn.MinLSTM])
def test_the_scan_and_the_step_loop_agree_in_float64(cls):
    torch.manual_seed(2)
    kw = dict(num_layers=2, bidirectional=True, batch_first=True)
    scan_m, loop_m = cls(3, 4, **kw).double(), cls(3, 4, backend="reference", **kw).double()
    loop_m.load_state_dict(scan_m.state_dict())
    x = torch.randn(2, 300, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 2, 4, dtype=torch.float64)
    grads = []
    for m in (scan_m, loop_m):
        out, h = m(x, h0)
        loss = (out * torch.sin(torch.arange(out.numel(), dtype=out.dtype)).view(out.shape)).sum() \
            + h.sum()
        grads.append(torch.autograd.grad(loss, [x, *m.parameters()]))
        grads[-1] = (out, h, *grads[-1])
    for a, b in zip(*grads):
        assert (a - b).abs().max() < 1e-10


def test_stateful_carries_the_final_state():
    torch.manual_seed(3)
    m = rnn.MinGRU(2, 3, stateful=True).double()
    x = torch.randn(8, 2, 2, dtype=torch.float64)
    full, _ = rnn.MinGRU(2, 3).double().requires_grad_(False), None
    full.load_state_dict(m.state_dict())
    want, _ = full(x)
    a, _ = m(x[:5])
    b, _ = m(x[5:])
    torch.testing.assert_close(torch.cat([a, b]), want, rtol=0, atol=1e-12)


def test_arguments_they_do_not_have_are_refused():
    with pytest.raises(TypeError):
        rnn.MinGRU(3, 4, proj_size=2)
    with pytest.raises(TypeError):
        rnn.MinLSTM(3, 4, recurrent_dropout=0.1)
    with pytest.raises(ValueError, match="`hidden_size` must be a positive integer, got 0"):
        rnn.MinGRU(3, 0)
    with pytest.raises(ValueError, match=r"`dropout` must be in \[0, 1\)"):
        rnn.MinLSTM(3, 4, dropout=1.0)
