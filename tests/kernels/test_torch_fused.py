"""rnnkit.kernels.torch_fused beyond the conformance harness (test_conformance.py runs
it against the reference on the shared matrix): what its why_not refuses, and that
between-layer dropout really happens."""
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


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_dropout_between_layers_really_happens(core, cell):
    """Training with torch.nn's between-layer dropout (the conformance harness checks
    that the masks are the reference's): eval gives something else."""
    kw = dict(CELLS[cell])
    spec = RecurrentSpec(kw.pop("mode"), I, H, num_layers=3, bidirectional=True, dropout=0.5, **kw)
    mask = lengths_to_mask(torch.tensor([5, 2, 4]), T)
    ws, hx = core.spec_weights(spec), core.spec_state(spec, B)
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    tr, _, c1 = registry.run(spec, ws, x, hx, mask, training=True, backend="torch",
                             generator=torch.Generator().manual_seed(9))
    ev, _, c2 = registry.run(spec, ws, x, hx, mask, backend="torch")
    assert (c1.kernel, c2.kernel) == ("torch", "torch")
    assert (ev - tr).abs().max() > 1e-3


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
