"""ConvGRU cell: both reset placements by hand with constant weights, and float64
gradcheck of every option."""
import math

import pytest
import torch
from torch.autograd import gradcheck

from rnnkit.cells.conv_base import conv_param_shapes
from rnnkit.cells.conv_gru import conv_gru_step

CONV1 = dict(stride=(1,), padding="same", dilation=(1,))


def _sig(a):
    return 1.0 / (1.0 + math.exp(-a))


@pytest.mark.parametrize("reset_after", [True, False])
def test_one_step_by_hand_with_constant_weights(reset_after):
    # 1x1 kernels: x = 1, h = 0.5 at one position; W_x = 0.2, W_h = 0.4, b_x = 0.1, b_h = -0.1.
    w = {"weight_ih": torch.full((3, 1, 1), 0.2), "weight_hh": torch.full((3, 1, 1), 0.4),
         "bias_ih": torch.full((3,), 0.1), "bias_hh": torch.full((3,), -0.1)}
    h0 = 0.5
    h = conv_gru_step(torch.ones(1, 1, 1), torch.full((1, 1, 1), h0), w, reset_after=reset_after,
                      **CONV1)
    r = _sig(0.2 + 0.1 + 0.4 * h0 - 0.1)
    z = r  # the same pre-activation
    if reset_after:
        n = math.tanh(0.2 + 0.1 + r * (0.4 * h0 - 0.1))
    else:
        n = math.tanh(0.2 + 0.1 + 0.4 * (r * h0) - 0.1)
    want = z * h0 + (1 - z) * n
    assert abs(float(h) - want) < 1e-7


def test_the_two_placements_differ_when_the_recurrent_bias_is_not_zero():
    w = {"weight_ih": torch.full((3, 1, 1), 0.2), "weight_hh": torch.full((3, 1, 1), 0.4),
         "bias_ih": torch.zeros(3), "bias_hh": torch.full((3,), 0.3)}
    args = (torch.ones(1, 1, 1), torch.full((1, 1, 1), 0.5), w)
    a = conv_gru_step(*args, reset_after=True, **CONV1)
    b = conv_gru_step(*args, reset_after=False, **CONV1)
    assert float((a - b).abs()) > 1e-3


@pytest.mark.parametrize("opts", [{"reset_after": True}, {"reset_after": False},
                                  {"reset_after": True, "layer_norm": True},
                                  {"reset_after": False, "layer_norm": True},
                                  {"reset_after": False, "masks": True}])
def test_gradcheck_float64(opts):
    C, F, S = 1, 2, (4,)
    layer_norm = opts.get("layer_norm", False)
    shapes = conv_param_shapes("conv_gru", C, F, (3,), layer_norm=layer_norm, bias_hh=True)
    g = torch.Generator().manual_seed(0)
    w = {k: (torch.randn(s, generator=g, dtype=torch.float64) * 0.4).requires_grad_()
         for k, s in shapes.items()}
    names = sorted(w)
    x = torch.randn(2, C, *S, generator=g, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, F, *S, generator=g, dtype=torch.float64, requires_grad=True)
    hm = None
    if opts.get("masks"):
        hm = [torch.bernoulli(torch.full((2, F, *S), 0.7, dtype=torch.float64), generator=g) / 0.7
              for _ in range(3)]

    def f(x, h, *ws):
        return conv_gru_step(x, h, dict(zip(names, ws)), reset_after=opts["reset_after"],
                             layer_norm=layer_norm, h_masks=hm, **CONV1)

    assert gradcheck(f, (x, h, *[w[n] for n in names]), eps=1e-6, atol=1e-5)
