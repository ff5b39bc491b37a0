"""``python -m rnnkit.kernels.cpu`` (``make install`` runs it): builds or finds the kernel and
says where; exit status 1 only when it can't be built. Uses the fake extension (conftest)."""
import json

import pytest

from rnnkit.kernels.cpu import __main__ as cli
from rnnkit.kernels.cpu import build


@pytest.fixture(autouse=True)
def native():
    """Overrides conftest's: no real kernel needed, one run per test."""
    yield None


def test_builds_then_finds_and_says_where(fresh_build, monkeypatch, capsys, caplog):
    assert cli.main([]) == 0
    out = capsys.readouterr()
    assert "ready, built in" in out.out and str(build.cache_dir()) in out.out
    assert caplog.text.count("building the native CPU kernels") == 1  # announced
    caplog.clear()
    monkeypatch.setattr(build, "_module", None)
    assert cli.main(["--key"]) == 0
    out = capsys.readouterr()
    assert "building" not in caplog.text and "ready, found in" in out.out
    assert str(build.cache_dir()) in out.out
    inputs = json.loads(out.out[:out.out.index("}") + 1])
    assert {"cpu", "torch", "python", "compiler", "ninja", "cflags", "sources"} <= set(inputs)
    assert len(fresh_build.read_text().splitlines()) == 1


def test_a_failed_build_exits_1_and_turned_off_exits_0(fresh_build, monkeypatch, capsys):
    from torch.utils import cpp_extension

    def broken(**_):
        raise RuntimeError("binding.cpp:1: error: no such thing")

    monkeypatch.setattr(cpp_extension, "load", broken)
    assert cli.main([]) == 1
    assert "unavailable" in capsys.readouterr().out
    monkeypatch.setattr(build, "_error", None)
    monkeypatch.setenv("RNNKIT_CPU_KERNEL", "0")
    assert cli.main([]) == 0
    assert "RNNKIT_CPU_KERNEL=0" in capsys.readouterr().out


def test_calibrate_writes_beside_the_build_and_says_what_auto_will_do(fresh_build, monkeypatch,
                                                                      capsys, tmp_path):
    from rnnkit.kernels.cpu import calibrate

    def fake(**_):  # the measurement itself is tested in test_calibrate.py
        where = build.loaded_from.parent / calibrate.FILE
        where.write_text(json.dumps({"version": calibrate.VERSION, "points": [
            {"threads": 1, "training": True, "batch": 1, "hidden": 64, "ratio": r}
            for r in (1.2, 0.7, 1.01)]}))
        return where

    monkeypatch.setattr(calibrate, "calibrate", fake)
    assert cli.main(["--calibrate"]) == 0
    out = capsys.readouterr().out
    assert f"calibration written to {build.cache_dir()}" in out
    assert "keeps the native LSTM at 1 of the measured points" in out


def test_calibrate_without_a_kernel_exits_1(fresh_build, monkeypatch, capsys):
    monkeypatch.setenv("RNNKIT_CPU_KERNEL", "0")
    assert cli.main(["--calibrate"]) == 1
    assert "unavailable" in capsys.readouterr().out
