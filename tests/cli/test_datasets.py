import json

from rnnkit.datasets import list_datasets


def test_lists_every_bundled_dataset_with_licence(cli):
    code, out, _ = cli("datasets")
    assert code == 0
    for info in list_datasets():
        line = next(ln for ln in out.splitlines() if ln.startswith(info.name + " "))
        assert info.licence_id in line and info.size in line


def test_json_output_matches_the_catalogue(cli):
    code, out, _ = cli("datasets", "--json")
    assert code == 0
    assert [d["name"] for d in json.loads(out)] == [i.name for i in list_datasets()]


def test_one_dataset_in_detail(cli):
    code, out, _ = cli("datasets", "sunspots")
    assert code == 0 and "citation:" in out and "Public domain" in out


def test_unknown_dataset_is_exit_2_with_the_closest_name(cli):
    code, out, err = cli("datasets", "sunspot")
    assert code == 2 and "Traceback" not in err
    assert "unknown dataset 'sunspot'" in err and "'sunspots'" in err


def test_the_table_fits_in_100_columns(cli):
    code, out, _ = cli("datasets")
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 100
