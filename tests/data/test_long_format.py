import numpy as np
import pytest

from rnnkit.data.long_format import read_long_csv


def _csv(tmp_path, text, name="long.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_groups_by_id_in_first_appearance_order_and_sorts_by_time(tmp_path):
    p = _csv(tmp_path, "id,t,x,y,label\n"
                       "b,2,20,0.2,dn\n"
                       "a,3,3,0.3,up\n"
                       "b,1,10,0.1,dn\n"
                       "a,1,1,0.1,up\n"
                       "a,2,2,0.2,up\n")
    s = read_long_csv(p, id="id", label="label", time="t")
    assert s.ids == ["b", "a"]
    assert s.labels == ["dn", "up"]
    assert s.features == ["x", "y"]                 # every other numeric column, t excluded
    np.testing.assert_array_equal(s.sequences[0], [[10, 0.1], [20, 0.2]])
    np.testing.assert_array_equal(s.sequences[1], [[1, 0.1], [2, 0.2], [3, 0.3]])
    assert s.lines == [2, 3]                        # each id's first file line


def test_without_time_rows_keep_file_order_and_features_can_be_chosen(tmp_path):
    p = _csv(tmp_path, "id,x,y,label\na,3,9,u\na,1,8,u\nb,5,7,v\nb,4,6,v\n")
    s = read_long_csv(p, id="id", label="label", features=["y"])
    np.testing.assert_array_equal(s.sequences[0], [[9], [8]])
    np.testing.assert_array_equal(s.sequences[1], [[7], [6]])


def test_dates_order_the_steps(tmp_path):
    p = _csv(tmp_path, "id,when,x,label\n"
                       "a,2024-01-10,2,u\na,2023-12-31,1,u\na,2024-02-01,3,u\n"
                       "b,2024-01-02 10:00,5,v\nb,2024-01-02 09:00,4,v\n")
    s = read_long_csv(p, id="id", label="label", time="when")
    np.testing.assert_array_equal(s.sequences[0][:, 0], [1, 2, 3])
    np.testing.assert_array_equal(s.sequences[1][:, 0], [4, 5])


def test_non_numeric_columns_are_not_features(tmp_path):
    p = _csv(tmp_path, "id,x,note,label\na,1,hi,u\na,2,ho,u\nb,3,x,v\nb,4,y,v\n")
    assert read_long_csv(p, id="id", label="label").features == ["x"]


@pytest.mark.parametrize("text, kw, needle", [
    ("id,x,label\na,1,u\na,2,u\nb,3,v\n", {}, "1 id(s) have a single step: 'b' (line 4)"),
    ("id,x,label\na,1,u\na,2,w\nb,3,v\nb,4,v\n", {},
     "id 'a' has 'u' on line 2 and 'w' on line 3"),
    ("id,t,x,label\na,1,1,u\na,soon,2,u\nb,1,3,v\nb,2,4,v\n", {"time": "t"},
     "column 't' is not sortable: expected numbers or dates in every row, got 'soon' on line 3"),
    ("id,t,x,label\na,1,1,u\na,1,2,u\nb,1,3,v\nb,2,4,v\n", {"time": "t"},
     "id 'a' has two rows at the same time (lines 2 and 3)"),
    ("id,t,x,label\na,,1,u\na,1,2,u\n", {"time": "t"}, "column 't' is blank on line 2"),
    ("id,x,label\na,1,u\na,,u\nb,3,v\nb,4,v\n", {}, "blank/NaN feature values on line(s) [3]"),
    ("id,x,label\na,1,u\n,2,u\n", {}, "column 'id' has blank cells on line(s) [3]"),
    ("id,x,label\na,1,u\na,2,u\n", {"features": ["x", "z"]}, "column(s) ['z'] not in"),
    ("id,x,lab\na,1,u\na,2,u\n", {}, "label: column 'label' not in"),
    ("id,x,label\na,1,u\na,2,u\n", {"features": ["label"]}, "['label'] is also the id/time"),
    ("id,x,w,label\na,1,2,u\na,2,q,u\n", {"features": ["x", "w"]},
     "column 'w' of"),
    ("id,note,label\na,p,u\na,q,u\n", {}, "no numeric column besides"),
])
def test_bad_files_raise_one_clear_line(tmp_path, text, kw, needle):
    with pytest.raises(ValueError) as e:
        read_long_csv(_csv(tmp_path, text), id="id", label="label", **kw)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_nan_drop_and_fill_within_each_id(tmp_path):
    p = _csv(tmp_path, "id,x,label\na,,u\na,2,u\na,,u\na,4,u\nb,7,v\nb,8,v\n")
    dropped = read_long_csv(p, id="id", label="label", nan_policy="drop")
    np.testing.assert_array_equal(dropped.sequences[0][:, 0], [2, 4])
    filled = read_long_csv(p, id="id", label="label", nan_policy="fill")
    np.testing.assert_array_equal(filled.sequences[0][:, 0], [2, 2, 2, 4])   # lead: first valid
    np.testing.assert_array_equal(filled.sequences[1][:, 0], [7, 8])          # b untouched
    p2 = _csv(tmp_path, "id,x,label\na,,u\na,,u\nb,7,v\nb,8,v\n", "allnan.csv")
    with pytest.raises(ValueError, match="id 'a' has no value at all in \\['x'\\]"):
        read_long_csv(p2, id="id", label="label", nan_policy="fill")


def test_label_column_is_optional_when_not_required(tmp_path):
    p = _csv(tmp_path, "id,x\na,1\na,2\n")
    s = read_long_csv(p, id="id", label="label", require_label=False)
    assert s.labels is None and s.features == ["x"]


def test_type_errors_name_the_argument(tmp_path):
    with pytest.raises(TypeError, match="id: expected a column name"):
        read_long_csv(_csv(tmp_path, "id,x\na,1\n"), id=3)
