"""Masks: padding anywhere (left, right, holes, whole rows) gives each sequence
exactly what it gets alone at its true length, and no kernel ever reads a
padded value: padding poisoned with NaN leaves outputs and gradients finite
and equal to the clean run."""
import pytest
import torch

from rnnkit.kernels import registry, torch_fused
from rnnkit.kernels.masks import keep_mask, lengths_to_mask, mask_kind
from rnnkit.kernels.spec import RecurrentSpec

pytestmark = pytest.mark.usefixtures("one_thread")
F64 = torch.float64
T, I, H = 5, 2, 3

ANY = torch.tensor([[1, 1, 1, 0, 0],    # right-padded
                    [0, 0, 1, 1, 1],    # left-padded
                    [1, 0, 1, 0, 1],    # holes
                    [0, 0, 0, 0, 0],    # all padding
                    [1, 1, 1, 1, 1]],   # full
                   dtype=torch.bool).t()  # (T, B)
RIGHT = lengths_to_mask(torch.tensor([3, 5, 1, 4]), T)  # what torch's packed ops can run

CONFIGS = {
    "lstm": dict(mode="lstm"),
    "lstm_proj_bidir_2layers": dict(mode="lstm", proj_size=2, bidirectional=True, num_layers=2),
    "gru_bidir": dict(mode="gru", bidirectional=True),
    "gru_reset_before_ln": dict(mode="gru", reset_after=False, layer_norm=True),
    "rnn_relu_2layers": dict(mode="rnn", activation="relu", num_layers=2),
    "lstm_zoneout_eval": dict(mode="lstm", zoneout_h=0.2, zoneout_c=0.3),
}


def _spec(name):
    kw = dict(CONFIGS[name])
    return RecurrentSpec(kw.pop("mode"), I, H, **kw)


def _run(spec, ws, x, hx, mask, backend):
    out, st, choice = registry.run(spec, ws, x, hx, mask, backend=backend)
    return out, st, choice


def test_lengths_to_mask():
    m = lengths_to_mask(torch.tensor([2, 0, 3]), 3)
    assert m.tolist() == [[True, False, True], [True, False, True], [False, False, True]]


def test_mask_kind():
    assert mask_kind(None) == "none"
    assert mask_kind(torch.ones(4, 2, dtype=torch.bool)) == "none"
    assert mask_kind(RIGHT) == "right"
    for b in (1, 2, 3):  # left, holes, all padding
        assert mask_kind(ANY[:, [0, b]]) == "any"
    assert mask_kind(ANY[:, [0, 4]]) == "right"


def test_keep_mask_values_and_reproducibility():
    like = torch.zeros((), dtype=F64)
    m = keep_mask((200, 50), 0.25, like, torch.Generator().manual_seed(0))
    assert set(m.unique().tolist()) == {0.0, 1 / 0.75} and m.dtype == F64
    assert abs((m == 0).double().mean().item() - 0.25) < 0.02
    assert torch.equal(m, keep_mask((200, 50), 0.25, like, torch.Generator().manual_seed(0)))


def _cases(combos):
    """(config, mask, backend), leaving out what the torch kernel can't run (test_registry)."""
    return [(n, m, b) for n in CONFIGS for m, b in combos
            if b != "torch" or torch_fused.why_not(_spec(n), mask_kind="right", training=False) is None]


@pytest.mark.parametrize("name,mask_name,backend", _cases(
    [("any", "reference"), ("any", "auto"), ("right", "torch"), ("right", "auto")]))
def test_each_row_equals_running_it_alone(core, name, mask_name, backend):
    spec = _spec(name)
    mask = ANY if mask_name == "any" else RIGHT
    B = mask.shape[1]
    ws, hx = core.spec_weights(spec), core.spec_state(spec, B)
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(4), dtype=F64)
    with torch.no_grad():
        out, st, _ = _run(spec, ws, x, hx, mask, backend)
        for b in range(B):
            valid = mask[:, b]
            s0 = tuple(s[:, b:b + 1] for s in hx)
            assert bool((out[~valid, b] == 0).all()), "padded steps must output zeros"
            if not valid.any():  # nothing to run: the final state is the initial state
                assert core.max_abs_diff(tuple(s[:, b:b + 1] for s in st), s0) == 0.0
                continue
            alone, st_alone, _ = _run(spec, ws, x[valid, b:b + 1], s0, None, "reference")
            assert core.max_abs_diff(out[valid, b:b + 1], alone) <= 1e-12
            assert core.max_abs_diff(tuple(s[:, b:b + 1] for s in st), st_alone) <= 1e-12


@pytest.mark.parametrize("name,mask_name,backend", _cases(
    [("any", "reference"), ("right", "torch"), ("right", "auto")]))
def test_padding_is_never_read(core, name, mask_name, backend):
    spec = _spec(name)
    mask = ANY if mask_name == "any" else RIGHT
    B = mask.shape[1]
    ws, hx = core.spec_weights(spec), core.spec_state(spec, B)
    leaves = [*hx, *(t for w in ws for t in w.values())]
    clean = torch.randn(T, B, I, generator=torch.Generator().manual_seed(5), dtype=F64)
    results = []
    for poison in (False, True):
        x = clean.clone()
        if poison:
            x[~mask] = float("nan")
        x.requires_grad_(True)
        out, st, _ = _run(spec, ws, x, hx, mask, backend)
        g = core.grads((out, st), [x, *leaves])
        for t in (out, *st, *g):
            assert bool(torch.isfinite(t).all())
        assert bool((g[0][~mask] == 0).all()), "padded inputs must get zero gradient"
        results.append((out, st, g))
    assert core.max_abs_diff(results[0], results[1]) == 0.0
