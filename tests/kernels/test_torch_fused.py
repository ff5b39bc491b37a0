"""rnnkit.kernels.torch_fused against its naive twin, the reference engine:
outputs, final states and the gradients of input, initial state and every
weight, for every configuration it claims (why_not is None)."""
import itertools

import pytest
import torch

from rnnkit.kernels import registry, torch_fused
from rnnkit.kernels.masks import lengths_to_mask
from rnnkit.kernels.spec import RecurrentSpec

pytestmark = [pytest.mark.usefixtures("one_thread"),
              pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")]
T, B, I, H = 5, 3, 3, 4
CELLS = {"lstm": dict(mode="lstm"), "lstm_proj": dict(mode="lstm", proj_size=2),
         "gru": dict(mode="gru"), "rnn_tanh": dict(mode="rnn"),
         "rnn_relu": dict(mode="rnn", activation="relu")}


def _compare(core, spec, dtype, mask=None, training=False, seed=None):
    ws, hx = core.spec_weights(spec, dtype), core.spec_state(spec, B, dtype)
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(2), dtype=dtype,
                    requires_grad=True)
    leaves = [x, *hx, *(t for w in ws for t in w.values())]
    results = []
    for backend in ("reference", "torch"):
        g = None if seed is None else torch.Generator().manual_seed(seed)
        out, st, choice = registry.run(spec, ws, x, hx, mask, training=training, backend=backend,
                                       generator=g)
        assert choice.kernel == backend
        results.append((out, st, core.grads((out, st), leaves)))
    assert core.max_abs_diff(results[0], results[1]) <= core.TOL[dtype]
    return results


@pytest.mark.parametrize("cell,L,bidirectional,masked", list(itertools.product(
    sorted(CELLS), [1, 2], [False, True], [False, True])))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_reference(core, cell, L, bidirectional, masked, dtype):
    kw = dict(CELLS[cell])
    spec = RecurrentSpec(kw.pop("mode"), I, H, num_layers=L, bidirectional=bidirectional, **kw)
    mask = lengths_to_mask(torch.tensor([5, 2, 4]), T) if masked else None
    assert torch_fused.why_not(spec, mask_kind="right" if masked else "none", training=False) is None
    _compare(core, spec, dtype, mask)


@pytest.mark.parametrize("bias,bias_hh", [(False, True), (True, False)])
@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn"])
def test_bias_layouts(core, mode, bias, bias_hh):
    # bias_hh=False is Keras's single bias; the kernel feeds torch a zero second bias.
    _compare(core, RecurrentSpec(mode, I, H, bias=bias, bias_hh=bias_hh), torch.float64)


@pytest.mark.parametrize("merge_mode", ["sum", "mul", "ave", None])
def test_merge_modes_single_layer(core, merge_mode):
    spec = RecurrentSpec("gru", I, H, bidirectional=True, merge_mode=merge_mode)
    _compare(core, spec, torch.float64, lengths_to_mask(torch.tensor([5, 2, 4]), T))


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("masked", [False, True])
def test_dropout_between_layers_uses_the_generator(core, cell, masked):
    """Training with torch.nn's between-layer dropout: the kernel draws its masks from
    the given generator in the reference's shapes and order, so the two agree."""
    kw = dict(CELLS[cell])
    spec = RecurrentSpec(kw.pop("mode"), I, H, num_layers=3, bidirectional=True, dropout=0.5, **kw)
    mask = lengths_to_mask(torch.tensor([5, 2, 4]), T) if masked else None
    (out, _, _), _ = _compare(core, spec, torch.float64, mask, training=True, seed=9)
    # ... and the dropout really happened: eval gives something else.
    ws, hx = core.spec_weights(spec), core.spec_state(spec, B)
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    ev, _, _ = registry.run(spec, ws, x, hx, mask, backend="torch")
    assert (ev - out).abs().max() > 1e-3


def test_go_backwards(core):
    spec = RecurrentSpec("lstm", I, H, go_backwards=True)
    _compare(core, spec, torch.float64, lengths_to_mask(torch.tensor([5, 5, 5]), T))
    _compare(core, spec, torch.float64)


@pytest.mark.parametrize("kw,facts,reason", [
    (dict(mode="lstm", layer_norm=True), {}, "no layer normalisation"),
    (dict(mode="lstm", peephole=True), {}, "no peephole"),
    (dict(mode="gru", reset_after=False), {}, "reset_after=True"),
    (dict(mode="lstm", zoneout_h=0.1), {}, "no zoneout"),
    (dict(mode="gru", zoneout_h=0.1), {"training": False}, "no zoneout"),
    (dict(mode="lstm", recurrent_dropout=0.1), {"training": True}, "recurrent dropout"),
    (dict(mode="lstm", input_dropout=0.1), {"training": True}, "input/recurrent dropout"),
    (dict(mode="gru", dropconnect=0.1), {"training": True}, "DropConnect"),
    (dict(mode="rnn", activation="softsign"), {}, "activations"),
    (dict(mode="lstm", recurrent_activation="hard_sigmoid"), {}, "activations"),
    (dict(mode="lstm"), {"mask_kind": "any"}, "valid steps first"),
    (dict(mode="lstm", bidirectional=True, merge_mode="sum", num_layers=2), {}, "concatenates"),
])
def test_why_not(kw, facts, reason):
    spec = RecurrentSpec(kw.pop("mode"), I, H, **kw)
    facts = {"mask_kind": "none", "training": False, **facts}
    assert reason in torch_fused.why_not(spec, **facts)


def test_regularisers_are_fine_at_eval():
    spec = RecurrentSpec("lstm", I, H, recurrent_dropout=0.3, input_dropout=0.3, dropconnect=0.3,
                         dropout=0.3, num_layers=2)
    assert torch_fused.why_not(spec, mask_kind="right", training=False) is None
    spec = RecurrentSpec("lstm", I, H, dropout=0.3, num_layers=2)  # between layers only
    assert torch_fused.why_not(spec, mask_kind="none", training=True) is None
