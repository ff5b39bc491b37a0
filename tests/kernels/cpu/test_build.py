"""rnnkit.kernels.cpu.build: the extension loads here; when it can't be built the
reason reaches the registry (which then runs the torch / reference kernels)
and is logged once."""
import logging

import pytest
import torch

from rnnkit.kernels import registry
from rnnkit.kernels.cpu import build
from rnnkit.kernels.spec import RecurrentSpec


def test_loaded_with_a_blas_and_a_cpu_keyed_cache(native):
    assert build.why_unavailable() is None
    assert "BLAS" in native.blas_name() or "loops" in native.blas_name()
    assert build.cache_dir().is_dir()
    assert "-march=native" in build.CFLAGS  # hence the cache key includes the CPU flags


def test_poison_flag_round_trips(native):
    assert native.poison() is True  # conftest turns it on for every test


@pytest.fixture
def fresh_state(monkeypatch):
    """Forget the loaded module for one test (restored afterwards)."""
    monkeypatch.setattr(build, "_module", None)
    monkeypatch.setattr(build, "_error", None)
    return monkeypatch


def test_disabled_by_environment(fresh_state, caplog):
    fresh_state.setenv("RNNKIT_CPU_KERNEL", "0")
    with caplog.at_level(logging.WARNING, logger="rnnkit"):
        assert "RNNKIT_CPU_KERNEL=0" in build.why_unavailable()
        build.why_unavailable()
    assert len([r for r in caplog.records if "unavailable" in r.getMessage()]) == 1  # once
    spec = RecurrentSpec("gru", 3, 4)
    _, choice = registry.choose(spec, "auto", mask_kind="none", training=False,
                                device=torch.device("cpu"), dtype=torch.float32)
    assert choice.kernel == "torch" and "RNNKIT_CPU_KERNEL=0" in choice.rejected["cpu"]


def test_build_failure_is_a_reason_not_a_crash(fresh_state, caplog):
    from torch.utils import cpp_extension

    def broken(**_):
        raise RuntimeError("ninja: build stopped\nlstm.cpp:1: error: something broke")

    fresh_state.setattr(cpp_extension, "load", broken)
    with caplog.at_level(logging.WARNING, logger="rnnkit"):
        reason = build.why_unavailable()
    assert "error: something broke" in reason
    assert any("unavailable" in r.getMessage() for r in caplog.records)
    with pytest.raises(RuntimeError, match="something broke"):
        build.load()


def test_the_cache_folder_changes_with_the_sources(monkeypatch, tmp_path):
    # A changed source must never reuse an old binary, whatever the file times say.
    src = tmp_path / "csrc"
    src.mkdir()
    (src / "a.cpp").write_text("int f() { return 1; }")
    monkeypatch.setattr(build, "CSRC", src)
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(tmp_path / "cache"))
    first = build.cache_dir()
    assert build.cache_dir() == first
    (src / "a.cpp").write_text("int f() { return 2; }")
    assert build.cache_dir() != first


def test_a_flag_set_that_fails_to_build_falls_back_to_the_next(monkeypatch):
    # A compiler without OpenMP (or an unknown flag) must not cost the native kernel:
    # load() tries the next flag set. The good set here is the cached default build.
    good = build.FLAG_SETS[0]
    bad = (["-fno-such-flag-for-rnnkit"], [])
    monkeypatch.setattr(build, "FLAG_SETS", (bad, good))
    monkeypatch.setattr(build, "_module", None)
    monkeypatch.setattr(build, "_error", None)
    monkeypatch.setattr(build, "openmp", None)
    module = build.load()
    assert "BLAS" in module.blas_name() or "loops" in module.blas_name()
    assert build.openmp is bool(good[1])
    assert build.cache_dir(bad) != build.cache_dir(good)


def test_openmp_is_probed_before_the_build():
    # the probe is what keeps a compiler without OpenMP from failing a full build per process
    assert build._probe(build.CFLAGS + build.OPENMP) is None  # this machine's g++ has OpenMP
    why = build._probe(build.CFLAGS + ["-fno-such-flag-for-rnnkit"])
    assert why is not None and "no-such-flag" in why
