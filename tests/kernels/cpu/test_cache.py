"""rnnkit.kernels.cpu.cache: the key covers what the binary depends on (by value, not by path),
the trust check refuses folders others could write, the lock dies with its process, and
publishing is all-or-nothing. No compiler needed except where a test says so."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rnnkit.kernels.cpu import build, cache


@pytest.fixture(autouse=True)
def native():
    """Overrides conftest's: these tests need no native kernel and run once."""
    yield None


@pytest.fixture
def cache_env(monkeypatch, tmp_path):
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "cpu-kernels"


def test_the_root_follows_the_environment(cache_env):
    assert cache.root() == cache_env


def test_the_key_changes_with_every_input_it_depends_on(monkeypatch, tmp_path, cache_env):
    base = build.cache_dir()
    assert build.cache_dir() == base  # stable
    assert build.cache_dir(build.FLAG_SETS[1]) != base  # flags
    changes = {
        "cpu": lambda m: m.setattr(cache, "cpu_flags", lambda: "x86_64 flags: sse2"),
        "torch": lambda m: m.setattr(torch, "__version__", "0.0.1"),
        "python": lambda m: m.setattr(sys, "version", "2.7.18"),
        "compiler": lambda m: m.setenv("CXX", "no-such-compiler-for-rnnkit"),
        "ninja": lambda m: m.setattr(cache, "ninja", lambda: "/bin/true"),
    }
    for name, change in changes.items():
        with monkeypatch.context() as m:
            change(m)
            assert build.cache_dir() != base, name
        assert build.cache_dir() == base
    src = tmp_path / "csrc"
    src.mkdir()
    (src / "a.cpp").write_text("int f() { return 1; }")
    inputs = cache.key_inputs(build.FLAG_SETS[0], src)
    (src / "a.cpp").write_text("int f() { return 2; }")  # a changed source never reuses a binary
    assert cache.key(cache.key_inputs(build.FLAG_SETS[0], src)) != cache.key(inputs)


def test_the_key_holds_versions_not_paths(tmp_path):
    inputs = cache.key_inputs(build.FLAG_SETS[0], build.CSRC)
    text = json.dumps(inputs)
    assert str(build.CSRC) not in text and sys.prefix not in text
    assert inputs["torch"] == torch.__version__ and inputs["cflags"].endswith("-fopenmp")
    assert inputs["ninja"] not in ("", "not found")  # the dependency pip installed
    assert cache.tool_version(None) == "not found"


def test_ninja_is_the_one_beside_this_python_when_there_is_one(monkeypatch, tmp_path):
    scripts = tmp_path / "bin"
    scripts.mkdir()
    (scripts / "ninja").write_text("#!/bin/sh\necho 9.9\n")
    (scripts / "ninja").chmod(0o755)
    monkeypatch.setattr(cache.sysconfig, "get_path", lambda name: str(scripts))
    assert cache.ninja() == str(scripts / "ninja")  # activated venv or not, the same one
    (scripts / "ninja").unlink()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert cache.ninja() is None


def test_trusted_folders_are_owned_by_you_or_root_and_not_writable_by_others(tmp_path, monkeypatch):
    safe = tmp_path / "safe"
    safe.mkdir(mode=0o755)
    safe.chmod(0o755)
    assert cache.why_untrusted(safe) is None
    lib = safe / "lib.so"
    lib.write_bytes(b"")
    lib.chmod(0o664)
    assert "can be written by group or others" in cache.why_untrusted(lib)
    assert f"chmod go-w {lib}" in cache.why_untrusted(lib)  # says how to fix it
    lib.chmod(0o644)
    safe.chmod(0o777)
    assert str(safe) in cache.why_untrusted(lib)  # a parent counts as well
    safe.chmod(0o1777)  # sticky, but not root's: another user could still swap our entries
    if os.geteuid() != 0:
        assert cache.why_untrusted(lib) is not None
    safe.chmod(0o755)
    if os.geteuid() == 0:
        os.chown(lib, 4242, -1)
    else:
        monkeypatch.setattr(cache.os, "geteuid", lambda: os.getuid() + 4242)
    assert "belongs to another user" in cache.why_untrusted(lib)


def test_a_root_owned_sticky_tmp_is_accepted_and_symlinks_are_resolved(tmp_path):
    tmp = Path("/tmp")
    st = tmp.stat()
    if st.st_uid != 0 or not st.st_mode & 0o1000:
        pytest.skip("/tmp is not a root-owned sticky folder here")
    assert cache.why_untrusted(tmp) is None
    target = tmp_path / "real"
    target.mkdir()
    target.chmod(0o777)
    link = tmp_path / "link"
    link.symlink_to(target)
    assert str(target) in cache.why_untrusted(link)  # judged where it really is


def test_make_dirs_creates_folders_no_one_else_can_write(tmp_path):
    old = os.umask(0o002)  # a umask that lets the group write
    try:
        cache.make_dirs(tmp_path / "a" / "b" / "c")
    finally:
        os.umask(old)
    for p in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert p.stat().st_mode & 0o777 == 0o755
    assert cache.nearest_existing(tmp_path / "a" / "x" / "y") == tmp_path / "a"


def test_publish_keeps_the_library_and_the_key_and_is_all_or_nothing(tmp_path):
    folder = tmp_path / "cpu-kernels"
    folder.mkdir()
    work = cache.new_build_dir(folder)
    assert work.stat().st_mode & 0o777 == 0o700 and work.name.startswith(".build-")
    (work / "rnnkit_cpu_kernels.so").write_bytes(b"\x7fELF")
    (work / "lstm.o").write_bytes(b"")
    (work / "build.ninja").write_text("")
    lib = cache.publish(work, folder / "k1", {"torch": "x"})
    assert lib == folder / "k1" / "rnnkit_cpu_kernels.so"
    assert sorted(p.name for p in lib.parent.iterdir()) == ["key.json", "rnnkit_cpu_kernels.so"]
    assert lib.parent.stat().st_mode & 0o777 == 0o755 and cache.why_untrusted(lib) is None
    assert not work.exists()
    # a second process that finished later keeps the first build, and removes its own
    later = cache.new_build_dir(folder)
    (later / "rnnkit_cpu_kernels.so").write_bytes(b"other")
    assert cache.publish(later, folder / "k1", {}) == lib and lib.read_bytes() == b"\x7fELF"
    assert not later.exists()
    empty = cache.new_build_dir(folder)
    with pytest.raises(FileNotFoundError, match="rnnkit_cpu_kernels"):
        cache.publish(empty, folder / "k2", {})


def test_stale_build_folders_are_those_whose_builder_is_gone(tmp_path):
    folder = tmp_path / "cpu-kernels"
    folder.mkdir()
    mine = cache.new_build_dir(folder)  # this process is alive
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    gone = folder / f".build-{cache._host()}-{dead.stdout.strip()}-abc"
    gone.mkdir()
    elsewhere = folder / ".build-otherhost-1-abc"  # another machine's: judged by age only
    elsewhere.mkdir()
    assert cache.remove_stale(folder) == [gone]
    old = time.time() - cache.STALE_AFTER_S - 60
    os.utime(elsewhere, (old, old))
    assert cache.remove_stale(folder) == [elsewhere]
    assert mine.exists()


def test_the_build_lock_is_exclusive_and_dies_with_its_process(tmp_path, caplog):
    pytest.importorskip("fcntl")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT);"
         "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'%d' % os.getpid()); print('held', flush=True);"
         "time.sleep(300)", str(tmp_path / "build.lock")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        start = time.monotonic()
        with cache.build_lock(tmp_path, wait_s=1) as held:
            assert held is False  # gave up waiting, in bounded time
        assert time.monotonic() - start < 30
        assert f"waiting (at most 1 s) for process {holder.pid}" in caplog.text
    finally:
        holder.kill()
        holder.wait()
    with cache.build_lock(tmp_path, wait_s=5) as held:  # the OS dropped the dead holder's lock
        assert held is True
        assert (tmp_path / "build.lock").read_text().strip() == str(os.getpid())
