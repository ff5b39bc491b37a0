"""rnnkit.datasets: catalogue, load(), error messages, README/LICENSES coverage."""
import json
from importlib import resources

import pytest

from rnnkit import datasets
from rnnkit.datasets import Dataset, DatasetInfo

NAMES = ["sunspots", "airline", "ecg", "pride_and_prejudice", "fortunes", "cmudict",
         "spoken_digits", "moving_digits"]


def test_list_datasets_names_and_metadata():
    infos = datasets.list_datasets()
    assert [i.name for i in infos] == NAMES
    for i in infos:
        assert isinstance(i, DatasetInfo)
        for field in ("description", "task", "source", "citation", "licence", "licence_id",
                      "size"):
            assert getattr(i, field).strip(), (i.name, field)
        assert i.files and i.keys
        json.dumps(i.to_dict())  # JSON-able, for the CLI


@pytest.mark.parametrize("name", NAMES)
def test_every_dataset_loads_with_metadata_and_files(name):
    ds = datasets.load(name)
    assert isinstance(ds, Dataset)
    assert ds.name == name and ds.source and ds.licence and ds.citation and ds.task
    assert set(ds.keys()) == set(ds.info.keys)       # documented keys == actual keys
    for f in ds.info.files:
        data = resources.files("rnnkit.datasets").joinpath(f).read_bytes()
        assert 0 < len(data) < 1_100_000, f           # each file stays small


def test_total_data_size_is_small():
    total = sum(len(resources.files("rnnkit.datasets").joinpath(f).read_bytes())
                for i in datasets.list_datasets() for f in i.files)
    assert total < 5_000_000


def test_unknown_name_suggests_closest():
    with pytest.raises(ValueError) as e:
        datasets.load("sunspot")
    msg = str(e.value)
    assert "name" in msg and "'sunspot'" in msg and "'sunspots'" in msg


def test_close_name_for_typo_in_long_name():
    with pytest.raises(ValueError, match="'pride_and_prejudice'"):
        datasets.load("pride_prejudice")


def test_name_must_be_str():
    with pytest.raises(TypeError, match="name"):
        datasets.load(3)


def test_name_is_normalised():
    assert datasets.load("Spoken-Digits").name == "spoken_digits"


def test_getitem_unknown_key_names_valid_keys():
    ds = datasets.load("airline")
    with pytest.raises(KeyError, match="passengers"):
        ds["pasengers"]


def test_readme_and_licenses_cover_every_dataset():
    pkg = resources.files("rnnkit.datasets")
    readme = pkg.joinpath("README.md").read_text(encoding="utf-8")
    licences = pkg.joinpath("LICENSES.md").read_text(encoding="utf-8")
    for i in datasets.list_datasets():
        assert f"## {i.name}" in readme
        assert i.licence_id in readme
        for f in i.files:
            assert f in licences
    # notices whose licences require reproduction
    assert "Carnegie Mellon University" in licences
    assert "Regents of the University of California" in licences
    assert "Open Data Commons Attribution" in licences
