"""Under autocast the recurrence runs in float32 and the kernel report says so."""
import torch

import rnnkit.nn as rnn
from rnnkit.kernels import precision, registry


def test_outside_autocast_nothing_changes():
    calls = []

    def runner(spec, weights, x, hx, mask=None, **kw):
        calls.append((x.dtype, torch.is_autocast_enabled("cpu")))
        return x, hx, registry.Choice("k", "auto")

    out, _, choice = precision.float32_recurrence(runner)(None, [], torch.ones(2), (torch.ones(1),))
    assert calls == [(torch.float32, False)] and choice.notes == ()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _, _, choice = precision.float32_recurrence(runner)(
            None, [], torch.ones(2, dtype=torch.bfloat16), (torch.ones(1),))
    # inside: autocast off, the input cast up, the choice annotated
    assert calls[-1] == (torch.float32, False)
    assert "computes and accumulates the recurrence in float32" in str(choice)
    assert precision.autocast_dtype(torch.device("cpu")) is None


def test_nn_module_takes_an_autocast_input_and_matches_float32():
    torch.manual_seed(0)
    m = rnn.GRU(3, 5)
    x = torch.randn(20, 2, 3)
    ref, h_ref = m(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low_in = torch.nn.functional.linear(x, torch.eye(3))  # bfloat16 under autocast
        assert low_in.dtype == torch.bfloat16
        out, h = m(low_in)
    assert "note: mixed precision" in m.kernel_report()
    assert out.dtype == torch.float32
    # the only difference is the input's bfloat16 rounding (8 bits: 2^-8 relative)
    torch.testing.assert_close(out, m(low_in.float())[0], rtol=0, atol=0)
    assert float((out - ref).detach().abs().max()) < 2e-2
