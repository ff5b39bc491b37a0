"""The "scan" kernel (rnnkit.kernels.scan) against the reference loop over the
minGRU/minLSTM step: outputs, final states and every gradient in float64 to
1e-10, with masks (NaN-poisoned padding), stacking, both directions, merge
modes, go_backwards and seeded dropout; and what its why_not refuses."""
import math

import pytest
import torch
from torch.autograd import gradcheck

from rnnkit.kernels import registry, scan
from rnnkit.kernels.spec import RecurrentSpec

pytestmark = pytest.mark.usefixtures("one_thread")
T, B, I = 9, 3, 2
MODES = ("mingru", "minlstm")


def _x(T=T, dtype=torch.float64, mask=None):
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(5), dtype=dtype)
    if mask is not None:
        x = torch.where(mask.unsqueeze(-1), x, torch.full((), math.nan, dtype=dtype))
    return x.requires_grad_(True)


def _mask(T=T):
    m = torch.ones(T, B, dtype=torch.bool)
    m[T - 3:, 0] = False  # right padding
    m[:2, 1] = False      # left padding
    m[::2, 2] = False     # holes
    return m


def _run(core, spec, backend, mask, training=False, seed=None):
    ws, hx = core.spec_weights(spec, scale=1.0), core.spec_state(spec, B)
    x = _x(mask=mask)
    gen = None if seed is None else torch.Generator().manual_seed(seed)
    out, st, choice = registry.run(spec, ws, x, hx, mask, training=training, backend=backend,
                                   generator=gen)
    leaves = [x, *hx, *(t for w in ws for t in w.values())]
    return (out, st), core.grads((out, st), leaves), choice


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kw", [
    {}, {"num_layers": 2}, {"bidirectional": True}, {"bias": False},
    {"num_layers": 2, "bidirectional": True, "merge_mode": "ave"},
    {"bidirectional": True, "merge_mode": "mul", "go_backwards": True},
], ids=lambda kw: "+".join(f"{k}={v}" for k, v in kw.items()) or "plain")
@pytest.mark.parametrize("masked", [False, True])
def test_scan_equals_the_reference_on_outputs_states_and_all_gradients(core, mode, kw, masked):
    spec = RecurrentSpec(mode, I, 4, **kw)
    mask = _mask() if masked else None
    (o1, g1, c1), (o2, g2, c2) = (_run(core, spec, "scan", mask),
                                  _run(core, spec, "reference", mask))
    assert (c1.kernel, c2.kernel) == ("scan", "reference")
    assert core.max_abs_diff(o1, o2) < 1e-10
    assert all(torch.isfinite(g).all() for g in g1)  # NaN padding never reaches a gradient
    assert core.max_abs_diff(g1, g2) < 1e-10


@pytest.mark.parametrize("mode", MODES)
def test_seeded_dropout_masks_are_the_references(core, mode):
    spec = RecurrentSpec(mode, I, 4, num_layers=2, bidirectional=True, dropout=0.3,
                         input_dropout=0.4)
    (o1, g1, _), (o2, g2, _) = (_run(core, spec, "scan", _mask(), True, seed=3),
                                _run(core, spec, "reference", _mask(), True, seed=3))
    assert core.max_abs_diff(o1, o2) < 1e-10 and core.max_abs_diff(g1, g2) < 1e-10
    (o3, _, _) = _run(core, spec, "scan", _mask(), True, seed=4)
    assert core.max_abs_diff(o1, o3) > 1e-3  # another seed, other masks: the masks are used


def test_auto_picks_the_scan_for_the_min_families_and_says_why_the_others_cant(core):
    spec = RecurrentSpec("mingru", I, 4)
    (_, _, choice) = _run(core, spec, "auto", None)
    assert choice.kernel == "scan"
    assert "mode='mingru'" in choice.rejected["torch"]
    assert "mode='mingru'" in choice.rejected["cpu"]


def test_gradcheck_through_the_kernel(core):
    spec = RecurrentSpec("minlstm", I, 2, num_layers=2, bidirectional=True)
    ws, hx = core.spec_weights(spec), core.spec_state(spec, B)
    names = [list(w) for w in ws]
    flat = [t for w in ws for t in w.values()]
    mask = _mask(4)

    def fn(x, h0, *args):
        it = iter(args)
        weights = [{k: next(it) for k in ks} for ks in names]
        out, st = scan.run(spec, weights, x, (h0,), mask, training=False)
        return out, st[0]

    assert gradcheck(fn, (_x(4).detach().requires_grad_(), hx[0], *flat))


def test_why_not_names_the_families_and_refuses_the_rest():
    facts = dict(mask_kind="any", training=True, device=torch.device("cpu"))
    why = scan.why_not(RecurrentSpec("gru", I, 4), dtype=torch.float32, **facts)
    assert why is not None and "mingru, minlstm" in why and "mode='gru'" in why
    assert "float32 and float64" in scan.why_not(RecurrentSpec("mingru", I, 4),
                                                 dtype=torch.float16, **facts)
    assert scan.why_not(RecurrentSpec("minlstm", I, 4, bidirectional=True), dtype=torch.float64,
                        **facts) is None
    with pytest.raises(ValueError, match="`recurrent_dropout` is an option of"):
        RecurrentSpec("mingru", I, 4, recurrent_dropout=0.1)  # the family declares no such option
    with pytest.raises(ValueError, match="`layer_norm` is an option of"):
        RecurrentSpec("minlstm", I, 4, layer_norm=True)
