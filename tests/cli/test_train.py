"""train -> predict -> evaluate round trip, and the bad inputs of the issue."""
import csv
import io

import numpy as np
import pytest

from rnnkit.tools.forecaster import Forecaster

TINY = ["--epochs", "2", "--units", "4", "-q"]


@pytest.fixture
def model(cli, series_csv, tmp_path):
    path = tmp_path / "m.rnnkit"
    code, out, err = cli("train", "--data", series_csv, "--target", "y", "--features", "y", "x",
                         "--window", "8", "--horizon", "2", "--cell", "gru", *TINY, "--out", path)
    assert code == 0, err
    assert "test RMSE" in out and path.is_file()
    return path


def test_saved_model_carries_its_preprocessing(model):
    fc = Forecaster.load(model)
    assert (fc.window, fc.horizon, fc.meta["target"], fc.meta["features"]) == (8, 2, "y", ["y", "x"])
    assert fc.meta["scaler_x"]["type"] == "StandardScaler" and len(fc.meta["scaler_x"]["offset"]) == 2


def test_predict_writes_one_row_per_window(cli, model, series_csv, tmp_path):
    code, out, err = cli("predict", model, "--data", series_csv)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["last_input_line", "y_t+1", "y_t+2"]
    assert len(rows) - 1 == 160 - 8 + 1
    assert rows[1][0] == "9"   # header is line 1, first window ends on line 9
    # same numbers as the library, and written to a file on request
    fc = Forecaster.load(model)
    data = np.loadtxt(series_csv, delimiter=",", skiprows=1)[:, 1:]
    np.testing.assert_allclose(np.array(rows[1:], float)[:, 1:], fc.forecast(data), rtol=1e-6)
    dest = tmp_path / "p.csv"
    assert cli("predict", model, "--data", series_csv, "--out", dest)[0] == 0
    assert dest.read_text() == out


def test_predict_needs_only_the_feature_columns(cli, tmp_path):
    csvf = tmp_path / "s.csv"
    csvf.write_text("a,b\n" + "".join(f"{np.sin(i / 3):.4f},{i % 7}\n" for i in range(120)))
    m = tmp_path / "m.rnnkit"
    assert cli("train", "--data", csvf, "--target", "a", "--features", "b", "--window", "5",
               *TINY, "--out", m)[0] == 0
    only_b = tmp_path / "b.csv"
    only_b.write_text("b\n" + "".join(f"{i % 7}\n" for i in range(30)))
    code, out, err = cli("predict", m, "--data", only_b)
    assert code == 0, err
    assert len(out.splitlines()) == 1 + (30 - 5 + 1)


def test_evaluate_reports_metrics(cli, model, series_csv):
    code, out, err = cli("evaluate", model, "--data", series_csv, "--json")
    assert code == 0, err
    import json
    m = json.loads(out)
    assert m["windows"] == 160 - 8 - 2 + 1 and m["rmse"] > 0 and m["persistence_rmse"] > 0


def test_train_on_a_dataset(cli, tmp_path):
    code, out, err = cli("train", "--dataset", "airline", "--cell", "rnn", *TINY,
                         "--out", tmp_path / "a.rnnkit")
    assert code == 0, err
    assert "persistence" in out


# --- bad input: exit 2, a message naming the problem, no traceback -----------------------
def _bad(cli, needle, *argv):
    code, _, err = cli(*argv)
    assert code == 2, err
    assert needle in err, err
    assert "Traceback" not in err


def test_missing_file(cli, tmp_path):
    _bad(cli, "not found", "train", "--data", tmp_path / "nope.csv", "--target", "y", *TINY)


def test_missing_and_non_numeric_target(cli, series_csv, tmp_path):
    _bad(cli, "['z'] not in", "train", "--data", series_csv, "--target", "z", *TINY)
    f = tmp_path / "t.csv"
    f.write_text("y\n1\n2\nabc\n4\n")
    _bad(cli, "'abc' on line 4", "train", "--data", f, "--target", "y", *TINY)


def test_empty_csv(cli, tmp_path):
    f = tmp_path / "e.csv"
    f.write_text("")
    _bad(cli, "is empty", "train", "--data", f, "--target", "y", *TINY)
    f.write_text("y\n")
    _bad(cli, "no data rows", "train", "--data", f, "--target", "y", *TINY)


def test_window_longer_than_the_series(cli, series_csv):
    _bad(cli, "window", "train", "--data", series_csv, "--target", "y", "--window", "500", *TINY)


def test_nan_rows_are_reported_with_line_numbers_and_can_be_dropped_or_filled(cli, tmp_path):
    f = tmp_path / "n.csv"
    vals = [f"{np.sin(i / 4):.4f}" for i in range(100)]
    vals[10] = ""
    vals[42] = "NaN"
    f.write_text("y\n" + "\n".join(vals) + "\n")
    _bad(cli, "line(s) [12, 44]", "train", "--data", f, "--target", "y", "--window", "5", *TINY)
    code, _, err = cli("train", "--data", f, "--target", "y", "--window", "5", *TINY)
    assert "--nan drop" in err
    for policy in ("drop", "fill"):
        code, _, err = cli("train", "--data", f, "--target", "y", "--window", "5", "--nan", policy,
                           *TINY, "--out", tmp_path / f"{policy}.rnnkit")
        assert code == 0, err


def test_unknown_cell_and_dataset(cli):
    _bad(cli, "invalid choice: 'lstmm'", "train", "--dataset", "sunspots", "--cell", "lstmm")
    _bad(cli, "unknown dataset 'sunspot'", "train", "--dataset", "sunspot", *TINY)


def test_model_file_from_something_else(cli, series_csv, tmp_path):
    _bad(cli, "not an rnnkit model file", "predict", series_csv, "--data", series_csv)
    from safetensors.numpy import save_file
    other = tmp_path / "other.safetensors"
    save_file({"w": np.zeros(3, np.float32)}, str(other))
    _bad(cli, "not an rnnkit model", "evaluate", other, "--data", series_csv)
    _bad(cli, "not found", "predict", tmp_path / "missing.rnnkit", "--data", series_csv)
