import os

import pytest

from rnnkit.tools.atomic import write_text


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

    from rnnkit.tools.atomic import write_text
    target = tmp_path / "missing" / "out.csv"
    with pytest.raises(FileNotFoundError) as e:
        write_text(target, "x")
    assert str(target) in str(e.value) and ".tmp" not in str(e.value)
    (tmp_path / "adir").mkdir()
    with pytest.raises(OSError) as e:
        write_text(tmp_path / "adir", "x")
    assert "adir" in str(e.value) and ".tmp" not in str(e.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"]   # no temporary file left
