"""The native kernel's boundary (csrc/named.h, csrc/args.h; function.py builds the dicts):
every argument crosses by name, in one dict per call, and the gradients come back by
name. A name that is unknown, missing, of the wrong type or meant for another cell
raises, naming it; the order of the keys doesn't matter and their names do (hand-computed
one-unit cases in which a swap of two same-shaped tensors changes the result)."""
import math

import pytest
import torch

from rnnkit.kernels.cpu.function import Cfg, run_sequence

T, B, H = 3, 2, 4
SIG = lambda v: 1.0 / (1.0 + math.exp(-v))  # noqa: E731


def _rand(*shape, seed=[0]):
    seed[0] += 1
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed[0]),
                       dtype=torch.float64)


def _lstm(P=H, save=False, **extra):
    a = {"mode": "lstm", "reverse": False, "save": save, "xg": _rand(T, B, 4 * H),
         "w_hh": _rand(4 * H, P), "h0": _rand(B, P), "c0": _rand(B, H)}
    if P != H:
        a["w_hr"] = _rand(P, H)
    return {**a, **extra}


def _gru(save=False, **extra):
    return {"mode": "gru", "reverse": False, "reset_after": True, "save": save,
            "xg": _rand(T, B, 3 * H), "w_hh": _rand(3 * H, H), "h0": _rand(B, H), **extra}


def _one_unit_lstm(**extra):
    """T = B = H = 1, xg = 0 and W_hh = 0: every gate's pre-activation is its peephole term."""
    z = torch.zeros(1, 1, dtype=torch.float64)
    return {"mode": "lstm", "reverse": False, "save": False,
            "xg": torch.zeros(1, 1, 4, dtype=z.dtype), "w_hh": torch.zeros(4, 1, dtype=z.dtype),
            "h0": z + 0.5, "c0": z + 1.0, **extra}


def test_peepholes_go_by_name_not_by_position(native):
    """w_ci = +10, w_cf = -10, c0 = 1, g = tanh(0) = 0: i = σ(10), f = σ(-10), so
    c = f c0 + i g = σ(-10), o = σ(w_co c) = σ(0) = 1/2 and h = tanh(c) / 2. Swapped
    (w_ci = -10, w_cf = +10), c = σ(10): a position-based boundary would not notice."""
    p = {k: torch.tensor([v], dtype=torch.float64)
         for k, v in (("w_ci", 10.0), ("w_cf", -10.0), ("w_co", 0.0))}
    res = native.forward(_one_unit_lstm(**p))
    assert res["c_n"].item() == pytest.approx(SIG(-10.0), rel=1e-12)
    assert res["h_n"].item() == pytest.approx(0.5 * math.tanh(SIG(-10.0)), rel=1e-12)
    swapped = native.forward(_one_unit_lstm(w_ci=p["w_cf"], w_cf=p["w_ci"], w_co=p["w_co"]))
    assert swapped["c_n"].item() == pytest.approx(SIG(10.0), rel=1e-12)
    # the keys' order is not read: the same dict reversed gives the same numbers
    rev = native.forward(dict(reversed(list(_one_unit_lstm(**p).items()))))
    assert torch.equal(rev["c_n"], res["c_n"]) and torch.equal(rev["h_n"], res["h_n"])


def test_zoneout_masks_go_by_name(native):
    """zone_h = 1 (keep the old h), zone_c = 0 (take the new c): h_n = h0 = 0.5 and
    c_n = f c0 + i g = 0.5 (all gates σ(0) = 1/2, g = 0). Swapped: h_n is the new
    h = tanh(0.5) / 2 and c_n = c0 = 1."""
    one, zero = torch.ones(1, 1, 1, dtype=torch.float64), torch.zeros(1, 1, 1, dtype=torch.float64)
    res = native.forward(_one_unit_lstm(zone_h=one, zone_c=zero))
    assert (res["h_n"].item(), res["c_n"].item()) == pytest.approx((0.5, 0.5), rel=1e-12)
    res = native.forward(_one_unit_lstm(zone_h=zero, zone_c=one))
    assert (res["h_n"].item(), res["c_n"].item()) == pytest.approx((0.5 * math.tanh(0.5), 1.0),
                                                                     rel=1e-12)


def test_a_swap_of_differently_shaped_tensors_names_the_argument(native):
    """With a projection (P = 3 != H = 4), zone_h is (T, B, P) and zone_c (T, B, H)."""
    P = 3
    with pytest.raises(ValueError, match=r"`zone_h` must have shape \[3, 2, 3\]"):
        native.forward(_lstm(P=P, zone_h=_rand(T, B, H), zone_c=_rand(T, B, P)))


def test_unknown_argument_is_refused_with_the_known_ones(native):
    with pytest.raises(ValueError, match=r"unknown argument `zone_hc`; it takes .*zone_h, zone_c"):
        native.forward(_lstm(zone_hc=_rand(T, B, H)))
    with pytest.raises(TypeError, match="argument names must be strings, got int"):
        native.forward({**_lstm(), 3: _rand(1)})


@pytest.mark.parametrize("key", ["mode", "reverse", "save", "xg", "w_hh", "h0", "c0"])
def test_missing_argument_is_named(native, key):
    a = _lstm()
    del a[key]
    with pytest.raises(ValueError, match=f"forward: missing argument `{key}`"):
        native.forward(a)


def test_none_counts_as_missing_for_a_required_tensor(native):
    with pytest.raises(ValueError, match="missing argument `c0`"):
        native.forward(_lstm(c0=None))


@pytest.mark.parametrize("key,value,expected", [
    ("reverse", 1, "`reverse` must be a bool, got int"),
    ("save", None, "missing argument `save`"),
    ("zh", "0.1", "`zh` must be a float, got str"),
    ("zh", True, "`zh` must be a float, got bool"),
    ("xg", [[0.0]], "`xg` must be a tensor or None, got list"),
    ("mode", 2, "`mode` must be a str, got int"),
])
def test_wrong_type_is_named(native, key, value, expected):
    with pytest.raises((TypeError, ValueError), match=expected):
        native.forward({**_lstm(), key: value})


def test_unknown_mode_is_refused(native):
    with pytest.raises(ValueError, match="`mode` must be 'rnn_tanh', 'rnn_relu', 'lstm' or 'gru', "
                                         "got 'elman'"):
        native.forward({**_gru(), "mode": "elman"})


@pytest.mark.parametrize("make,key,owner", [
    (_gru, "c0", "LSTM"), (_gru, "w_hr", "LSTM"), (_gru, "zone_c", "LSTM"), (_gru, "zc", "LSTM"),
    (_lstm, "b_hn", "GRU"), (_lstm, "reset_after", "GRU"),
])
def test_another_cells_argument_is_refused(native, make, key, owner):
    value = {"zc": 0.1, "reset_after": True}.get(key, _rand(H))
    with pytest.raises(ValueError, match=f"`{key}` was given, but it is the {owner}'s"):
        native.forward(make(**{key: value}))


def test_peepholes_come_all_three_or_none(native):
    with pytest.raises(ValueError, match="w_ci, w_cf and w_co come all three or none"):
        native.forward(_lstm(w_ci=_rand(H), w_co=_rand(H)))


def test_eps_goes_with_layer_norm_only(native):
    with pytest.raises(ValueError, match="`eps` was given, but there is no layer normalisation"):
        native.forward(_gru(eps=1e-5))
    with pytest.raises(ValueError, match="missing argument `eps`"):
        native.forward(_gru(ln_hh=torch.ones(3 * H, dtype=torch.float64)))


def _saved(res):
    return {k: v for k, v in res.items() if k not in ("out", "h_n", "c_n")}


@pytest.mark.parametrize("make,kw,grads", [
    (_lstm, {}, {"d_xg", "d_h0", "d_c0"}),
    (_lstm, dict(P=3), {"d_xg", "d_h0", "d_c0", "d_y"}),
    (_gru, {}, {"d_xg", "d_h0", "d_gh"}),
    (_gru, dict(reset_after=False), {"d_xg", "d_h0"}),
])
def test_backward_returns_the_grads_by_name(native, make, kw, grads):
    a = make(save=True, **kw)
    res = native.forward(a)
    layer = {k: v for k, v in a.items() if k not in ("save", "xg", "h0", "c0")}
    upstream = {"d_out": torch.ones_like(res["out"])}
    g = native.backward({**layer, **_saved(res), **upstream})
    assert set(g) == grads
    assert g["d_xg"].shape == a["xg"].shape and g["d_h0"].shape == a["h0"].shape


def test_backward_names_what_it_lacks_or_does_not_take(native):
    a = _lstm(save=True)
    res = native.forward(a)
    layer = {k: v for k, v in a.items() if k not in ("save", "xg", "h0", "c0")}
    saved = _saved(res)
    for key in ("act", "hs", "cs", "aux", "aux2"):
        with pytest.raises(ValueError, match=f"backward: missing argument `{key}`"):
            native.backward({**layer, **{k: v for k, v in saved.items() if k != key}})
    with pytest.raises(ValueError, match="unknown argument `xg`"):
        native.backward({**layer, **saved, "xg": a["xg"]})
    with pytest.raises(ValueError, match="unknown argument `dout`"):  # it is d_out
        native.backward({**layer, **saved, "dout": torch.ones_like(res["out"])})


def test_cell_step_by_name(native):
    x, h, c = _rand(B, 3), _rand(B, H), _rand(B, H)
    lstm = {"mode": "lstm", "x": x, "h": h, "c": c, "w_ih": _rand(4 * H, 3),
            "w_hh": _rand(4 * H, H), "b_ih": None, "b_hh": None}
    assert set(native.cell_step(lstm)) == {"h", "c"}
    with pytest.raises(ValueError, match="step: missing argument `c`"):
        native.cell_step({k: v for k, v in lstm.items() if k != "c"})
    with pytest.raises(ValueError, match=r"`w_ih` must have shape \[16, 3\]"):
        native.cell_step({**lstm, "w_ih": _rand(4 * H, 4)})
    gru = {"mode": "gru", "reset_after": True, "x": x, "h": h, "w_ih": _rand(3 * H, 3),
           "w_hh": _rand(3 * H, H)}
    assert set(native.cell_step(gru)) == {"h"}
    with pytest.raises(ValueError, match="`c` was given, but it is the LSTM's and mode='gru'"):
        native.cell_step({**gru, "c": c})
    with pytest.raises(ValueError, match="unknown argument `bias_ih`"):
        native.cell_step({**gru, "bias_ih": _rand(3 * H)})


def test_python_side_refuses_unknown_names_and_modes(native):
    with pytest.raises(ValueError, match=r"unknown tensor name\(s\) \['weight_hh'\]"):
        run_sequence(Cfg("gru", False, True, 0.0, 0.0), {"weight_hh": _rand(3 * H, H)})
    with pytest.raises(ValueError, match="`mode` must be one of rnn_tanh, rnn_relu, lstm, gru"):
        Cfg("rnn", False, True, 0.0, 0.0)


@pytest.mark.parametrize("mode, fam", [("rnn_tanh", "rnn"), ("rnn_relu", "rnn"),
                                       ("lstm", "lstm"), ("gru", "gru")])
def test_native_gate_counts_are_the_family_tables(native, mode, fam):
    """The C++ side states each mode's gate count once (common.h gate_count); the boundary
    accepts exactly the family table's count of (H)-row blocks in xg and w_hh and refuses
    one block more, naming the argument."""
    from rnnkit.cells.family import family

    G = len(family(fam).gates)

    def args(g):
        a = {"mode": mode, "reverse": False, "save": False, "xg": _rand(T, B, g * H),
             "w_hh": _rand(g * H, H), "h0": _rand(B, H)}
        if mode == "lstm":
            a["c0"] = _rand(B, H)
        if mode == "gru":
            a["reset_after"] = True
        return a

    out = native.forward(args(G))
    assert out["out"].shape == (T, B, H) and out["h_n"].shape == (B, H)
    with pytest.raises(ValueError, match="w_hh|xg"):
        native.forward(args(G + 1))
