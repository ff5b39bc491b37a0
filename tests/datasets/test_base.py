"""Dataset / DatasetInfo records and package-file reading."""
import dataclasses
import gzip

import pytest

from rnnkit.datasets import Dataset, DatasetInfo, get_info
from rnnkit.datasets._base import read_package_bytes


def test_info_is_frozen_and_json_ready():
    info = get_info("sunspots")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.name = "x"
    d = info.to_dict()
    assert d["name"] == "sunspots" and isinstance(d["files"], list)


def test_read_package_bytes_gunzips():
    raw = read_package_bytes("pride_and_prejudice.txt.gz")
    assert raw.startswith(b"PRIDE AND PREJUDICE")
    assert not raw.startswith(gzip.compress(b"")[:2])


def test_to_frame_rejects_untabular():
    ds = Dataset(name="t", description="", task="", source="", citation="", licence="",
                 data={"text": "abc"})
    pytest.importorskip("pandas")
    with pytest.raises(TypeError, match="not tabular"):
        ds.to_frame()


def test_to_frame_skips_other_lengths_and_scalars():
    pd = pytest.importorskip("pandas")
    ds = Dataset(name="t", description="", task="", source="", citation="", licence="",
                 data={"a": [1, 2, 3], "b": [4, 5, 6], "cats": ["x"], "rate": 3})
    assert isinstance(ds.to_frame(), pd.DataFrame)
    assert list(ds.to_frame().columns) == ["a", "b"]


def test_info_fields_match_dataset_fields():
    ds_fields = {f.name for f in dataclasses.fields(Dataset)}
    assert {"name", "description", "task", "source", "citation", "licence"} <= ds_fields
    assert ds_fields - {"data", "info"} <= {f.name for f in dataclasses.fields(DatasetInfo)}
