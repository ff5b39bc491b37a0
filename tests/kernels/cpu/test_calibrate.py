"""backend="auto"'s choice between the native LSTM and torch's oneDNN LSTM (kernel.yields):
oneDNN for every plain LSTM on an uncalibrated CPU; with a calibration (calibrate.py), the
native kernel exactly where it measured at least MARGIN faster, at the grid point covering
the batch and hidden size; every other configuration untouched. And the calibration itself:
parity first, written atomically beside the build, read as JSON only."""
import json

import pytest
import torch

from rnnkit.kernels.cpu import build, calibrate
from rnnkit.kernels.cpu.kernel import yields
from rnnkit.kernels.spec import RecurrentSpec


@pytest.fixture(autouse=True)
def native():
    """Overrides conftest's: these tests run once; only the last needs the real kernel."""
    yield None


@pytest.fixture
def threads():
    n = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(n)


def lstm(H=128, **kw):
    return RecurrentSpec("lstm", H, H, **kw)


def facts(training=True, batch=8, mask_kind="none"):
    return dict(training=training, batch=batch, mask_kind=mask_kind, device=torch.device("cpu"),
                dtype=torch.float32)


def calibrated(monkeypatch, tmp_path, points):
    where = tmp_path / calibrate.FILE
    where.write_text(json.dumps({"version": calibrate.VERSION, "points": [
        {"threads": n, "training": tr, "batch": B, "hidden": H, "ratio": r}
        for n, tr, B, H, r in points]}))
    monkeypatch.setattr(calibrate, "path", lambda: where)
    calibrate.load.cache_clear()
    return where


@pytest.fixture(autouse=True)
def forget_calibration(monkeypatch, tmp_path):
    """No test sees this machine's real calibration: by default there is none."""
    monkeypatch.setattr(calibrate, "path", lambda: tmp_path / "none" / calibrate.FILE)
    calibrate.load.cache_clear()
    yield
    calibrate.load.cache_clear()


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("batch,H", [(1, 64), (8, 128), (64, 512), (None, 128)])
def test_uncalibrated_every_plain_lstm_goes_to_onednn(threads, n, training, batch, H):
    threads(n)
    why = yields(lstm(H), **facts(training, batch))
    assert why is not None and "without a calibration" in why and "--calibrate" in why


@pytest.mark.parametrize("spec,kind", [
    (RecurrentSpec("gru", 8, 8), "none"), (RecurrentSpec("rnn", 8, 8), "none"),
    (lstm(peephole=True), "none"), (lstm(layer_norm=True), "none"),
    (lstm(proj_size=4), "none"), (lstm(), "any"), (lstm(zoneout_h=0.1), "none")])
def test_anything_but_a_plain_lstm_torch_runs_is_left_alone(spec, kind):
    assert yields(spec, **facts(mask_kind=kind)) is None


def test_a_calibration_keeps_native_exactly_where_it_measured_faster(monkeypatch, tmp_path,
                                                                     threads):
    calibrated(monkeypatch, tmp_path, [
        (2, True, 1, 64, 1.30), (2, True, 1, 512, 0.90), (2, True, 8, 64, 1.04),
        (2, True, 8, 512, 1.20), (2, False, 1, 64, 0.70), (2, False, 8, 64, 1.50)])
    threads(2)
    assert yields(lstm(64), **facts(True, 1)) is None            # 1.30x: native
    assert yields(lstm(512), **facts(True, 1)) is not None       # 0.90x: oneDNN
    assert yields(lstm(64), **facts(True, 8)) is not None        # 1.04x: under the margin
    # between grid points: the next measured batch and hidden size above
    assert yields(lstm(100), **facts(True, 1)) is not None       # covered by (1, 512): 0.90x
    assert yields(lstm(32), **facts(True, 4)) is not None        # covered by (8, 64): 1.04x
    assert yields(lstm(200), **facts(True, 5)) is None           # covered by (8, 512): 1.20x
    assert yields(lstm(2048), **facts(True, 1000)) is None       # beyond the grid: (8, 512)
    assert yields(lstm(64), **facts(False, 1)) is not None       # inference measured apart
    assert yields(lstm(64), **facts(False, 2)) is None
    why = yields(lstm(512), **facts(True, 1))
    assert "calibration measured torch's oneDNN LSTM as fast or faster" in why
    threads(1)  # a thread count the calibration didn't measure: the conservative rule
    assert "without a calibration" in yields(lstm(64), **facts(True, 1))


@pytest.mark.parametrize("text", ["{not json", json.dumps({"version": 99, "points": []}),
                                  json.dumps({"version": 1, "points": [{"threads": 2}]}),
                                  json.dumps([1, 2])])
def test_an_unreadable_calibration_means_the_conservative_rule(monkeypatch, tmp_path, text):
    where = tmp_path / calibrate.FILE
    where.write_text(text)
    monkeypatch.setattr(calibrate, "path", lambda: where)
    calibrate.load.cache_clear()
    assert calibrate.load() is None
    assert "without a calibration" in yields(lstm(64), **facts(True, 1))


def test_calibrate_checks_parity_times_both_and_writes_what_auto_reads(monkeypatch, tmp_path,
                                                                       one_thread):
    if build.why_unavailable() is not None:
        pytest.skip(f"the native CPU kernel is unavailable: {build.why_unavailable()}")
    where = tmp_path / "cal" / calibrate.FILE
    where.parent.mkdir()
    monkeypatch.setattr(calibrate, "path", lambda: where)
    lines = []
    calibrate.calibrate(batch=(1, 2), hidden=(8,), T=4, threads=[1], rounds=1, budget_s=0.01,
                        passes=1, progress=lines.append)
    doc = json.loads(where.read_text())
    assert [(p["training"], p["batch"]) for p in doc["points"]] == [
        (True, 1), (True, 2), (False, 1), (False, 2)]
    assert all(p["ratio"] > 0 for p in doc["points"])  # 0 would mean a failed parity check
    assert len([m for m in lines if m.startswith("threads=1 ")]) == 4
    assert sorted(p.name for p in where.parent.iterdir()) == [calibrate.FILE]  # no temp left
    table = calibrate.load()
    assert sorted(table) == [(1, False), (1, True)]
    expect = doc["points"][0]["ratio"] >= calibrate.MARGIN
    assert (yields(lstm(8), **facts(True, 1)) is None) == expect


def test_a_failed_parity_check_counts_as_a_loss(monkeypatch, one_thread):
    if build.why_unavailable() is not None:
        pytest.skip(f"the native CPU kernel is unavailable: {build.why_unavailable()}")
    from rnnkit.kernels import torch_fused

    real = torch_fused.run
    monkeypatch.setattr(torch_fused, "run",
                        lambda *a, **kw: tuple(t + 1 if torch.is_tensor(t) else t
                                               for t in real(*a, **kw)))
    assert calibrate.measure_point(False, 1, 8, 4, rounds=1, budget_s=0.01) == 0.0


def test_a_point_keeps_its_smallest_ratio_over_the_passes(monkeypatch, tmp_path):
    """A win must hold in every pass: a busy moment can make either kernel look slow."""
    where = tmp_path / calibrate.FILE
    # per pass: training B=1, B=8, then inference B=1, B=8
    measured = iter([1.30, 0.70, 1.0, 1.0, 0.90, 1.20, 1.0, 1.0])
    monkeypatch.setattr(calibrate, "measure_point", lambda *a, **kw: next(measured))
    monkeypatch.setattr(calibrate, "_busy", lambda: False)
    lines = []
    calibrate.calibrate(batch=(1, 8), hidden=(64,), threads=[2], passes=2, out=where,
                        progress=lines.append)
    points = {p["batch"]: p["ratio"] for p in json.loads(where.read_text())["points"]
              if p["training"]}
    assert points == {1: 0.90, 8: 0.70} and not any("busy" in m for m in lines)


def test_a_busy_machine_is_warned_about(monkeypatch, tmp_path):
    monkeypatch.setattr(calibrate, "measure_point", lambda *a, **kw: 1.0)
    monkeypatch.setattr(calibrate.os, "getloadavg", lambda: (64.0, 64.0, 64.0))
    lines = []
    calibrate.calibrate(batch=(1,), hidden=(64,), threads=[1], passes=1,
                        out=tmp_path / calibrate.FILE, progress=lines.append)
    assert lines[0].startswith("warning: this machine is busy (load average 64.0 on ")
