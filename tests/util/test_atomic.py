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


def test_the_old_location_still_exports_the_same_functions():
    from rnnkit.tools import atomic as old
    from rnnkit.util import atomic as new

    assert (old.write_text, old.write_bytes, old.atomic_path) == (
        new.write_text, new.write_bytes, new.atomic_path)
