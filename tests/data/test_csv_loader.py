"""CSV loader: clear errors for each documented problem, plus hypothesis fuzzing."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("pandas")
from rnnkit.data.csv_loader import load_csv_series  # noqa: E402


def write(tmp_path, text, name="d.csv", mode="w"):
    p = tmp_path / name
    if mode == "wb":
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def test_reads_target_and_features(tmp_path):
    p = write(tmp_path, "t,a,b\n1,2,3\n4,5,6\n")
    s = load_csv_series(p, target="b", features=["a", "b"])
    np.testing.assert_array_equal(s.values, [[2, 3], [5, 6]])
    np.testing.assert_array_equal(s.target, [3, 6])
    assert s.columns == ["a", "b"] and s.lines.tolist() == [2, 3]


def test_missing_file_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_csv_series(tmp_path / "nope.csv", target="x")


def test_missing_target_column_lists_header(tmp_path):
    p = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(ValueError) as e:
        load_csv_series(p, target="c")
    assert "target" in str(e.value) and "'c'" in str(e.value) and "['a', 'b']" in str(e.value)


def test_missing_feature_column(tmp_path):
    p = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(ValueError, match="features.*'z'"):
        load_csv_series(p, target="a", features=["z"])


def test_non_numeric_target_gives_value_and_line(tmp_path):
    p = write(tmp_path, "a\n1\n2\nthree\n")
    with pytest.raises(ValueError, match="'three' on line 4"):
        load_csv_series(p, target="a")


@pytest.mark.parametrize("text, match", [
    ("", "empty"),
    ("a,b\n", "no data rows"),
])
def test_empty_csv(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        load_csv_series(write(tmp_path, text), target="a")


def test_nan_rows_reported_with_line_numbers(tmp_path):
    p = write(tmp_path, "a,b\n1,2\n,3\n4,NaN\n5,6\n")
    with pytest.raises(ValueError, match=r"line\(s\) \[3, 4\]"):
        load_csv_series(p, target="a", features=["a", "b"])
    s = load_csv_series(p, target="a", features=["a", "b"], nan_policy="drop")
    np.testing.assert_array_equal(s.values, [[1, 2], [5, 6]])
    assert s.lines.tolist() == [2, 5]
    s = load_csv_series(p, target="a", features=["a", "b"], nan_policy="fill")
    np.testing.assert_array_equal(s.values, [[1, 2], [1, 3], [4, 3], [5, 6]])


def test_fill_leading_nan_and_all_nan(tmp_path):
    p = write(tmp_path, "a,b\n,1\n2,\n")
    s = load_csv_series(p, target="a", nan_policy="fill")
    np.testing.assert_array_equal(s.target, [2, 2])
    p = write(tmp_path, "a,b\n,1\n,2\n")
    with pytest.raises(ValueError, match="column 'a'"):
        load_csv_series(p, target="a", nan_policy="fill")
    with pytest.raises(ValueError, match="nothing left"):
        load_csv_series(p, target="a", nan_policy="drop")


def test_bad_arguments(tmp_path):
    p = write(tmp_path, "a\n1\n")
    with pytest.raises(ValueError, match="nan_policy"):
        load_csv_series(p, target="a", nan_policy="ignore")
    with pytest.raises(TypeError, match="target"):
        load_csv_series(p, target=0)
    with pytest.raises(TypeError, match="path"):
        load_csv_series(123, target="a")
    with pytest.raises(ValueError, match="directory"):
        load_csv_series(tmp_path, target="a")


def test_not_utf8(tmp_path):
    p = write(tmp_path, b"a\n1\n\xe9\n", mode="wb")
    with pytest.raises(ValueError, match="UTF-8"):
        load_csv_series(p, target="a")


# -- fuzzing ---------------------------------------------------------------------------
cells = st.one_of(st.integers(-10**6, 10**6).map(str),
                  st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
                  st.sampled_from(["", "nan", "NA", "x", "1e3", " 2 ", "-"]))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cells, min_size=2, max_size=2), max_size=8),
       policy=st.sampled_from(["raise", "drop", "fill"]))
def test_fuzz_structured_rows(tmp_path, rows, policy):
    p = write(tmp_path, "a,b\n" + "".join(",".join(r) + "\n" for r in rows))
    try:
        s = load_csv_series(p, target="b", features=["a", "b"], nan_policy=policy)
    except ValueError as e:
        assert str(e)          # a message, never an unexplained crash
        return
    assert s.values.shape == (len(s.target), 2) and s.values.dtype == np.float64
    assert not np.isnan(s.values).any()
    np.testing.assert_array_equal(s.values[:, 1], s.target)
    assert len(s.lines) == len(s.target) and (np.diff(s.lines) > 0).all()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_fuzz_arbitrary_bytes(tmp_path, raw):
    p = write(tmp_path, raw, mode="wb")
    try:
        s = load_csv_series(p, target="a")
    except ValueError as e:
        assert str(e)
        return
    assert s.values.ndim == 2 and s.values.shape[1] == 1
    assert not np.isnan(s.values).any()
    os.remove(p)


def test_time_column_is_kept_verbatim_and_parsed_on_request(tmp_path):
    from rnnkit.data.csv_loader import numeric_columns, parse_time
    f = tmp_path / "d.csv"
    f.write_text("day;v\n2001-01-01;1\n2001-01-02;\n2001-01-04;3\n")
    s = load_csv_series(f, "v", sep=";", time="day", nan_policy="drop")
    assert s.time.tolist() == ["2001-01-01", "2001-01-04"] and s.time_name == "day"
    assert numeric_columns(f, sep=";") == ["v"]
    t = parse_time(s.time)
    assert t.dtype.kind == "M" and (t[1] - t[0]) == np.timedelta64(3, "D")
    assert parse_time(["1", "2.5"]).tolist() == [1.0, 2.5] and parse_time(["a", "b"]) is None
    with pytest.raises(ValueError, match="separated by ';'; pass sep=';'"):
        load_csv_series(f, "v")
