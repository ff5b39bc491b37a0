"""ConvLSTM cell: one step by hand with constant weights, and float64 gradcheck
of every option (peephole, layer norm, dropout masks)."""
import math

import pytest
import torch
from torch.autograd import gradcheck

from rnnkit.cells.conv_base import conv_param_shapes
from rnnkit.cells.conv_lstm import conv_lstm_step

CONV1 = dict(stride=(1,), padding="same", dilation=(1,))


def _sig(a):
    return 1.0 / (1.0 + math.exp(-a))


def test_one_step_by_hand_with_constant_weights():
    # C = F = 1, kernel 3, every weight 0.1, biases 0, x = 1 everywhere on 4 positions,
    # h = c = 0: "same" zero padding makes the input convolution 0.2 at both ends
    # (two taps on the map) and 0.3 inside (three taps); every gate sees the same a.
    w = {"weight_ih": torch.full((4, 1, 3), 0.1), "weight_hh": torch.full((4, 1, 3), 0.1),
         "bias_ih": torch.zeros(4)}
    x = torch.ones(1, 1, 4)
    h, c = conv_lstm_step(x, torch.zeros(1, 1, 4), torch.zeros(1, 1, 4), w, **CONV1)
    want_c, want_h = [], []
    for a in (0.2, 0.3, 0.3, 0.2):
        cc = _sig(a) * math.tanh(a)  # f·0 + i·g
        want_c.append(cc)
        want_h.append(_sig(a) * math.tanh(cc))
    torch.testing.assert_close(c[0, 0], torch.tensor(want_c), atol=1e-7, rtol=0)
    torch.testing.assert_close(h[0, 0], torch.tensor(want_h), atol=1e-7, rtol=0)


def test_one_step_by_hand_with_peepholes_and_a_state():
    # 1x1 kernel, x = 1, h = 0, c = 2; kernels 0.5 and biases 0 give every gate a = 0.5;
    # peepholes w_ci = 0.1, w_cf = 0.2 read c_{t-1}, w_co = 0.3 reads c_t.
    w = {"weight_ih": torch.full((4, 1, 1), 0.5), "weight_hh": torch.full((4, 1, 1), 0.5),
         "weight_ci": torch.full((1, 2), 0.1), "weight_cf": torch.full((1, 2), 0.2),
         "weight_co": torch.full((1, 2), 0.3)}
    h, c = conv_lstm_step(torch.ones(1, 1, 2), torch.zeros(1, 1, 2), torch.full((1, 1, 2), 2.0),
                          w, peephole=True, **CONV1)
    i, f, g = _sig(0.5 + 0.2), _sig(0.5 + 0.4), math.tanh(0.5)
    want_c = f * 2.0 + i * g
    want_h = _sig(0.5 + 0.3 * want_c) * math.tanh(want_c)
    torch.testing.assert_close(c, torch.full((1, 1, 2), want_c), atol=1e-6, rtol=0)
    torch.testing.assert_close(h, torch.full((1, 1, 2), want_h), atol=1e-6, rtol=0)


def test_layer_norm_of_a_constant_map_leaves_only_the_biases():
    # LN of a map whose convolution is constant is 0, so with LN every gate is σ/tanh
    # of its bias alone: here b = 0 gives i = f = o = 1/2, g = 0, c_t = c/2.
    shapes = conv_param_shapes("conv_lstm", 1, 1, (1,), layer_norm=True)
    w = {k: torch.ones(s) for k, s in shapes.items()}
    w["bias_ih"] = torch.zeros(4)
    w["ln_c_bias"] = torch.zeros(1)
    h, c = conv_lstm_step(torch.ones(1, 1, 3), torch.ones(1, 1, 3), torch.tensor([[[1., 2, 3]]]),
                          w, layer_norm=True, **CONV1)
    torch.testing.assert_close(c, torch.tensor([[[0.5, 1.0, 1.5]]]))
    ln_c = (c - c.mean()) / torch.sqrt(c.var(unbiased=False) + 1e-5)
    torch.testing.assert_close(h, 0.5 * torch.tanh(ln_c))


def _weights(shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {k: (torch.randn(s, generator=g, dtype=torch.float64) * 0.4).requires_grad_()
            for k, s in shapes.items()}


@pytest.mark.parametrize("opts", [{}, {"peephole": True}, {"layer_norm": True},
                                  {"peephole": True, "layer_norm": True}, {"masks": True}])
def test_gradcheck_float64(opts):
    rank, C, F, S = 2, 2, 2, (4, 3)
    peephole, layer_norm = opts.get("peephole", False), opts.get("layer_norm", False)
    shapes = conv_param_shapes("conv_lstm", C, F, (3, 2), peephole=peephole, state_size=S,
                               layer_norm=layer_norm, bias_hh=True)
    w = _weights(shapes)
    names = sorted(w)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, C, *S, generator=g, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, F, *S, generator=g, dtype=torch.float64, requires_grad=True)
    c = torch.randn(2, F, *S, generator=g, dtype=torch.float64, requires_grad=True)
    xm = hm = None
    if opts.get("masks"):
        xm = [torch.bernoulli(torch.full((2, C, *S), 0.7, dtype=torch.float64), generator=g) / 0.7
              for _ in range(4)]
        hm = [torch.bernoulli(torch.full((2, F, *S), 0.7, dtype=torch.float64), generator=g) / 0.7
              for _ in range(4)]

    def f(x, h, c, *ws):
        return conv_lstm_step(x, h, c, dict(zip(names, ws)), stride=(1, 1), padding="same",
                              dilation=(1, 1), peephole=peephole, layer_norm=layer_norm,
                              x_masks=xm, h_masks=hm)

    assert gradcheck(f, (x, h, c, *[w[n] for n in names]), eps=1e-6, atol=1e-5)
