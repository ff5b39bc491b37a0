"""rnnkit.kernels.cpu beyond the conformance harness (tests/kernels/test_conformance.py,
which runs it against the reference on the shared matrix): against torch.nn, its
choices under backend="auto", its why_not, batch slices and wide layers, with
NaN-poisoned buffers (conftest.py)."""
import itertools
import json

import pytest
import torch

from rnnkit.kernels import cpu, registry
from rnnkit.kernels.spec import RecurrentSpec

T, B, I, H = 5, 4, 3, 4
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
}
# (T, B) masks, True = valid step; columns are samples.
MASKS = {
    "right": [[1, 1, 1, 1], [1, 1, 1, 0], [1, 0, 1, 0], [1, 0, 0, 0], [1, 0, 0, 0]],
    "left": [[0, 1, 0, 0], [0, 1, 0, 1], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]],
    "holes": [[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 0, 1], [0, 1, 1, 0], [1, 0, 1, 1]],
    "all_padded_row": [[1, 0, 1, 1], [1, 0, 1, 0], [1, 0, 0, 1], [0, 0, 1, 1], [1, 0, 1, 0]],
}


def _spec(cell, **kw):
    base = dict(CELLS[cell])
    return RecurrentSpec(base.pop("mode"), I, H, **base, **kw)


def _x(dtype, mask=None):
    x = torch.randn(T, B, I, generator=torch.Generator().manual_seed(2), dtype=dtype)
    if mask is not None:  # padding holds NaN: the kernel must never read it
        x = torch.where(mask.unsqueeze(-1), x, torch.full((), float("nan"), dtype=dtype))
    return x.requires_grad_(True)


def test_training_masks_differ_between_seeds(core):
    spec = _spec("lstm", recurrent_dropout=0.5, zoneout_h=0.5, zoneout_c=0.5)
    ws, hx = core.spec_weights(spec, torch.float32), core.spec_state(spec, B, torch.float32)
    x = _x(torch.float32)
    outs = [cpu.run(spec, ws, x, hx, None, training=True,
                    generator=torch.Generator().manual_seed(s))[0] for s in (1, 1, 2)]
    assert torch.equal(outs[0], outs[1])
    assert not torch.equal(outs[0], outs[2])


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_auto_picks_cpu_and_the_native_call_runs(core, cell, training):
    """The spy: backend="auto" chooses "cpu", and the native loop is what ran."""
    spec = _spec(cell, bidirectional=True, num_layers=2, recurrent_dropout=0.2, zoneout_h=0.1)
    ws, hx = core.spec_weights(spec, torch.float32), core.spec_state(spec, B, torch.float32)
    mask = torch.tensor(MASKS["holes"], dtype=torch.bool)
    mode = "_".join(cell.split("_")[:2]) if cell.startswith("rnn") else cell.split("_")[0]
    key = (mode, "train" if training else "infer")
    before = cpu.calls[key]
    with torch.set_grad_enabled(training):
        _, _, choice = registry.run(spec, ws, _x(torch.float32, mask), hx, mask,
                                    training=training, backend="auto")
    assert (choice.kernel, choice.rejected) == ("cpu", {})
    assert cpu.calls[key] - before == 4  # 2 layers x 2 directions


def test_layer_norm_rejects_partial_gains(core, native):
    """The native call wants all three LN tensors (γ_hh, γ_c, β_c) or none for
    the LSTM, and γ_hh alone for the RNN and the GRU."""
    spec = _spec("lstm_ln")
    w = core.spec_weights(spec, torch.float32)[0]
    h0, c0 = (s[0] for s in core.spec_state(spec, B, torch.float32))
    lstm = {"mode": "lstm", "reverse": False, "save": False, "eps": 1e-5,
            "xg": torch.zeros(T, B, 4 * H), "w_hh": w["weight_hh"].detach(),
            "h0": h0.detach(), "c0": c0.detach()}
    with pytest.raises(ValueError, match="ln_hh, ln_c_weight and ln_c_bias"):
        native.forward({**lstm, "ln_hh": w["ln_hh"].detach()})
    with pytest.raises(ValueError, match="ln_c_bias"):
        native.forward({**lstm, "ln_hh": w["ln_hh"].detach(),
                        "ln_c_weight": w["ln_c_weight"].detach(), "ln_c_bias": torch.zeros(H + 1)})
    for mode, G in (("rnn_tanh", 1), ("gru", 3)):
        other = {"mode": mode, "reverse": False, "save": False, "eps": 1e-5,
                 "xg": torch.zeros(T, B, G * H), "w_hh": w["weight_hh"].detach()[:G * H],
                 "h0": h0.detach(), "ln_hh": w["ln_hh"].detach()[:G * H]}
        if mode == "gru":
            other["reset_after"] = True
        with pytest.raises(ValueError, match="`ln_c_weight` was given, but it is the LSTM's"):
            native.forward({**other, "ln_c_weight": w["ln_c_weight"].detach()})
        with pytest.raises(ValueError, match="`ln_c_bias` was given, but it is the LSTM's"):
            native.forward({**other, "ln_c_bias": torch.zeros(H)})


@pytest.mark.parametrize("spec_kw,reason", [
    (dict(mode="gru", activation="relu"), "activations"),
    (dict(mode="lstm", recurrent_activation="hard_sigmoid"), "activations"),
])
def test_why_not_names_what_it_lacks(spec_kw, reason):
    spec = RecurrentSpec(input_size=I, hidden_size=H, **spec_kw)
    assert reason in cpu.why_not(spec, device=torch.device("cpu"), dtype=torch.float32)
    _, choice = registry.choose(spec, "auto", mask_kind="none", training=False,
                                device=torch.device("cpu"), dtype=torch.float32)
    assert choice.kernel != "cpu" and reason in choice.rejected["cpu"]
    with pytest.raises(ValueError, match="backend='cpu' can't run"):
        registry.choose(spec, "cpu", mask_kind="none", training=False,
                        device=torch.device("cpu"), dtype=torch.float32)


@pytest.mark.parametrize("device,dtype,reason", [
    ("cpu", torch.float16, "float32 and float64 only"),
    ("cpu", torch.bfloat16, "float32 and float64 only"),
    ("meta", torch.float32, "CPU only"),
])
def test_why_not_device_and_dtype(device, dtype, reason):
    spec = RecurrentSpec("gru", I, H)
    assert reason in cpu.why_not(spec, device=torch.device(device), dtype=dtype)


TORCH_NN = {"rnn_tanh": (torch.nn.RNN, {}), "rnn_relu": (torch.nn.RNN, {"nonlinearity": "relu"}),
            "gru": (torch.nn.GRU, {}), "lstm": (torch.nn.LSTM, {}),
            "lstm_proj": (torch.nn.LSTM, {"proj_size": 2})}


@pytest.mark.parametrize("cell,L,bidirectional,padded", list(itertools.product(
    sorted(TORCH_NN), [1, 2], [False, True], [False, True])))
def test_matches_torch_nn(core, cell, L, bidirectional, padded):
    """The same numbers as torch.nn, on torch.nn's own parameters (padded: packed sequences)."""
    cls, kw = TORCH_NN[cell]
    torch.manual_seed(0)
    m = cls(I, H, num_layers=L, bidirectional=bidirectional, **kw)
    spec = _spec(cell, num_layers=L, bidirectional=bidirectional)
    names = [f"_l{k}" + ("_reverse" if d else "") for k in range(L) for d in range(1 + bidirectional)]
    ws = [{n[:-len(s)]: p for n, p in m.named_parameters() if n.endswith(s)} for s in names]
    hx = core.spec_state(spec, B, torch.float32)
    lengths = torch.tensor([5, 3, 4, 1] if padded else [T] * B)
    mask = torch.arange(T).unsqueeze(1) < lengths
    x = _x(torch.float32)
    leaves = [x, *hx, *m.parameters()]
    out, st = cpu.run(spec, ws, x, hx, mask if padded else None, training=False)
    mine = (out, st, core.grads((out, st), leaves))
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
    ref_out, ref_st = m(packed, hx if cell.startswith("lstm") else hx[0])
    ref_out = torch.nn.utils.rnn.pad_packed_sequence(ref_out, total_length=T)[0]
    ref_st = ref_st if isinstance(ref_st, tuple) else (ref_st,)
    theirs = (ref_out, ref_st, core.grads((ref_out, ref_st), leaves))
    assert core.max_abs_diff(mine, theirs) <= core.TOL[torch.float32]


@pytest.fixture
def calibration(monkeypatch, tmp_path):
    """The plain-LSTM policy's input (cpu/calibrate.py), isolated from this machine's real
    calibration: none by default; ``calibration(points)`` writes one. Forgets the
    registry's cached choices, which were made under the machine's own."""
    from rnnkit.kernels.cpu import calibrate

    where = tmp_path / calibrate.FILE
    monkeypatch.setattr(calibrate, "path", lambda: where)
    calibrate.load.cache_clear()
    registry._CHOICES.clear()

    def write(points):
        where.write_text(json.dumps({"version": calibrate.VERSION, "points": [
            {"threads": n, "training": tr, "batch": B, "hidden": H, "ratio": r}
            for n, tr, B, H, r in points]}))
        calibrate.load.cache_clear()
        registry._CHOICES.clear()
    yield write
    calibrate.load.cache_clear()
    registry._CHOICES.clear()


@pytest.mark.parametrize("spec_kw,mask_kind,expected", [
    (dict(mode="lstm"), "none", "torch"),                 # uncalibrated: oneDNN's LSTM
    (dict(mode="lstm"), "any", "cpu"),                    # torch can't run holes: no yielding
    (dict(mode="lstm", peephole=True), "none", "cpu"),
    (dict(mode="lstm", proj_size=2), "none", "cpu"),      # oneDNN has no projection
    (dict(mode="gru"), "none", "cpu"),
    (dict(mode="rnn"), "none", "cpu"),
    (dict(mode="lstm", layer_norm=True), "none", "cpu"),  # torch has no LN-LSTM to yield to
    (dict(mode="rnn", layer_norm=True), "none", "cpu"),
    (dict(mode="gru", layer_norm=True), "none", "cpu"),
])
def test_auto_takes_the_faster_kernel_and_says_why(calibration, spec_kw, mask_kind, expected):
    spec = RecurrentSpec(input_size=I, hidden_size=H, **spec_kw)
    facts = dict(mask_kind=mask_kind, training=True, device=torch.device("cpu"), dtype=torch.float32)
    _, choice = registry.choose(spec, "auto", **facts)
    assert choice.kernel == expected
    if expected == "torch":
        assert "oneDNN" in choice.rejected["cpu"]
    # yielding is a preference of "auto" only: the explicit backend still runs it
    assert registry.choose(spec, "cpu", **facts)[1].kernel == "cpu"


# A calibration in which the native LSTM won some points and lost others (ratios: oneDNN
# time / native time; MARGIN 1.05).
POINTS = [(2, True, 8, 128, 1.30), (2, True, 32, 512, 0.80), (2, False, 8, 128, 1.20),
          (2, False, 32, 128, 0.70), (1, True, 1, 128, 1.10), (1, True, 8, 128, 0.60)]


@pytest.mark.parametrize("threads,batch,training,hidden,calibrated,uncalibrated", [
    (2, 8, True, 128, "cpu", "torch"),     # measured 1.30x: native
    (2, 4, True, 100, "cpu", "torch"),     # covered by (8, 128)
    (2, 32, True, 512, "torch", "torch"),  # measured 0.80x: oneDNN
    (2, 16, True, 128, "torch", "torch"),  # covered by (32, 512): oneDNN
    (2, 8, False, 128, "cpu", "torch"),    # inference measured apart: 1.20x
    (2, 32, False, 128, "torch", "torch"),
    (1, 1, True, 128, "cpu", "torch"),     # one thread, one sequence: 1.10x
    (1, 8, True, 128, "torch", "torch"),   # one thread with a batch: 0.60x
    (1, 1, False, 128, "torch", "torch"),  # one-thread inference not calibrated: oneDNN
    (2, None, True, 128, "torch", "torch"),  # no batch given: counted as a big one
])
def test_auto_plain_lstm_policy(calibration, threads, batch, training, hidden, calibrated,
                                uncalibrated):
    spec = RecurrentSpec(input_size=I, hidden_size=hidden, mode="lstm")
    facts = dict(mask_kind="none", training=training, device=torch.device("cpu"),
                 dtype=torch.float32, batch=batch)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        uncal = registry.choose(spec, "auto", **facts)[1]
        calibration(POINTS)
        cal = registry.choose(spec, "auto", **facts)[1]
    finally:
        torch.set_num_threads(before)
    assert (cal.kernel, uncal.kernel) == (calibrated, uncalibrated)
    assert "oneDNN" in uncal.rejected["cpu"] and "--calibrate" in uncal.rejected["cpu"]


@pytest.mark.parametrize("cell", ["lstm_ln_peephole_proj", "gru_ln", "gru_reset_before",
                                  "rnn_relu_ln"])
def test_batch_slices_on_two_threads(core, native, cell):
    """Slices really running at once on torch's two threads (not one after the other, as
    the conftest's 3-slices run does) give the one-call results: no shared scratch, and
    the layer-norm gains' grads summed once per slice. float64, so that only a race or a
    slicing bug could make a difference beyond rounding."""
    spec = _spec(cell, bidirectional=True, recurrent_dropout=0.3, zoneout_h=0.2)
    mask = torch.tensor(MASKS["holes"], dtype=torch.bool)
    ws, hx = core.spec_weights(spec, torch.float64), core.spec_state(spec, B, torch.float64)
    x = _x(torch.float64, mask)
    leaves = [x, *hx, *(t for w in ws for t in w.values())]
    results, threads = [], torch.get_num_threads()
    try:
        for slices, n_threads in ((1, 1), (2, 2)):
            native.set_batch_slices(slices)
            torch.set_num_threads(n_threads)
            out, st, choice = registry.run(spec, ws, x, hx, mask, training=True, backend="cpu",
                                           generator=torch.Generator().manual_seed(5))
            results.append((out, st, core.grads((out, st), leaves)))
    finally:
        torch.set_num_threads(threads)
    assert core.max_abs_diff(results[0], results[1]) <= 1e-12


@pytest.mark.parametrize("hidden", [150, 120])
@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn"])
def test_one_and_two_row_products_of_a_wide_layer(core, mode, batch, hidden):
    """B <= 2 steps take the AVX-512 products of csrc/blas.cpp (on CPUs that have them):
    H = 150 gives a full 128-column block and a masked 22-column tail in the backward
    product, H = 120 one masked block of eight vectors; 8-row blocks plus leftover rows
    in the forward one."""
    spec = RecurrentSpec(mode, 5, hidden, reset_after=(mode != "gru"))
    # weights at about 1/sqrt(H), as torch's init: a saturated, chaotic layer would turn
    # float32 rounding into differences of any size
    ws = core.spec_weights(spec, torch.float32, scale=0.1)
    hx = core.spec_state(spec, batch, torch.float32)
    x = torch.randn(4, batch, 5, generator=torch.Generator().manual_seed(3)).requires_grad_(True)
    leaves = [x, *hx, *(t for w in ws for t in w.values())]
    results = []
    for backend in ("reference", "cpu"):
        out, st, choice = registry.run(spec, ws, x, hx, None, training=True, backend=backend)
        results.append((out, st, core.grads((out, st), leaves)))
    # gradients summed over 150 units reach ~30 here: float32 parity relative to their size
    for k, (mine, ref) in enumerate(zip(core.flat(results[1]), core.flat(results[0]))):
        size = max(1.0, ref.detach().abs().max().item())
        assert core.max_abs_diff(mine, ref) <= core.TOL[torch.float32] * size, f"result {k}"


def test_blas_inside_a_batch_slice_runs_on_the_slices_thread(native):
    """No nested parallel region: with MKL_DYNAMIC=FALSE (set before MKL starts, hence a
    fresh process) MKL would let each slice start a team of its own; binding.cpp pins
    MKL's thread-local count to 1 inside the slices."""
    import os
    import subprocess
    import sys

    code = ("import torch; torch.set_num_threads(2); from rnnkit.kernels.cpu import build; "
            "m = build.load(); import ctypes; print(m.mkl_threads_in_slice())")
    env = dict(os.environ, MKL_DYNAMIC="FALSE")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    seen = int(out.stdout.split()[-1])
    if seen == -1:
        pytest.skip("torch is not linked with MKL here: no MKL team to nest")
    assert seen == 1
