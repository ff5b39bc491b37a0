"""Property tests (hypothesis) over shapes and options: the torch kernel agrees with
the reference wherever it says it can run, refuses loudly where it can't, and
masks of any pattern give each row what it gets alone."""
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnkit.nn as rnn
from rnnkit.kernels import registry, torch_fused
from rnnkit.kernels.masks import lengths_to_mask, mask_kind
from rnnkit.kernels.spec import RecurrentSpec

pytestmark = [pytest.mark.usefixtures("one_thread"),
              pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")]
F64 = torch.float64
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def configs(draw, plain: bool):
    """(spec, T, B, lengths or None, training, seed). ``plain``: only what torch's ops can
    run; otherwise any option may be switched on."""
    mode = draw(st.sampled_from(["rnn", "gru", "lstm"]))
    H = draw(st.integers(1, 5))
    L = draw(st.integers(1, 3))
    bidirectional = draw(st.booleans())
    kw = dict(num_layers=L, bidirectional=bidirectional, bias=draw(st.booleans()),
              go_backwards=draw(st.booleans()))
    kw["bias_hh"] = draw(st.booleans()) if kw["bias"] else True
    if mode == "lstm" and H > 1 and draw(st.booleans()):
        kw["proj_size"] = draw(st.integers(1, H - 1))
    if mode == "rnn":
        kw["activation"] = draw(st.sampled_from(["tanh", "relu"]))
    if bidirectional and L == 1:
        kw["merge_mode"] = draw(st.sampled_from(["concat", "sum", "mul", "ave"]))
    training = draw(st.booleans())
    if L > 1 and draw(st.booleans()):
        kw["dropout"] = 0.3
    if not plain:
        extra = draw(st.sampled_from([
            {}, {"layer_norm": True}, {"input_dropout": 0.3}, {"recurrent_dropout": 0.3},
            {"dropconnect": 0.3}, {"zoneout_h": 0.2}, {"activation": "softsign"},
            {"peephole": True} if mode == "lstm" else {"layer_norm": True},
            {"reset_after": False} if mode == "gru" else {"zoneout_h": 0.1}]))
        kw.update(extra)
    T, B = draw(st.integers(1, 6)), draw(st.integers(1, 3))
    lengths = None
    if draw(st.booleans()):
        lengths = torch.tensor(draw(st.lists(st.integers(1, T), min_size=B, max_size=B)))
    spec = RecurrentSpec(mode, draw(st.integers(1, 4)), H, **kw)
    return spec, T, B, lengths, training, draw(st.integers(0, 2 ** 16))


def _inputs(core, spec, T, B, seed):
    ws = core.spec_weights(spec, F64, seed=seed)
    hx = core.spec_state(spec, B, F64, seed=seed + 1)
    x = torch.randn(T, B, spec.input_size, generator=torch.Generator().manual_seed(seed),
                    dtype=F64, requires_grad=True)
    return ws, hx, x, [x, *hx, *(t for w in ws for t in w.values())]


@SETTINGS
@given(cfg=configs(plain=True))
def test_torch_kernel_agrees_with_the_reference(core, cfg):
    spec, T, B, lengths, training, seed = cfg
    mask = None if lengths is None else lengths_to_mask(lengths, T)
    kind = mask_kind(mask.flip(0) if (mask is not None and spec.go_backwards) else mask)
    if torch_fused.why_not(spec, mask_kind=kind, training=training) is not None:
        return  # go_backwards turns right padding into left padding: reference only
    ws, hx, x, leaves = _inputs(core, spec, T, B, seed)
    results = []
    for backend in ("reference", "torch"):
        out, state, choice = registry.run(spec, ws, x, hx, mask, training=training,
                                          backend=backend,
                                          generator=torch.Generator().manual_seed(seed))
        assert choice.kernel == backend
        results.append((out, state, core.grads((out, state), leaves)))
    assert core.max_abs_diff(results[0], results[1]) <= 1e-10


@SETTINGS
@given(cfg=configs(plain=False))
def test_torch_kernel_refuses_or_agrees(core, cfg):
    spec, T, B, lengths, training, seed = cfg
    mask = None if lengths is None else lengths_to_mask(lengths, T)
    ws, hx, x, _ = _inputs(core, spec, T, B, seed)
    kind = mask_kind(mask.flip(0) if (mask is not None and spec.go_backwards) else mask)
    why = torch_fused.why_not(spec, mask_kind=kind, training=training)
    if why is not None:
        with pytest.raises(ValueError, match="can't run this configuration"):
            registry.run(spec, ws, x, hx, mask, training=training, backend="torch")
        return
    a = registry.run(spec, ws, x, hx, mask, training=training, backend="torch",
                     generator=torch.Generator().manual_seed(seed))
    b = registry.run(spec, ws, x, hx, mask, training=training, backend="reference",
                     generator=torch.Generator().manual_seed(seed))
    assert core.max_abs_diff(a[:2], b[:2]) <= 1e-10


@SETTINGS
@given(mode=st.sampled_from(["rnn", "gru", "lstm"]), bidirectional=st.booleans(),
       layer_norm=st.booleans(), T=st.integers(1, 6), B=st.integers(1, 3), data=st.data())
def test_any_mask_pattern_equals_each_row_alone(core, mode, bidirectional, layer_norm, T, B, data):
    rows = data.draw(st.lists(st.lists(st.booleans(), min_size=T, max_size=T), min_size=B,
                              max_size=B))
    mask = torch.tensor(rows, dtype=torch.bool).t()  # (T, B)
    m = {"rnn": rnn.RNN, "gru": rnn.GRU, "lstm": rnn.LSTM}[mode](
        2, 3, bidirectional=bidirectional, layer_norm=layer_norm).double()
    x = torch.randn(T, B, 2, dtype=F64)
    with torch.no_grad():
        out, state = m(x, mask=mask)
        state = state if isinstance(state, tuple) else (state,)
        for b in range(B):
            valid = mask[:, b]
            assert bool((out[~valid, b] == 0).all())
            if not valid.any():
                assert all(bool((s[:, b] == 0).all()) for s in state)  # = the zero h_0
                continue
            alone, st_alone = m(x[valid, b:b + 1])
            st_alone = st_alone if isinstance(st_alone, tuple) else (st_alone,)
            assert core.max_abs_diff(out[valid, b:b + 1], alone) <= 1e-12
            assert core.max_abs_diff(tuple(s[:, b:b + 1] for s in state), st_alone) <= 1e-12
