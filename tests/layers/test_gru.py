"""rnnkit.layers.GRU: Keras's z, r, h weights, torch.nn's numbers, both reset placements."""
import numpy as np
import pytest
import torch
from torch.autograd import gradcheck
from torch.func import functional_call

import rnnkit.layers as L
import rnnkit.nn as rnn


def test_count_params_hand_computed():
    for I, u in [(1, 8), (5, 3)]:
        for reset_after, per_gate_bias in [(True, 2 * u), (False, u)]:
            g = L.GRU(u, reset_after=reset_after)
            g.maybe_build((7, I))
            assert g.count_params() == 3 * (I * u + u * u + per_gate_bias)
    g = L.GRU(4, use_bias=False)
    g.maybe_build((7, 2))
    assert g.count_params() == 3 * (2 * 4 + 16)


def _zrh_to_rzn(a, u):
    """Keras's z|r|h blocks on the last axis -> torch's r|z|n."""
    return np.concatenate([a[..., u:2 * u], a[..., :u], a[..., 2 * u:]], axis=-1)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("backend", ["reference", "auto"])
def test_matches_core_engine_with_hand_mapped_weights(reset_after, backend):
    I, u, B, T = 3, 4, 2, 6
    rng = np.random.default_rng(0)
    kernel = rng.normal(scale=0.4, size=(I, 3 * u))
    rec = rng.normal(scale=0.4, size=(u, 3 * u))
    bias = rng.normal(scale=0.4, size=(2, 3 * u) if reset_after else (3 * u,))
    ours = L.GRU(u, return_sequences=True, return_state=True, reset_after=reset_after,
                 backend=backend)
    ours.maybe_build((T, I))
    ours.double()
    ours.set_weights([kernel, rec, bias])
    b_ih, b_hh = (bias[0], bias[1]) if reset_after else (bias, np.zeros(3 * u))
    sd = {"weight_ih_l0": _zrh_to_rzn(kernel, u).T, "weight_hh_l0": _zrh_to_rzn(rec, u).T,
          "bias_ih_l0": _zrh_to_rzn(b_ih, u), "bias_hh_l0": _zrh_to_rzn(b_hh, u)}
    sd = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}
    if reset_after:  # torch.nn.GRU is the reset-after GRU
        ref = torch.nn.GRU(I, u, batch_first=True).double()
    else:
        ref = rnn.GRU(I, u, batch_first=True, reset_after=False).double()
    ref.load_state_dict(sd)
    x = torch.randn(B, T, I, dtype=torch.float64)
    h0 = torch.randn(B, u, dtype=torch.float64)
    seq, h = ours(x, initial_state=h0)
    want, hn = ref(x, h0[None])
    torch.testing.assert_close(seq, want, atol=1e-6, rtol=0)
    torch.testing.assert_close(h, hn[0], atol=1e-6, rtol=0)


def test_gradcheck_with_mask():
    torch.manual_seed(0)
    gru = L.GRU(2, reset_after=False)  # reset-before runs on the reference loop
    gru.maybe_build((4, 2))
    gru.double()
    mask = torch.tensor([[0, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    names = [n for n, _ in gru.named_parameters()]

    def f(x, *params):
        return functional_call(gru, dict(zip(names, params)), (x,), {"mask": mask})

    x = torch.randn(2, 4, 2, dtype=torch.float64, requires_grad=True)
    params = [p.detach().clone().requires_grad_(True) for p in gru.parameters()]
    assert gradcheck(f, (x, *params), eps=1e-6, atol=1e-5)


def test_masking_then_gru_equals_each_sequence_unpadded():
    torch.manual_seed(2)
    lengths = [5, 2, 3]
    seqs = [torch.randn(n, 2) + 3.0 for n in lengths]  # never all zero: no accidental padding
    x = torch.zeros(3, 5, 2)
    for b, s in enumerate(seqs):
        x[b, 5 - len(s):] = s  # left padding with zeros
    masking, gru = L.Masking(0.0), L.GRU(4, return_sequences=True)
    mask = masking.compute_mask(x, None)
    assert mask.tolist() == [[True] * 5, [False] * 3 + [True] * 2, [False] * 2 + [True] * 3]
    out = gru(masking(x), mask=mask)
    for b, s in enumerate(seqs):
        alone = gru(s[None])[0]  # (len, u)
        torch.testing.assert_close(out[b, 5 - len(s):], alone, atol=1e-6, rtol=0)
        assert not out[b, :5 - len(s)].any()  # Keras: zeros before the first valid step
