"""rnnkit.kernels.reference, the oracle: the stack is the cells composed by hand,
each regulariser does what its paper says with the masks it draws, and every
option passes gradcheck in float64 (with fixed masks from a seeded generator)."""
from dataclasses import replace

import pytest
import torch
from torch.autograd import gradcheck

from rnnkit.cells import gru_step, lstm_step, rnn_step
from rnnkit.kernels import reference, registry
from rnnkit.kernels.spec import RecurrentSpec

pytestmark = pytest.mark.usefixtures("one_thread")
F64 = torch.float64
T, B, I, H = 4, 2, 2, 3


def _x(T=T, B=B, I=I, seed=3):
    return torch.randn(T, B, I, generator=torch.Generator().manual_seed(seed), dtype=F64)


def _bernoulli(shape, p, g):
    """The inverted-dropout mask, drawn here by hand: 0 w.p. p, else 1/(1 − p)."""
    return torch.bernoulli(torch.full(shape, 1.0 - p, dtype=F64), generator=g) / (1.0 - p)


def _loop(step, x, state, reverse=False):
    """Run a cell step over x (T, B, I) by hand; returns outputs (T, B, ·) and the last state."""
    outs = [None] * x.shape[0]
    for t in (reversed(range(x.shape[0])) if reverse else range(x.shape[0])):
        state = step(x[t], state)
        outs[t] = state[0]
    return torch.stack(outs), state


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_stack_is_the_cells_composed(core, merge_mode):
    L = 1 if merge_mode is None else 2
    spec = RecurrentSpec("lstm", I, H, num_layers=L, bidirectional=True, merge_mode=merge_mode)
    ws, hx, x = core.spec_weights(spec), core.spec_state(spec, B), _x()
    out, (h_n, c_n) = reference.run(spec, ws, x, hx, None, training=False)
    layer_in, h_exp, c_exp = x, [], []
    for k in range(L):
        dirs = []
        for d in range(2):
            idx = 2 * k + d
            o, (h, c) = _loop(lambda xt, s, w=ws[idx]: lstm_step(xt, s[0], s[1], w), layer_in,
                              (hx[0][idx], hx[1][idx]), reverse=d == 1)
            dirs.append(o)
            h_exp.append(h)
            c_exp.append(c)
        f, b = dirs
        layer_in = {"concat": lambda: torch.cat([f, b], -1), "sum": lambda: f + b,
                    "mul": lambda: f * b, "ave": lambda: (f + b) / 2, None: lambda: (f, b)}[merge_mode]()
    assert core.max_abs_diff(out, layer_in) == 0.0
    assert core.max_abs_diff((h_n, c_n), (torch.stack(h_exp), torch.stack(c_exp))) == 0.0


@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_go_backwards_processes_last_step_first(core, mode):
    spec = RecurrentSpec(mode, I, H, go_backwards=True)
    ws, hx, x = core.spec_weights(spec), core.spec_state(spec, B), _x()
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool).t()  # (T, B)
    out, st, _ = registry.run(spec, ws, x, hx, mask, backend="reference")
    fwd = replace(spec, go_backwards=False)
    out2, st2 = reference.run(fwd, ws, x.flip(0), hx, mask.flip(0), training=False)
    assert core.max_abs_diff((out, st), (out2, st2)) == 0.0
    # Sample 1 has no padding: its first output has seen only x[T − 1].
    step = {"rnn": lambda: (rnn_step(x[-1, 1:], hx[0][0, 1:], ws[0]),),
            "gru": lambda: (gru_step(x[-1, 1:], hx[0][0, 1:], ws[0]),),
            "lstm": lambda: lstm_step(x[-1, 1:], hx[0][0, 1:], hx[1][0, 1:], ws[0])}[mode]()
    assert core.max_abs_diff(out[0, 1:], step[0]) < 1e-15
    # Sample 0 is right-padded: reversed, its padding comes first and keeps h_0.
    assert bool((out[0, 0] == 0).all())


def _train(spec, ws, x, hx, seed=7, mask=None):
    return reference.run(spec, ws, x, hx, mask, training=True,
                         generator=torch.Generator().manual_seed(seed))


def test_input_dropout_is_one_mask_per_sequence(core):
    # Gal & Ghahramani 2016: the same (B, I) mask at every step.
    spec = RecurrentSpec("lstm", I, H, input_dropout=0.4)
    ws, hx, x = core.spec_weights(spec), core.spec_state(spec, B), _x()
    M = _bernoulli((B, I), 0.4, torch.Generator().manual_seed(7))
    assert (M == 0).any() and (M != 0).any()
    plain = replace(spec, input_dropout=0.0)
    want = reference.run(plain, ws, x * M, hx, None, training=False)
    assert core.max_abs_diff(_train(spec, ws, x, hx), want) < 1e-15


@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_recurrent_dropout_masks_the_recurrent_input_only(core, mode):
    spec = RecurrentSpec(mode, I, H, recurrent_dropout=0.5)
    ws, hx, x = core.spec_weights(spec), core.spec_state(spec, B), _x()
    M = _bernoulli((B, H), 0.5, torch.Generator().manual_seed(7))
    w = ws[0]
    step = {  # the carried h (GRU's z ⊙ h_{t-1}, LSTM's c) is not masked
        "rnn": lambda xt, s: (rnn_step(xt, s[0] * M, w),),
        "gru": lambda xt, s: (gru_step(xt, s[0], w, h_rec=s[0] * M),),
        "lstm": lambda xt, s: lstm_step(xt, s[0] * M, s[1], w)}[mode]
    out, st = _loop(step, x, tuple(s[0] for s in hx))
    got_out, got_st = _train(spec, ws, x, hx)
    assert core.max_abs_diff((got_out, got_st), (out, tuple(s.unsqueeze(0) for s in st))) < 1e-15


def test_dropconnect_masks_the_recurrent_weights(core):
    # Wan et al. 2013, AWD-LSTM: one mask on W_hh per forward pass.
    spec = RecurrentSpec("gru", I, H, dropconnect=0.5)
    ws, hx, x = core.spec_weights(spec), core.spec_state(spec, B), _x()
    M = _bernoulli((3 * H, H), 0.5, torch.Generator().manual_seed(7))
    dropped = [dict(ws[0], weight_hh=ws[0]["weight_hh"] * M)]
    want = reference.run(replace(spec, dropconnect=0.0), dropped, x, hx, None, training=False)
    assert core.max_abs_diff(_train(spec, ws, x, hx), want) < 1e-15


def test_zoneout_keeps_old_units_in_training_and_averages_at_eval(core):
    # Krueger et al. 2016: keep the old value with probability z; at eval z·old + (1 − z)·new.
    zh, zc = 0.3, 0.6
    spec = RecurrentSpec("lstm", I, H, zoneout_h=zh, zoneout_c=zc)
    ws, hx, x = core.spec_weights(spec), core.spec_state(spec, B), _x()
    g = torch.Generator().manual_seed(7)

    def train_step(xt, s):
        new = lstm_step(xt, s[0], s[1], ws[0])
        out = []
        for old, cur, z in zip(s, new, (zh, zc)):
            keep = torch.bernoulli(torch.full_like(cur, z), generator=g).bool()
            out.append(torch.where(keep, old, cur))
        return tuple(out)

    def eval_step(xt, s):
        new = lstm_step(xt, s[0], s[1], ws[0])
        return tuple(z * old + (1 - z) * cur for old, cur, z in zip(s, new, (zh, zc)))

    s0 = (hx[0][0], hx[1][0])
    for fn, got in ((train_step, _train(spec, ws, x, hx)),
                    (eval_step, reference.run(spec, ws, x, hx, None, training=False))):
        out, st = _loop(fn, x, s0)
        assert core.max_abs_diff(got, (out, tuple(s.unsqueeze(0) for s in st))) < 1e-15


def test_dropout_between_layers(core):
    spec = RecurrentSpec("rnn", I, H, num_layers=2, dropout=0.5)
    ws, hx, x = core.spec_weights(spec), core.spec_state(spec, B), _x()
    one = replace(spec, num_layers=1, dropout=0.0)
    y1, s1 = reference.run(one, ws[:1], x, (hx[0][:1],), None, training=False)
    M = _bernoulli(tuple(y1.shape), 0.5, torch.Generator().manual_seed(7))
    y2, s2 = reference.run(replace(one, input_size=H), ws[1:], y1 * M, (hx[0][1:],), None,
                           training=False)
    assert core.max_abs_diff(_train(spec, ws, x, hx), (y2, (torch.cat([s1[0], s2[0]]),))) < 1e-15


REGULARISERS = {"input_dropout": 0.3, "recurrent_dropout": 0.3, "dropconnect": 0.3,
                "zoneout_h": 0.3, "dropout": 0.3}


@pytest.mark.parametrize("name", sorted(REGULARISERS))
def test_regularisers_act_in_training_only(core, name):
    spec = RecurrentSpec("lstm", I, H, num_layers=2, **{name: REGULARISERS[name]})
    plain = RecurrentSpec("lstm", I, H, num_layers=2)
    ws, hx, x = core.spec_weights(spec), core.spec_state(spec, B), _x()
    want = reference.run(plain, ws, x, hx, None, training=False)
    if name.startswith("zoneout"):  # eval uses the expectation, not the plain model
        assert core.max_abs_diff(reference.run(spec, ws, x, hx, None, training=False), want) > 1e-3
    else:
        assert core.max_abs_diff(reference.run(spec, ws, x, hx, None, training=False), want) == 0.0
    assert core.max_abs_diff(_train(spec, ws, x, hx), want) > 1e-3
    assert core.max_abs_diff(_train(spec, ws, x, hx, seed=7), _train(spec, ws, x, hx, seed=7)) == 0
    assert core.max_abs_diff(_train(spec, ws, x, hx, seed=7), _train(spec, ws, x, hx, seed=8)) > 0


# --- gradcheck of every option, through the engine ---------------------------------------

MASKS = {
    "right": [[1, 1, 1, 0], [1, 1, 1, 1]],
    "left": [[0, 0, 1, 1], [0, 1, 1, 1]],
    "holes": [[1, 0, 1, 0], [0, 1, 1, 0]],
    "all_padded_row": [[0, 0, 0, 0], [1, 1, 0, 1]],
}


def _gradcheck(core, spec, mask=None, training=False, T=T):
    ws, hx, x = core.spec_weights(spec), core.spec_state(spec, B), _x(T=T)
    x.requires_grad_(True)
    names = [list(w) for w in ws]
    flat = [t for w in ws for t in w.values()]
    # the first T steps of the (B, 4) pattern: a mask must match the sequence's length
    m = None if mask is None else torch.tensor(MASKS[mask], dtype=torch.bool).t()[:T]

    def fn(x, *args):
        n = len(hx)
        it = iter(args[n:])
        weights = [{k: next(it) for k in ks} for ks in names]
        # A fresh generator per call: every evaluation sees the same dropout/zoneout masks.
        g = torch.Generator().manual_seed(11) if training else None
        out, st, _ = registry.run(spec, weights, x, tuple(args[:n]), m, training=training,
                                  backend="reference", generator=g)
        return (*core.flat([out]), *st)

    assert gradcheck(fn, (x, *hx, *flat))


GRADCHECK_SPECS = {
    "lstm_peephole_proj": dict(mode="lstm", peephole=True, proj_size=2),
    "lstm_layer_norm": dict(mode="lstm", layer_norm=True),
    "gru_layer_norm_reset_after": dict(mode="gru", layer_norm=True),
    "gru_layer_norm_reset_before": dict(mode="gru", layer_norm=True, reset_after=False),
    "rnn_layer_norm_relu": dict(mode="rnn", layer_norm=True, activation="relu"),
    "gru_two_layers": dict(mode="gru", num_layers=2),
    "rnn_go_backwards": dict(mode="rnn", go_backwards=True),
    "lstm_single_bias": dict(mode="lstm", bias_hh=False),
}


@pytest.mark.parametrize("name", list(GRADCHECK_SPECS))
def test_gradcheck_options(core, name):
    kw = dict(GRADCHECK_SPECS[name])
    _gradcheck(core, RecurrentSpec(kw.pop("mode"), I, H, **kw), T=3)


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("mask", sorted(MASKS))
def test_gradcheck_masks(core, mode, mask):
    _gradcheck(core, RecurrentSpec(mode, I, 2), mask=mask)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_gradcheck_bidirectional_merge_modes(core, merge_mode):
    spec = RecurrentSpec("gru", I, 2, bidirectional=True, merge_mode=merge_mode)
    _gradcheck(core, spec, mask="holes")


def test_gradcheck_bidirectional_two_layers_go_backwards(core):
    spec = RecurrentSpec("lstm", I, 2, num_layers=2, bidirectional=True, go_backwards=True)
    _gradcheck(core, spec, mask="left", T=3)


@pytest.mark.parametrize("mode,kw", [
    ("lstm", {"zoneout_h": 0.3, "zoneout_c": 0.4}), ("gru", {"zoneout_h": 0.4}),
    ("lstm", {"recurrent_dropout": 0.4}), ("gru", {"recurrent_dropout": 0.4}),
    ("rnn", {"recurrent_dropout": 0.4}), ("lstm", {"input_dropout": 0.4}),
    ("gru", {"dropconnect": 0.4}), ("lstm", {"dropconnect": 0.4, "proj_size": 2}),
    ("rnn", {"num_layers": 2, "dropout": 0.4}),
    ("lstm", {"input_dropout": 0.2, "recurrent_dropout": 0.2, "zoneout_h": 0.2,
              "zoneout_c": 0.2, "dropconnect": 0.2}),
], ids=lambda v: v if isinstance(v, str) else "+".join(v))
def test_gradcheck_regularisers_with_fixed_masks(core, mode, kw):
    _gradcheck(core, RecurrentSpec(mode, I, 3, **kw), mask="holes", training=True, T=3)
