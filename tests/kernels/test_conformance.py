"""The conformance harness: one matrix of configurations, defined once, and every
registered kernel run through it against the reference loop (the oracle) on
outputs, final states and the gradients of input, initial state and every
weight, with NaN in every padded input (a kernel must never read padding).

A configuration a kernel's ``why_not`` refuses is skipped with its reason; one it
accepts must agree. A new kernel is covered by registering it, a new cell family
by adding its variants to CELLS. Kernel-specific run contexts (the native
kernel's NaN-poisoned buffers and batch slices) are in CONTEXTS.
"""
from __future__ import annotations

import contextlib
import itertools

import pytest
import torch

from rnnkit.kernels import registry
from rnnkit.kernels.masks import mask_kind
from rnnkit.kernels.spec import RecurrentSpec

pytestmark = [pytest.mark.usefixtures("one_thread"),
              pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")]
T, B, I, H = 5, 4, 3, 4
F32, F64 = torch.float32, torch.float64

# --- the matrix ------------------------------------------------------------------------
CELLS = {
    "rnn_tanh": dict(mode="rnn"), "rnn_relu": dict(mode="rnn", activation="relu"),
    "gru": dict(mode="gru"), "gru_reset_before": dict(mode="gru", reset_after=False),
    "lstm": dict(mode="lstm"), "lstm_peephole": dict(mode="lstm", peephole=True),
    "lstm_proj": dict(mode="lstm", proj_size=2),
    "lstm_peephole_proj": dict(mode="lstm", peephole=True, proj_size=3),
    "rnn_tanh_ln": dict(mode="rnn", layer_norm=True),
    "rnn_relu_ln": dict(mode="rnn", activation="relu", layer_norm=True),
    "gru_ln": dict(mode="gru", layer_norm=True),
    "gru_reset_before_ln": dict(mode="gru", reset_after=False, layer_norm=True),
    "lstm_ln": dict(mode="lstm", layer_norm=True),
    "lstm_ln_peephole_proj": dict(mode="lstm", layer_norm=True, peephole=True, proj_size=3),
    "mingru": dict(mode="mingru"), "minlstm": dict(mode="minlstm"),
}
# (T, B) masks, True = valid step; columns are samples.
MASKS = {
    "right": [[1, 1, 1, 1], [1, 1, 1, 0], [1, 0, 1, 0], [1, 0, 0, 0], [1, 0, 0, 0]],
    "left": [[0, 1, 0, 0], [0, 1, 0, 1], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]],
    "holes": [[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 1], [0, 1, 1, 0], [1, 0, 1, 1]],
    "all_padded_row": [[1, 0, 1, 1], [1, 0, 1, 0], [1, 0, 0, 1], [0, 0, 1, 1], [1, 0, 1, 0]],
}
REGULARISERS = {
    "dropout": dict(dropout=0.3, num_layers=2), "input_dropout": dict(input_dropout=0.3),
    "recurrent_dropout": dict(recurrent_dropout=0.4), "zoneout": dict(zoneout_h=0.3),
    "zoneout_c": dict(zoneout_c=0.4), "dropconnect": dict(dropconnect=0.3),
    "all": dict(dropout=0.2, num_layers=2, input_dropout=0.2, recurrent_dropout=0.3,
                zoneout_h=0.3, zoneout_c=0.2, dropconnect=0.2),
}
REG_CELLS = ("rnn_tanh", "rnn_relu", "rnn_relu_ln", "gru", "gru_reset_before", "gru_ln",
             "gru_reset_before_ln", "lstm", "lstm_proj", "lstm_peephole_proj", "lstm_ln",
             "mingru", "minlstm")


def _case(cell, dtype=F64, mask=None, training=False, seed=None, **kw):
    """(id, spec kwargs, dtype, mask kind, training, seed), or None when the family
    lacks one of the options (the spec would refuse it: nothing to run)."""
    spec_kw = {**CELLS[cell], **kw}
    try:
        RecurrentSpec(input_size=I, hidden_size=H, **spec_kw)
    except ValueError:
        return None
    extra = "-".join(f"{k}={v}" for k, v in kw.items())
    cid = "-".join(p for p in (cell, extra, str(dtype)[6:], mask or "", "train" if training
                                else "") if p)
    return cid, spec_kw, dtype, mask, training, seed


def matrix() -> list[tuple]:
    cases = []
    # shapes: layers × directions × dtypes
    for cell, L, bi, dtype, kind in itertools.product(CELLS, [1, 2], [False, True], [F32, F64],
                                                      [None, "right"]):
        cases.append(_case(cell, dtype, kind, num_layers=L, bidirectional=bi))
    # every mask pattern, padding holding NaN
    for cell, kind in itertools.product(CELLS, MASKS):
        cases.append(_case(cell, F32, kind, bidirectional=True))
    # merge modes ((fwd, bwd) pairs can't feed a next layer)
    for cell, merge, kind in itertools.product(["gru", "lstm_proj", "rnn_tanh", "mingru"],
                                               ["concat", "sum", "mul", "ave", None],
                                               ["right", "holes"]):
        cases.append(_case(cell, F64, kind, bidirectional=True, merge_mode=merge,
                           num_layers=1 if merge is None else 2))
    # bias layouts (bias_hh=False: Keras's single bias)
    for cell, (bias, bias_hh) in itertools.product(CELLS, [(False, True), (True, False)]):
        cases.append(_case(cell, F64, bias=bias, bias_hh=bias_hh))
    # regularisers, masks drawn from a seeded generator in the engine's order; eval too
    # (unmasked too for dropout between layers, the one a whole-stack op like torch's runs)
    for cell, reg, training in itertools.product(REG_CELLS, REGULARISERS, [True, False]):
        for kind in ("holes", None, "right") if reg == "dropout" else ("holes",):
            cases.append(_case(cell, F64, kind, training, 7, bidirectional=True,
                               **REGULARISERS[reg]))
    # go_backwards (the registry flips the sequence before the kernel runs)
    for cell, kind in itertools.product(["lstm", "gru_ln", "mingru"], [None, "right"]):
        cases.append(_case(cell, F64, kind, go_backwards=True))
    out, seen = [], set()
    for c in cases:
        if c is not None and c[0] not in seen:
            seen.add(c[0])
            out.append(c)
    return out


MATRIX = matrix()


# --- kernel-specific run contexts --------------------------------------------------------
@contextlib.contextmanager
def _native(slices: int):
    """The native kernel with NaN-poisoned scratch buffers, as one call over the
    batch (0) or cut into slices (3): row offsets, strides and summed grads."""
    from rnnkit.kernels.cpu import build

    build.set_poison(True)
    build.set_batch_slices(slices)
    try:
        yield
    finally:
        build.set_batch_slices(0)
        build.set_poison(False)


CONTEXTS = {"cpu": {"whole-batch": lambda: _native(0), "3-slices": lambda: _native(3)}}


def _runs():
    for k in registry.kernels():
        if k.name == "reference":
            continue
        for ctx in CONTEXTS.get(k.name, {"": contextlib.nullcontext}):
            yield k.name, ctx


RUNS = list(_runs())


# --- the check ----------------------------------------------------------------------------
def _facts(spec, mask, training, dtype) -> dict:
    """What the registry tells why_not (go_backwards: the mask as the kernel sees it)."""
    m = None if mask is None else (mask.flip(0) if spec.go_backwards else mask)
    return dict(mask_kind=mask_kind(m), training=training, device=torch.device("cpu"),
                dtype=dtype, batch=B)


def _x(dtype, mask):
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(2), dtype=dtype)
    if mask is not None:  # padding holds NaN: a kernel must never read it
        x = torch.where(mask.unsqueeze(-1), x, torch.full((), float("nan"), dtype=dtype))
    return x.requires_grad_(True)


def _results(core, spec, ws, hx, x, mask, training, seed, kernel):
    leaves = [x, *hx, *(t for w in ws for t in w.values())]
    out = []
    for backend in ("reference", kernel):
        g = None if seed is None else torch.Generator().manual_seed(seed)
        o, st, choice = registry.run(spec, ws, x, hx, mask, training=training, backend=backend,
                                     generator=g)
        assert choice.kernel == backend
        out.append((o, st, core.grads((o, st), leaves)))
    for part in core.flat(out[1]):
        assert torch.isfinite(part).all(), "NaN/inf: padding or poisoned memory was read"
    return out


def _check_float32_layer_norm(core, spec, ws, hx, x, mask, training, seed, kernel, results):
    """LN over H = 4 units is ill-conditioned in float32 (1/std amplifies rounding;
    the float32 reference is itself up to ~7e-4 from its float64 result). So: the
    same leaves in float64 must agree to 1e-10, and each float32 result must be
    within 2e-5 of that float64 truth relative to its size, or within 8x the
    float32 reference's own distance to it (measured: at most 5.2x)."""
    up = lambda t: t.detach().double().requires_grad_(True)  # noqa: E731
    ws64 = [{k: up(v) for k, v in w.items()} for w in ws]
    truth, mine64 = _results(core, spec, ws64, tuple(up(h) for h in hx), up(x), mask, training,
                             seed, kernel)
    assert core.max_abs_diff(truth, mine64) <= core.TOL[F64]
    ref_err = core.max_abs_diff(results[0], truth)
    for k, (mine, exact) in enumerate(zip(core.flat(results[1]), core.flat(truth))):
        size = max(1.0, exact.detach().abs().max().item()) if exact.numel() else 1.0
        bound = max(core.TOL[F32] * size, 8 * ref_err)
        assert core.max_abs_diff(mine, exact) <= bound, f"result {k}"


@pytest.mark.parametrize("case", MATRIX, ids=[c[0] for c in MATRIX])
@pytest.mark.parametrize("kernel,context", RUNS, ids=[f"{k}{'-' + c if c else ''}"
                                                      for k, c in RUNS])
def test_kernel_conforms_to_the_reference(core, kernel, context, case):
    _, spec_kw, dtype, kind, training, seed = case
    spec = RecurrentSpec(input_size=I, hidden_size=H, **spec_kw)
    mask = None if kind is None else torch.tensor(MASKS[kind], dtype=torch.bool)
    k = {kk.name: kk for kk in registry.kernels()}[kernel]
    why = k.why_not(spec, **_facts(spec, mask, training, dtype))
    if why is not None:
        pytest.skip(f"{kernel} refuses it: {why}")
    factory = CONTEXTS.get(kernel, {}).get(context, contextlib.nullcontext)
    with factory():
        ws, hx = core.spec_weights(spec, dtype), core.spec_state(spec, B, dtype)
        x = _x(dtype, mask)
        results = _results(core, spec, ws, hx, x, mask, training, seed, kernel)
        if spec.layer_norm and dtype == F32:
            _check_float32_layer_norm(core, spec, ws, hx, x, mask, training, seed, kernel,
                                      results)
        else:
            assert core.max_abs_diff(results[0], results[1]) <= core.TOL[dtype]


def test_every_registered_kernel_is_exercised_by_the_matrix():
    """A kernel whose why_not refused the whole matrix would pass vacuously."""
    for k in registry.kernels():
        ran = 0
        for _, spec_kw, dtype, kind, training, _ in MATRIX:
            spec = RecurrentSpec(input_size=I, hidden_size=H, **spec_kw)
            mask = None if kind is None else torch.tensor(MASKS[kind], dtype=torch.bool)
            ran += k.why_not(spec, **_facts(spec, mask, training, dtype)) is None
        assert ran >= 10, f"kernel {k.name!r} accepts only {ran} of {len(MATRIX)} configurations"


def test_the_harness_catches_a_wrong_kernel(core, monkeypatch):
    """Register a kernel that is off by a little on one output: the check fails."""
    from rnnkit.kernels import reference
    from rnnkit.kernels.base import Kernel

    def wrong(spec, weights, x, hx, mask, *, training, generator=None):
        out, st = reference.run(spec, weights, x, hx, mask, training=training,
                                generator=generator)
        return out * (1 + 1e-4), st

    monkeypatch.setitem(registry._KERNELS, "wrong", Kernel("wrong", -1, lambda s, **f: None,
                                                           wrong))
    spec = RecurrentSpec("gru", I, H)
    ws, hx = core.spec_weights(spec), core.spec_state(spec, B)
    res = _results(core, spec, ws, hx, _x(F64, None), None, False, None, "wrong")
    assert core.max_abs_diff(res[0], res[1]) > core.TOL[F64]
    registry._CHOICES.clear()
