"""rnnkit.kernels.registry: explicit backends fail loudly with the reason, auto
picks the fastest kernel that runs the exact configuration, and a spy proves
the chosen kernel really ran (Keras once shipped a fast path that silently
never ran)."""
from dataclasses import replace

import pytest
import torch

import rnnkit.nn as rnn
from rnnkit.kernels import registry
from rnnkit.kernels.masks import lengths_to_mask
from rnnkit.kernels.spec import RecurrentSpec

pytestmark = [pytest.mark.usefixtures("one_thread"),
              pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")]
T, B, I, H = 4, 2, 3, 4


@pytest.fixture
def two_kernels(monkeypatch):
    """The registry with only the kernels this file is about, so that a native kernel
    registered later with a higher priority doesn't change what `auto` means here."""
    monkeypatch.setattr(registry, "_KERNELS", {n: registry._KERNELS[n] for n in ("reference", "torch")})
    return registry._KERNELS


def _inputs(spec, core, mask_kind="none"):
    ws, hx = core.spec_weights(spec, torch.float32), core.spec_state(spec, B, torch.float32)
    x = torch.randn(T, B, I)
    mask = {"none": None, "right": lengths_to_mask(torch.tensor([4, 2]), T),
            "any": torch.tensor([[0, 1, 1, 1], [1, 1, 1, 1]], dtype=torch.bool).t()}[mask_kind]
    return ws, x, hx, mask


UNSUPPORTED = [  # (spec options, mask kind, training, the reason's words)
    (dict(mode="lstm", layer_norm=True), "none", False, "no layer normalisation"),
    (dict(mode="rnn", layer_norm=True), "none", False, "no layer normalisation"),
    (dict(mode="lstm", peephole=True), "none", False, "no peephole"),
    (dict(mode="gru", reset_after=False), "none", False, "reset_after=True"),
    (dict(mode="lstm", zoneout_h=0.2, zoneout_c=0.2), "none", False, "no zoneout"),
    (dict(mode="gru", zoneout_h=0.2), "none", True, "no zoneout"),
    (dict(mode="gru", recurrent_dropout=0.2), "none", True, "recurrent dropout"),
    (dict(mode="lstm", activation="relu"), "none", False, "fix the activations"),
    (dict(mode="lstm"), "any", False, "valid steps first"),
]


@pytest.mark.parametrize("kw,mask_kind,training,reason", UNSUPPORTED,
                         ids=[f"{u[0]['mode']}-{u[3]}" for u in UNSUPPORTED])
def test_explicit_torch_backend_refuses_with_the_reason(core, two_kernels, kw, mask_kind,
                                                        training, reason):
    kw = dict(kw)
    spec = RecurrentSpec(kw.pop("mode"), I, H, **kw)
    ws, x, hx, mask = _inputs(spec, core, mask_kind)
    with pytest.raises(ValueError, match=f"backend='torch' can't run this configuration: .*{reason}"):
        registry.run(spec, ws, x, hx, mask, training=training, backend="torch")
    # auto runs it, on the reference, and says why not torch.
    _, _, choice = registry.run(spec, ws, x, hx, mask, training=training, backend="auto")
    assert choice.kernel == "reference" and reason in choice.rejected["torch"]
    assert f"not torch: {choice.rejected['torch']}" in str(choice)


@pytest.mark.parametrize("kw,mask_kind", [
    (dict(mode="lstm"), "none"), (dict(mode="lstm", proj_size=2, num_layers=2), "right"),
    (dict(mode="gru", bidirectional=True), "right"), (dict(mode="rnn", activation="relu"), "none"),
    (dict(mode="lstm", dropout=0.3, num_layers=2, recurrent_dropout=0.3, input_dropout=0.3,
          dropconnect=0.3), "none"),  # eval: the regularisers are off, so torch can run it
])
def test_auto_picks_torch_for_plain_configs(core, two_kernels, kw, mask_kind):
    kw = dict(kw)
    spec = RecurrentSpec(kw.pop("mode"), I, H, **kw)
    ws, x, hx, mask = _inputs(spec, core, mask_kind)
    _, _, choice = registry.run(spec, ws, x, hx, mask, training=False)
    assert (choice.kernel, choice.backend, choice.rejected) == ("torch", "auto", {})
    n = torch.get_num_threads()
    assert str(choice) == ("kernel: torch (backend='auto')\n"
                           f"threads: {n} (torch's count; rnnkit's policy runs inside "
                           "fit/evaluate/predict)")


def test_training_with_regularisers_goes_to_the_reference(core, two_kernels):
    spec = RecurrentSpec("lstm", I, H, input_dropout=0.3)
    ws, x, hx, _ = _inputs(spec, core)
    assert registry.run(spec, ws, x, hx, training=True)[2].kernel == "reference"
    assert registry.run(spec, ws, x, hx, training=False)[2].kernel == "torch"


@pytest.mark.parametrize("cls,kw,kernel", [
    (rnn.LSTM, {}, "torch"), (rnn.GRU, {"bidirectional": True}, "torch"),
    (rnn.RNN, {"nonlinearity": "relu"}, "torch"), (rnn.LSTM, {"peephole": True}, "reference"),
    (rnn.GRU, {"reset_after": False}, "reference"), (rnn.RNN, {"layer_norm": True}, "reference"),
    (rnn.LSTM, {"zoneout": 0.1}, "reference"),
])
def test_kernel_report_says_which_ran(two_kernels, cls, kw, kernel):
    m = cls(I, H, **kw)
    assert m.kernel_report() == "no forward yet"
    m(torch.randn(T, B, I))
    report = m.kernel_report()
    assert report.splitlines()[0] == f"kernel: {kernel} (backend='auto')"
    assert ("not torch:" in report) == (kernel == "reference")
    assert m.last_choice.kernel == kernel


def test_module_with_explicit_torch_backend_raises(two_kernels):
    m = rnn.LSTM(I, H, layer_norm=True, backend="torch")
    with pytest.raises(ValueError, match="can't run this configuration: torch's ops have no layer"):
        m(torch.randn(T, B, I))


@pytest.mark.parametrize("cls,op", [(rnn.LSTM, "lstm"), (rnn.GRU, "gru"), (rnn.RNN, "rnn_tanh")])
def test_spy_the_torch_kernel_really_runs(monkeypatch, two_kernels, cls, op):
    calls = []
    real = getattr(torch._VF, op)

    def spy(*args):
        calls.append(op)
        return real(*args)

    monkeypatch.setattr(torch._VF, op, spy)
    x = torch.randn(T, B, I)
    cls(I, H)(x)                                   # auto, plain: the fused op runs
    assert calls == [op]
    cls(I, H)(x, lengths=torch.tensor([4, 2]))     # right padding: packed fused op
    assert calls == [op, op]
    cls(I, H, layer_norm=True)(x)                  # the reference: the fused op doesn't
    assert calls == [op, op]


def test_spy_the_chosen_kernels_run(monkeypatch, core, two_kernels):
    calls = []
    for name, k in list(two_kernels.items()):
        def spy(*args, _k=k, **kw):
            calls.append(_k.name)
            return _k.run(*args, **kw)
        monkeypatch.setitem(two_kernels, name, replace(k, run=spy))
    x = torch.randn(T, B, I)
    rnn.GRU(I, H)(x)
    rnn.GRU(I, H, backend="reference")(x)
    rnn.GRU(I, H, layer_norm=True)(x)
    assert calls == ["torch", "reference", "reference"]


def test_a_faster_kernel_wins_only_where_it_can_run(monkeypatch, core, two_kernels):
    ran = []

    def fast_run(spec, weights, x, hx, mask, *, training, generator=None):
        ran.append(spec.mode)
        return registry._KERNELS["reference"].run(spec, weights, x, hx, mask, training=training,
                                                  generator=generator)

    fast = registry.Kernel("fast", 100, lambda spec, **f: None if spec.mode == "gru" else "GRU only",
                           fast_run)
    monkeypatch.setitem(two_kernels, "fast", fast)
    assert registry.backend_names() == ["auto", "fast", "torch", "reference"]
    for mode in ("gru", "lstm"):
        spec = RecurrentSpec(mode, I, H)
        ws, x, hx, _ = _inputs(spec, core)
        _, _, choice = registry.run(spec, ws, x, hx)
        assert choice.kernel == ("fast" if mode == "gru" else "torch")
    assert ran == ["gru"] and choice.rejected == {"fast": "GRU only"}


def test_unknown_backend(core):
    spec = RecurrentSpec("lstm", I, H)
    ws, x, hx, _ = _inputs(spec, core)
    with pytest.raises(ValueError, match="`backend` must be one of .*'cudnn'"):
        registry.run(spec, ws, x, hx, backend="cudnn")
    with pytest.raises(ValueError, match="`backend` must be one of"):
        rnn.LSTM(I, H, backend="cudnn")


def test_choices_are_cached_until_the_kernel_table_changes(monkeypatch, two_kernels):
    spec = RecurrentSpec("gru", I, H)
    facts = dict(mask_kind="none", training=False, device=torch.device("cpu"),
                 dtype=torch.float32, batch=B)
    first = registry.choose(spec, "auto", **facts)
    assert registry.choose(spec, "auto", **facts) is first  # no second decision
    assert registry.choose(spec, "auto", **{**facts, "batch": B + 1}) is not first
    # a kernel set into the table without register() is still seen
    fast = registry.Kernel("fast", 100, lambda spec, **f: None, registry._KERNELS["reference"].run)
    monkeypatch.setitem(two_kernels, "fast", fast)
    assert registry.choose(spec, "auto", **facts)[1].kernel == "fast"


def test_a_spec_pickles_without_its_cached_hash():
    import pickle

    spec = RecurrentSpec("lstm", I, H)
    hash(spec)  # caches it
    again = pickle.loads(pickle.dumps(spec))
    assert "_hash" not in again.__dict__ and again == spec and hash(again) == hash(spec)


def test_an_unhashable_activation_is_chosen_for_every_call(core):
    class Act:  # defines __eq__ without __hash__: unhashable
        def __eq__(self, other):
            return isinstance(other, Act)

        def __call__(self, t):
            return torch.tanh(t)

    spec = RecurrentSpec("rnn", I, H, activation=Act())
    ws, x, hx, _ = _inputs(spec, core)
    _, _, choice = registry.run(spec, ws, x, hx)
    assert choice.kernel == "reference"


# --- issue #10: edge inputs, decided once at the registry for every kernel ------------------
@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("backend", ["auto", "reference", "cpu"])
def test_an_empty_batch_gives_torch_nns_empty_outputs(mode, backend):
    cls = {"rnn": (rnn.RNN, torch.nn.RNN), "lstm": (rnn.LSTM, torch.nn.LSTM),
           "gru": (rnn.GRU, torch.nn.GRU)}[mode]
    ours = cls[0](I, H, num_layers=2, bidirectional=True, backend=backend)
    theirs = cls[1](I, H, num_layers=2, bidirectional=True)
    theirs.load_state_dict(ours.state_dict())
    x = torch.zeros(T, 0, I, requires_grad=True)
    out, state = ours(x)
    ref_out, ref_state = theirs(x)
    assert out.shape == ref_out.shape == (T, 0, 2 * H)
    for a, b in zip(state if mode == "lstm" else (state,),
                    ref_state if mode == "lstm" else (ref_state,)):
        assert a.shape == b.shape == (4, 0, H)
    out.sum().backward()  # the graph is intact: gradients of an empty batch are zeros
    assert x.grad.shape == x.shape
    assert all(p.grad is None or not p.grad.any() for p in ours.parameters())
    assert "empty batch" in ours.kernel_report() or "kernel: reference" in ours.kernel_report()


def test_zero_time_steps_is_a_clear_value_error():
    with pytest.raises(RuntimeError):  # torch.nn refuses T=0 too
        torch.nn.LSTM(I, H)(torch.zeros(0, B, I))
    for module in (rnn.LSTM(I, H), rnn.GRU(I, H, batch_first=True)):
        x = torch.zeros(B, 0, I) if module.batch_first else torch.zeros(0, B, I)
        with pytest.raises(ValueError, match="0 time steps"):
            module(x)


def test_an_all_masked_batch_warns_once(monkeypatch):
    monkeypatch.setattr(registry, "_ALL_MASKED_WARNED", False)
    lstm = rnn.LSTM(I, H, batch_first=True)
    x = torch.randn(B, T, I)
    with pytest.warns(RuntimeWarning, match="every step of a batch is masked"):
        out, (h, c) = lstm(x, mask=torch.zeros(B, T, dtype=torch.bool))
    assert not out.any() and not h.any() and not c.any()  # the initial state, zero outputs
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lstm(x, mask=torch.zeros(B, T, dtype=torch.bool))             # once: no second warning
        lstm(x, mask=torch.tensor([[True] * T, [False] * T]))        # one sample only: no warning


# --- discovery: kernel modules declare KERNELS / STEP_KERNELS / CONV_KERNELS ---------------
def test_discovered_priority_order_is_the_one_registered_by_hand_before():
    """Before issue 12's discovery the registry listed: cpu 20, torch 10, scan 5, reference 0;
    steps: cpu 20, reference 0; conv: conv 10, reference 0; issue 14 then added conv-cpu 20
    (the native fused gate update) above the conv table's two."""
    tables = registry.discover()
    assert [(k.name, k.priority) for k in tables["KERNELS"]] == [
        ("cpu", 20), ("torch", 10), ("scan", 5), ("reference", 0)]
    assert [k.name for k in registry.kernels()] == ["cpu", "torch", "scan", "reference"]
    assert [k.name for k in registry.step_kernels()] == ["cpu", "reference"]
    assert [(k.name, k.priority) for k in tables["CONV_KERNELS"]] == [
        ("conv-cpu", 20), ("conv", 10), ("reference", 0)]
    assert registry.conv_backend_names() == ["auto", "conv-cpu", "conv", "reference"]


def test_a_kernel_module_added_to_the_package_is_registered(tmp_path, monkeypatch):
    import sys

    import rnnkit.kernels

    (tmp_path / "zz_throwaway.py").write_text(
        "from rnnkit.kernels.base import Kernel\n"
        "KERNELS = (Kernel('throwaway', 7, lambda spec, **_: 'refuses all', None),)\n")
    monkeypatch.setattr(rnnkit.kernels, "__path__", [*rnnkit.kernels.__path__, str(tmp_path)])
    monkeypatch.setattr(registry, "_KERNELS", dict(registry._KERNELS))
    try:
        registry.discover()
        assert [k.name for k in registry.kernels()] == ["cpu", "torch", "throwaway", "scan",
                                                        "reference"]
        # minGRU: cpu and torch refuse it, then the throwaway one (7) is asked before scan (5)
        _, choice = registry.choose(RecurrentSpec("mingru", I, H), mask_kind="none",
                                    training=False)
        assert choice.kernel == "scan" and choice.rejected["throwaway"] == "refuses all"
    finally:
        sys.modules.pop("rnnkit.kernels.zz_throwaway", None)
        registry._CHOICES.clear()


def test_two_kernels_with_one_priority_or_name_are_refused_naming_both():
    from types import ModuleType

    from rnnkit.kernels.base import Kernel

    def module(name, *kernels):
        m = ModuleType(name)
        m.KERNELS = kernels
        return m

    a = module("kern_a", Kernel("a", 7, None, None))
    with pytest.raises(ValueError, match=r"kernel 'b' of kern_b has the priority 7 of kernel 'a' "
                                         r"of kern_a"):
        registry.collect([a, module("kern_b", Kernel("b", 7, None, None))])
    with pytest.raises(ValueError, match=r"kernel 'a' of kern_c has the name of kernel 'a'"):
        registry.collect([a, module("kern_c", Kernel("a", 8, None, None))])
    tables = registry.collect([module("kern_d", Kernel("low", 1, None, None)), a])
    assert [k.name for k in tables["KERNELS"]] == ["a", "low"] and tables["CONV_KERNELS"] == []
