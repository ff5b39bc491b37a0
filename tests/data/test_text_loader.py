"""Text loader: UTF-8 round trip, clear errors, hypothesis fuzzing."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit.data.text_loader import load_lines, load_text


def test_reads_utf8_and_normalises(tmp_path):
    p = tmp_path / "t.txt"
    p.write_bytes("\ufeffcaf\u00e9\r\nna\u00efve\rend\n".encode("utf-8"))
    assert load_text(p) == "caf\u00e9\nna\u00efve\nend\n"
    assert load_text(p, normalize_newlines=False) == "caf\u00e9\r\nna\u00efve\rend\n"


def test_lines(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("a\n\n b\n", encoding="utf-8")
    assert load_lines(p) == ["a", " b"]
    assert load_lines(p, skip_blank=False) == ["a", "", " b"]


def test_latin1_file_is_a_value_error_with_offset(tmp_path):
    p = tmp_path / "l.txt"
    p.write_bytes("caf\u00e9".encode("latin-1"))
    with pytest.raises(ValueError) as e:
        load_text(p)
    msg = str(e.value)
    assert "UTF-8" in msg and "offset 3" in msg and "l.txt" in msg


def test_missing_and_bad_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="none.txt"):
        load_text(tmp_path / "none.txt")
    with pytest.raises(ValueError, match="directory"):
        load_text(tmp_path)
    with pytest.raises(TypeError, match="path"):
        load_text(None)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300))
def test_fuzz_bytes(tmp_path, raw):
    p = tmp_path / "f.txt"
    p.write_bytes(raw)
    try:
        expected = raw.decode("utf-8")
    except UnicodeDecodeError:
        with pytest.raises(ValueError, match="UTF-8"):
            load_text(p)
        return
    got = load_text(p, normalize_newlines=False)
    assert got == (expected[1:] if expected.startswith("\ufeff") else expected)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_fuzz_text_round_trip(tmp_path, text):
    p = tmp_path / "u.txt"
    p.write_bytes(text.encode("utf-8"))
    want = text[1:] if text.startswith("\ufeff") else text
    assert load_text(p) == want.replace("\r\n", "\n").replace("\r", "\n")
