"""rnnkit.cells.family: the one table of cell families, and every kernel refusing
a family or option it does not declare (no `else` that guesses)."""
import pytest
import torch
import torch.nn.functional as F

from rnnkit.cells import FAMILIES, GATES, param_shapes
from rnnkit.cells.family import OPTION_DEFAULTS, CellFamily, family, register_family
from rnnkit.kernels import registry
from rnnkit.kernels.spec import RecurrentSpec


def test_table_holds_the_classic_families_with_torch_and_keras_gate_orders():
    assert {"rnn", "lstm", "gru"} <= set(FAMILIES)
    assert (family("lstm").gates, family("lstm").states) == (("i", "f", "g", "o"), ("h", "c"))
    assert (family("gru").gates, family("gru").keras_gates) == (("r", "z", "n"), ("z", "r", "n"))
    assert family("gru").keras_perm == (1, 0, 2)  # Keras's z is torch's block 1
    assert dict(GATES) == {n: f.n_gates for n, f in FAMILIES.items()}
    assert (GATES["rnn"], GATES["gru"], GATES["lstm"]) == (1, 3, 4)


@pytest.mark.parametrize("mode", sorted(FAMILIES))
def test_every_family_declares_consistent_shapes(mode):
    fam = family(mode)
    shapes = param_shapes(mode, 3, 5)
    assert shapes["weight_ih"] == (fam.n_gates * 5, 3)
    assert ("weight_hh" in shapes) == fam.recurrent
    assert sorted(fam.keras_perm) == list(range(fam.n_gates))
    assert fam.options <= set(OPTION_DEFAULTS)


def test_unknown_mode_raises_at_spec_construction_naming_the_families():
    with pytest.raises(ValueError, match=r"`mode` must be one of \[.*'gru'.*\], got 'cnn'"):
        RecurrentSpec("cnn", 3, 5)
    with pytest.raises(ValueError, match="`mode` must be one of"):
        family("elman")


@pytest.mark.parametrize("mode,kw,msg", [
    ("gru", dict(peephole=True), "`peephole` is an LSTM option"),
    ("rnn", dict(zoneout_c=0.1), "`zoneout_c` is an LSTM option"),
    ("lstm", dict(reset_after=False), "`reset_after` is a GRU option"),
    ("rnn", dict(recurrent_activation="hard_sigmoid"), "`recurrent_activation` is an option of"),
])
def test_an_option_the_family_lacks_raises(mode, kw, msg):
    with pytest.raises(ValueError, match=msg):
        RecurrentSpec(mode, 3, 5, **kw)


def test_options_in_use():
    s = RecurrentSpec("lstm", 3, 5, peephole=True, zoneout_h=0.1, activation="relu")
    assert s.options_in_use() == {"peephole", "zoneout_h", "activation"}
    assert RecurrentSpec("gru", 3, 5, activation=torch.tanh).options_in_use() == frozenset()
    assert s.refuse_options(frozenset({"peephole"}), "k") == (
        "k doesn't run activation, zoneout_h (it runs peephole for lstm)")


@pytest.fixture
def toy_family():
    """A one-gate family no kernel but the reference knows: h_t = tanh(W x_t) + h_{t-1}/2."""
    def shapes(I, H, *, bias=True, **_):
        return {"weight_ih": (H, I), **({"bias_ih": (H,)} if bias else {})}

    def bind(opts):
        def step(x, state, w, h_rec):
            return (torch.tanh(F.linear(x, w["weight_ih"], w.get("bias_ih"))) + 0.5 * state[0],)
        return step

    fam = register_family(CellFamily(
        # recurrent=True: not a linear recurrence, so no scan may run it (tanh(W x) can be < 0)
        name="toy", gates=("h",), keras_gates=("h",), states=("h",), recurrent=True,
        options=frozenset(), param_shapes=shapes, init=lambda p, I, H: None, bind=bind))
    yield fam
    del FAMILIES["toy"]


def test_every_kernel_refuses_an_unknown_family_and_the_reference_runs_it(toy_family):
    spec = RecurrentSpec("toy", 2, 3)
    facts = dict(mask_kind="none", training=False, device=torch.device("cpu"),
                 dtype=torch.float64, batch=2)
    for k in registry.kernels():
        if k.name == "reference":
            continue
        why = k.why_not(spec, **facts)
        assert why is not None and "toy" in why, (k.name, why)
    for k in registry.step_kernels():
        if k.name != "reference":
            assert k.why_not(spec, device=torch.device("cpu"), dtype=torch.float64) is not None
    w = {"weight_ih": torch.full((3, 2), 0.5, dtype=torch.float64),
         "bias_ih": torch.zeros(3, dtype=torch.float64)}
    x = torch.ones(2, 1, 2, dtype=torch.float64)  # (T, B, I)
    out, (hN,), choice = registry.run(spec, [w], x, (torch.zeros(1, 1, 3, dtype=torch.float64),))
    assert choice.kernel == "reference"
    # h_1 = tanh(1) ; h_2 = tanh(1) + tanh(1)/2 = 1.5·tanh(1)
    t1 = torch.tanh(torch.tensor(1.0, dtype=torch.float64))
    torch.testing.assert_close(out[:, 0, 0], torch.stack([t1, 1.5 * t1]), rtol=0, atol=1e-15)
    torch.testing.assert_close(hN[0, 0], torch.full((3,), 1.5 * float(t1), dtype=torch.float64))


def test_a_family_must_reorder_its_own_gates():
    with pytest.raises(ValueError, match="keras_gates"):
        CellFamily(name="bad", gates=("a", "b"), keras_gates=("a", "c"), states=("h",),
                   recurrent=True, options=frozenset(), param_shapes=dict, init=None, bind=None)


def test_gates_is_a_mapping_read_from_the_table():
    assert "lstm" in GATES and "cnn" not in GATES and GATES.get("cnn") is None
    with pytest.raises(KeyError):
        GATES["cnn"]
