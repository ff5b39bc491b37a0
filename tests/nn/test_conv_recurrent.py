"""rnnkit.nn.ConvLSTM / ConvGRU: torch.nn.LSTM / GRU parity on 1x1 maps, masks,
batch order, bidirectional stacks, and bad input."""
import pytest
import torch

import rnnkit.nn as rnn


@pytest.mark.parametrize("bidirectional", [False, True])
def test_one_by_one_maps_and_kernels_are_torch_nn_lstm(bidirectional):
    # A 1x1 convolution on a 1x1 map is a matrix product, so a ConvLSTM with
    # torch.nn.LSTM's weights is torch.nn.LSTM: outputs, states and gradients.
    torch.manual_seed(0)
    ref = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=bidirectional, dtype=torch.float64)
    ours = rnn.ConvLSTM(3, 4, 1, num_layers=2, bidirectional=bidirectional, dtype=torch.float64)
    with torch.no_grad():
        for name, p in ours.named_parameters():
            q = getattr(ref, name)
            p.copy_(q.view(p.shape))
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    want, (wh, wc) = ref(x)
    got, (h, c) = ours(x.view(5, 2, 3, 1, 1))
    torch.testing.assert_close(got.view(want.shape), want)
    torch.testing.assert_close(h.view(wh.shape), wh)
    torch.testing.assert_close(c.view(wc.shape), wc)
    g1 = torch.autograd.grad(want.sum() + wc.sum(), [x, ref.weight_hh_l1])
    g2 = torch.autograd.grad(got.sum() + c.sum(), [x, ours.weight_hh_l1])
    torch.testing.assert_close(g2[0], g1[0])
    torch.testing.assert_close(g2[1].view(g1[1].shape), g1[1])


def test_one_by_one_convgru_is_torch_nn_gru():
    torch.manual_seed(0)
    ref = torch.nn.GRU(3, 4, batch_first=True, dtype=torch.float64)
    ours = rnn.ConvGRU(3, 4, 1, batch_first=True, dims=1, dtype=torch.float64)
    with torch.no_grad():
        for name, p in ours.named_parameters():
            p.copy_(getattr(ref, name).view(p.shape))
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    want, wh = ref(x)
    got, h = ours(x.unsqueeze(-1))
    torch.testing.assert_close(got.squeeze(-1), want)
    torch.testing.assert_close(h.squeeze(-1), wh)


def test_batch_first_and_time_first_agree_and_lengths_equal_masks():
    torch.manual_seed(0)
    m = rnn.ConvLSTM(1, 3, 3, batch_first=True)
    x = torch.randn(2, 5, 1, 6, 6)
    a, (ha, _) = m(x, lengths=torch.tensor([5, 3]))
    b, (hb, _) = m(x, mask=torch.tensor([[True] * 5, [True] * 3 + [False] * 2]))
    torch.testing.assert_close(a, b)
    m.batch_first = False
    c, (hc, _) = m(x.transpose(0, 1), lengths=torch.tensor([5, 3]))
    torch.testing.assert_close(c.transpose(0, 1), a)
    # The final state of the short sample is its state after its 3 valid steps.
    _, (h3, _) = m(x[1:, :3].transpose(0, 1))
    torch.testing.assert_close(hb[:, 1:], h3)
    assert float(a.detach()[1, 3:].abs().max()) == 0.0


def test_reverse_direction_reads_each_sample_backwards_over_its_valid_steps():
    torch.manual_seed(0)
    m = rnn.ConvGRU(1, 2, 3, batch_first=True, bidirectional=True, reset_after=False)
    x = torch.randn(1, 5, 1, 4, 4)
    out, h = m(x, lengths=torch.tensor([3]))
    fwd_only = rnn.ConvGRU(1, 2, 3, batch_first=True, reset_after=False)
    with torch.no_grad():
        for name, p in fwd_only.named_parameters():
            p.copy_(getattr(m, name + "_reverse"))
    rev, hr = fwd_only(x[:, :3].flip(1))
    torch.testing.assert_close(out[:, :3, 2:], rev.flip(1))
    torch.testing.assert_close(h[1], hr[0])


def test_peephole_and_layer_norm_run_and_report_the_kernel():
    m = rnn.ConvLSTM(2, 3, (3, 3), batch_first=True, peephole=True, state_size=(4, 5),
                     layer_norm=True)
    assert m.weight_ci_l0.shape == (3, 4, 5)
    out, (h, c) = m(torch.randn(2, 3, 2, 4, 5))
    assert out.shape == (2, 3, 3, 4, 5) and "kernel: conv" in m.kernel_report()
    m2 = rnn.ConvLSTM(2, 3, 3, backend="reference")
    m2(torch.randn(3, 2, 2, 4, 5))
    assert "kernel: reference" in m2.kernel_report()


@pytest.mark.parametrize("kwargs,inp,match", [
    ({}, torch.zeros(2, 3, 1, 8), "must be 5-D"),
    ({}, torch.zeros(2, 3, 2, 8, 8), "2 channels .* in_channels=1"),
    ({"padding": "valid"}, None, "padding"),
    ({"kernel_size": (3, 3, 3)}, None, "kernel_size.* 2 value"),
    ({"dims": 4}, None, "rank"),
    ({"peephole": True}, None, "state_size"),
    ({"backend": "magic"}, None, "backend"),
])
def test_bad_input_names_the_argument(kwargs, inp, match):
    args = dict(in_channels=1, hidden_channels=2, kernel_size=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        m = rnn.ConvLSTM(**args)
        m(inp)
