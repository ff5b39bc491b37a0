"""rnnkit.kernels.cpu.build: the extension loads here; when it can't be built the reason
reaches the registry (which then runs the torch / reference kernels) and is logged once; the
cache never loads a library another user could have planted, and a killed build blocks nobody.

Every build here uses a temporary RNNKIT_CACHE_DIR. All but one use a tiny fake extension
(_fake_extension.py: a real shared library that compiles in a fraction of a second, behind a
stand-in for cpp_extension.load); ``test_a_real_build_killed_midway...`` is the one real build."""
import contextlib
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import rnnkit
from rnnkit.kernels import registry
from rnnkit.kernels.cpu import build, cache
from rnnkit.kernels.spec import RecurrentSpec

HELPER = Path(__file__).with_name("_fake_extension.py")


@pytest.fixture(autouse=True)
def native():
    """Overrides conftest's: these tests run once, most without the real kernel."""
    yield None


@pytest.fixture
def real_kernel(one_thread):
    reason = build.why_unavailable()  # compiles once per machine, then loads the cached build
    if reason is not None:
        pytest.skip(f"the native CPU kernel is unavailable: {reason}")
    return build.load()


@pytest.fixture
def fresh(fresh_build):
    return fresh_build


def forget(monkeypatch):
    monkeypatch.setattr(build, "_module", None)
    monkeypatch.setattr(build, "_error", None)


def builds(log: Path) -> list:
    return log.read_text().splitlines() if log.exists() else []


def test_loaded_with_a_blas_and_a_cpu_keyed_cache(real_kernel):
    assert build.why_unavailable() is None
    assert "BLAS" in real_kernel.blas_name() or "loops" in real_kernel.blas_name()
    assert "-march=native" in build.CFLAGS  # hence the cache key includes the CPU flags
    assert "cpu" in cache.key_inputs(build.FLAG_SETS[0], build.CSRC)
    assert build.loaded_from is not None and build.loaded_from.name.endswith(".so")


def test_poison_flag_round_trips(real_kernel):
    build.set_poison(True)
    assert real_kernel.poison() is True
    build.set_poison(False)
    assert real_kernel.poison() is False


def test_why_no_toolchain_says_when_the_native_tests_may_skip(monkeypatch):
    """None here (a compiler and ninja: a failed build must fail the tests); a reason when
    the user turned the kernel off or no compiler is found."""
    assert build.why_no_toolchain() is None
    monkeypatch.setenv("RNNKIT_CPU_KERNEL", "0")
    assert "RNNKIT_CPU_KERNEL=0" in build.why_no_toolchain()
    monkeypatch.delenv("RNNKIT_CPU_KERNEL")
    monkeypatch.setenv("CXX", "no-such-compiler-rnnkit")
    assert "no C++ compiler" in build.why_no_toolchain()


def test_disabled_by_environment(fresh, monkeypatch, caplog):
    monkeypatch.setenv("RNNKIT_CPU_KERNEL", "0")
    with caplog.at_level(logging.WARNING, logger="rnnkit"):
        assert "RNNKIT_CPU_KERNEL=0" in build.why_unavailable()
        build.why_unavailable()
    assert len([r for r in caplog.records if "unavailable" in r.getMessage()]) == 1  # once
    assert builds(fresh) == []
    spec = RecurrentSpec("gru", 3, 4)
    _, choice = registry.choose(spec, "auto", mask_kind="none", training=False,
                                device=torch.device("cpu"), dtype=torch.float32)
    assert choice.kernel == "torch" and "RNNKIT_CPU_KERNEL=0" in choice.rejected["cpu"]


def test_build_failure_is_a_reason_not_a_crash(fresh, monkeypatch, caplog):
    from torch.utils import cpp_extension

    def broken(**_):
        raise RuntimeError("ninja: build stopped\nlstm.cpp:1: error: something broke")

    monkeypatch.setattr(cpp_extension, "load", broken)
    with caplog.at_level(logging.WARNING, logger="rnnkit"):
        reason = build.why_unavailable()
    assert "error: something broke" in reason
    assert any("unavailable" in r.getMessage() for r in caplog.records)
    with pytest.raises(RuntimeError, match="something broke"):
        build.load()
    assert not list(cache.root().glob(".build-*"))  # the failed build's folder is gone


def test_a_build_is_announced_once_and_published_then_loaded_without_building(
        fresh, monkeypatch, caplog):
    with caplog.at_level(logging.WARNING, logger="rnnkit"):
        assert build.load().blas_name() == "fake"
    announced = [r for r in caplog.records if "building the native CPU kernels" in r.getMessage()]
    assert len(announced) == 1 and "once per machine" in announced[0].getMessage()
    assert build.loaded_from == build.cache_dir() / "rnnkit_cpu_kernels.so"
    assert sorted(p.name for p in build.cache_dir().iterdir()) == ["key.json",
                                                                   "rnnkit_cpu_kernels.so"]
    assert len(builds(fresh)) == 1 and build.openmp is True
    forget(monkeypatch)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rnnkit"):
        assert build.load().blas_name() == "fake"
    assert len(builds(fresh)) == 1 and caplog.records == []  # found, not built, and silent


def test_a_damaged_cached_library_is_set_aside_and_rebuilt(fresh, monkeypatch, caplog):
    build.load()
    lib = build.loaded_from
    forget(monkeypatch)
    lib.unlink()  # (never truncate a loaded library in place: its pages are mapped)
    lib.write_bytes(b"not a library")  # a disk error, a truncated copy
    with caplog.at_level(logging.WARNING, logger="rnnkit"):
        assert build.load().blas_name() == "fake"
    assert "can't import the cached kernel" in caplog.text
    assert len(builds(fresh)) == 2 and build.loaded_from == lib and lib.stat().st_size > 100


def test_a_cache_on_a_failing_file_system_is_a_reason_not_a_crash(fresh, monkeypatch):
    def full(*_, **__):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache, "new_build_dir", full)
    assert "No space left on device" in build.why_unavailable()


def test_flag_lists_are_immutable_so_cache_dir_is_stable_after_load(fresh):
    before = build.cache_dir()
    build.load()  # the fake, as torch's load, appends to the flag lists it gets
    assert build.cache_dir() == before
    assert all(isinstance(f, tuple) for flags in build.FLAG_SETS for f in flags)


def test_a_flag_set_that_fails_to_build_falls_back_to_the_next(fresh, monkeypatch):
    # A compiler without OpenMP (or an unknown flag) must not cost the native kernel.
    bad = (("-fno-such-flag-for-rnnkit",), ())
    good = build.FLAG_SETS[1]
    monkeypatch.setattr(build, "FLAG_SETS", (bad, good))
    assert build.load().blas_name() == "fake"
    assert build.openmp is False
    assert build.loaded_from.parent == build.cache_dir(good) != build.cache_dir(bad)


def test_openmp_is_probed_before_the_build():
    # the probe is what keeps a compiler without OpenMP from failing a full build per process
    assert build._probe(build.CFLAGS + build.OPENMP) is None  # this machine's g++ has OpenMP
    why = build._probe(build.CFLAGS + ("-fno-such-flag-for-rnnkit",))
    assert why is not None and "no-such-flag" in why


def test_two_source_folders_with_the_same_contents_share_one_build(fresh, monkeypatch, tmp_path):
    # a second checkout or venv of the same version must not rebuild
    first, second = tmp_path / "checkout1" / "csrc", tmp_path / "checkout2" / "csrc"
    shutil.copytree(build.CSRC, first)
    shutil.copytree(build.CSRC, second)
    monkeypatch.setattr(build, "CSRC", first)
    build.load()
    lib = build.loaded_from
    forget(monkeypatch)
    monkeypatch.setattr(build, "CSRC", second)
    assert build.cache_dir() == lib.parent
    build.load()
    assert build.loaded_from == lib and len(builds(fresh)) == 1


def _old_fallback_folder(tmp: Path) -> Path:
    """Where the code before issue 10 built when the cache wasn't writable: a name any local
    user could compute (and create first)."""
    flags = build.FLAG_SETS[0]
    key = hashlib.sha256("|".join(
        [cache.cpu_flags(), torch.__version__, sys.version, " ".join(flags[0] + flags[1]),
         cache.source_hash(build.CSRC)]).encode()).hexdigest()[:16]
    return tmp / f"rnnkit-cpu-kernels-{key}"


def test_a_library_planted_in_the_old_predictable_folder_is_never_loaded(
        fresh, fake_ext, monkeypatch, tmp_path, caplog):
    shared_tmp = tmp_path / "tmp"
    shared_tmp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(shared_tmp))
    marker = tmp_path / "planted-code-ran"
    planted = _old_fallback_folder(shared_tmp)
    fake_ext.compile_library(planted, "planted", marker=marker)
    # a cache that can't be created (even by root): a regular file stands in its path
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(tmp_path / "not-a-folder" / "cache"))
    with caplog.at_level(logging.WARNING, logger="rnnkit"):
        module = build.load()
    assert not marker.exists(), "the planted library was loaded"
    assert module.blas_name() == "fake"
    assert "private temporary folder" in caplog.text and "not-a-folder" in caplog.text
    [line] = builds(fresh)
    folder, mode = line.split()
    assert Path(folder).parent == shared_tmp and Path(folder) != planted
    assert Path(folder).name.startswith("rnnkit-cpu-kernels-") and mode == "700"
    assert not Path(folder).exists()  # removed once loaded


def test_a_read_only_cache_with_a_valid_build_is_used_as_it_is(fresh, monkeypatch):
    build.load()
    lib = build.loaded_from
    forget(monkeypatch)
    for p in (lib, lib.parent, lib.parent.parent):
        p.chmod(0o555)

    def must_not_build(**_):
        raise AssertionError("rebuilt although the read-only cache holds a valid build")

    from torch.utils import cpp_extension

    monkeypatch.setattr(cpp_extension, "load", must_not_build)
    try:
        assert build.load().blas_name() == "fake"
        assert build.loaded_from == lib and build.openmp is True
    finally:
        for p in (lib.parent.parent, lib.parent):
            p.chmod(0o755)


@pytest.mark.parametrize("make_unsafe", ["world-writable", "other-owner"])
def test_a_build_others_could_have_written_is_refused_with_a_clear_message(
        fresh, monkeypatch, caplog, make_unsafe):
    build.load()
    lib = build.loaded_from
    forget(monkeypatch)
    if make_unsafe == "world-writable":
        lib.parent.chmod(0o777)
        expected = "can be written by group or others"
    elif os.geteuid() == 0:
        os.chown(lib, 4242, -1)
        expected = "belongs to another user (uid 4242"
    else:  # can't give a file away: pretend to be someone else (tmp_path is ours, not root's)
        monkeypatch.setattr(cache.os, "geteuid", lambda: os.getuid() + 4242)
        expected = "belongs to another user"
    monkeypatch.setenv("RNNKIT_TEST_TAG", "private")
    with caplog.at_level(logging.WARNING, logger="rnnkit"):
        assert build.load().blas_name() == "private"  # a private build, not the cached one
    assert f"refusing to load {lib}" in caplog.text and expected in caplog.text
    assert build.loaded_from != lib


def _run(env: dict, timeout: float, **kw):
    return subprocess.run([sys.executable, str(HELPER)], env=env, capture_output=True,
                          text=True, timeout=timeout, **kw)


@pytest.fixture
def sub_env(tmp_path):
    src = str(Path(rnnkit.__file__).parents[1])
    env = dict(os.environ, RNNKIT_CACHE_DIR=str(tmp_path / "cache"),
               RNNKIT_TEST_BUILD_LOG=str(tmp_path / "builds.log"),
               PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    env.pop("RNNKIT_CPU_KERNEL", None)
    return env


def _kill_session(sid: int) -> None:
    """SIGKILL every process of the session ``sid`` (started with start_new_session=True):
    ninja runs each compiler in a process group of its own, which killpg would miss."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # man 5 proc: state ppid pgrp session ...
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(stat.parent.name), signal.SIGKILL)


def _wait_for(path: Path, proc, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def test_a_build_killed_midway_blocks_no_later_process(sub_env, tmp_path):
    started = tmp_path / "started"
    first = subprocess.Popen([sys.executable, str(HELPER)], start_new_session=True,
                             env=dict(sub_env, RNNKIT_TEST_BUILD_SLEEP="300",
                                      RNNKIT_TEST_STARTED=str(started)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(started, first, 120)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # as a Ctrl-C at the wrong moment, or the OOM killer
        first.communicate()
    root = tmp_path / "cache" / "cpu-kernels"
    assert list(root.glob(".build-*/lock"))  # torch's lock file, left behind
    second = _run(sub_env, timeout=120)  # before issue 10: waited forever on that lock
    assert second.returncode == 0 and second.stdout.startswith("LOADED fake"), second.stderr
    assert "building the native CPU kernels" in second.stderr
    assert not list(root.glob(".build-*"))  # the killed build's folder was cleaned up


def test_a_live_but_stuck_build_is_waited_for_a_bounded_time(sub_env, tmp_path):
    started = tmp_path / "started"
    first = subprocess.Popen([sys.executable, str(HELPER)], start_new_session=True,
                             env=dict(sub_env, RNNKIT_TEST_BUILD_SLEEP="300",
                                      RNNKIT_TEST_STARTED=str(started)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(started, first, 120)
        second = _run(dict(sub_env, RNNKIT_TEST_LOCK_WAIT="1"), timeout=120)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.communicate()
    assert second.returncode == 0 and second.stdout.startswith("LOADED fake"), second.stderr
    assert "waiting (at most 1 s) for process" in second.stderr


def test_concurrent_first_use_builds_once_and_everyone_loads_it(sub_env, tmp_path):
    env = dict(sub_env, RNNKIT_TEST_BUILD_SLEEP="2")
    procs = [subprocess.Popen([sys.executable, str(HELPER)], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    libs = {out.split()[2] for out, _ in outs}
    assert len(libs) == 1 and Path(libs.pop()).is_file()
    assert len((tmp_path / "builds.log").read_text().splitlines()) == 1  # the others waited


def test_a_real_build_killed_midway_then_a_new_process_finishes(sub_env, tmp_path):
    # The one real build of the suite (about a minute, more on a loaded machine).
    env = dict(sub_env)
    env.pop("RNNKIT_TEST_BUILD_LOG")
    cmd = [sys.executable, "-m", "rnnkit.kernels.cpu"]
    first = subprocess.Popen(cmd, env=env, start_new_session=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    root = tmp_path / "cache" / "cpu-kernels"
    try:
        deadline = time.monotonic() + 300
        while not list(root.glob(".build-*/build.ninja")):  # torch writes it, then runs ninja
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the build never started"
            time.sleep(0.1)
        time.sleep(2)  # the compilers are running
    finally:
        _kill_session(first.pid)  # the build and its compilers, as a Ctrl-C in a terminal does
        first.communicate()
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "ready, built in" in second.stdout
    assert not list(root.glob(".build-*"))
    [published] = [p for p in root.iterdir() if p.is_dir()]
    third = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert third.returncode == 0 and str(published) in third.stdout
    assert "ready, found in" in third.stdout
    assert "building" not in third.stderr  # loaded, not rebuilt
