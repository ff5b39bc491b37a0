import os

import pytest

from rnnkit.util.atomic import write_text


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    p = tmp_path / "r.html"
    write_text(p, "old")
    write_text(p, "new")
    assert p.read_text() == "new" and os.listdir(tmp_path) == ["r.html"]


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    p = tmp_path / "r.html"
    write_text(p, "old")
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        write_text(p, "new")
    assert p.read_text() == "old" and os.listdir(tmp_path) == ["r.html"]


def test_the_file_gets_ordinary_permissions_not_mkstemps_private_ones(tmp_path):
    old = os.umask(0o022)
    try:
        write_text(tmp_path / "r.html", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "r.html").stat().st_mode & 0o777 == 0o644


def test_errors_name_the_requested_file_not_the_temporary_one(tmp_path):
    import pytest

    from rnnkit.util.atomic import write_text
    target = tmp_path / "missing" / "out.csv"
    with pytest.raises(FileNotFoundError) as e:
        write_text(target, "x")
    assert str(target) in str(e.value) and ".tmp" not in str(e.value)
    (tmp_path / "adir").mkdir()
    with pytest.raises(OSError) as e:
        write_text(tmp_path / "adir", "x")
    assert "adir" in str(e.value) and ".tmp" not in str(e.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"]   # no temporary file left
# --- issue #10: temporary files of killed writers ------------------------------------------
def test_a_dead_writers_temporary_file_is_removed_by_the_next_save(tmp_path):
    from rnnkit.util.atomic import temp_prefix

    p = tmp_path / "m.rnnkit"
    dead = tmp_path / f"{temp_prefix(p)}{2 ** 22 + 1}-x.tmp"   # above Linux's pid_max: no such process
    alive = tmp_path / f"{temp_prefix(p)}{os.getppid()}-y.tmp"  # a live writer's: kept
    other = tmp_path / f"{temp_prefix(tmp_path / 'other')}{2 ** 22 + 1}-z.tmp"  # another file's
    for f in (dead, alive, other):
        f.write_bytes(b"partial")
    write_text(p, "new")
    assert sorted(os.listdir(tmp_path)) == sorted([alive.name, other.name, "m.rnnkit"])


def test_temporary_files_carry_the_known_prefix_and_the_pid(tmp_path):
    from rnnkit.util.atomic import atomic_path, temp_prefix

    with atomic_path(tmp_path / "a.txt") as tmp:
        assert os.path.basename(tmp).startswith(f"{temp_prefix(tmp_path / 'a.txt')}{os.getpid()}-")
        open(tmp, "w").write("x")
