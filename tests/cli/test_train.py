"""train -> predict -> evaluate round trip, and the bad inputs of the issue."""
import csv
import io

import numpy as np
import pytest

from rnnkit.layers import GRU, LSTM, Dense
from rnnkit.models import Sequential, load_model
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
    pp = fc.meta["preprocessing"]
    assert pp["type"] == "WindowNorm" and len(pp["offset_x"]) == 2 and pp["mode"] in ("level", "diff")
    assert (fc.meta["nan"], fc.meta["sep"], fc.meta["time"]) == ("raise", ",", "t")


def test_the_file_is_a_plain_sequential_model_file(model, series_csv):
    m = load_model(model)                       # the library's loader, no CLI code involved
    assert isinstance(m, Sequential) and [type(la) for la in m.layers] == [GRU, Dense]
    assert m.input_shape == (None, 8, 2) and m.output_shape == (None, 2)
    assert m.metadata["kind"] == "forecaster" and m.metadata["window"] == 8
    assert m.metadata["epochs"] == 2 and 1 <= m.metadata["best_epoch"] <= 2
    assert m.compiled and type(m.loss).__name__ == "MeanSquaredError"
    # the forecaster's numbers are the model's predict on the scaled windows
    fc = Forecaster.load(model)
    data = np.loadtxt(series_csv, delimiter=",", skiprows=1)[:, 1:]
    X, _, _ = fc.windows_with_truth(data, data[:, 0])
    np.testing.assert_allclose(fc.predict_scaled(X), m.predict(X), rtol=1e-6)


def test_layers_are_stacked_with_return_sequences(cli, series_csv, tmp_path):
    path = tmp_path / "deep.rnnkit"
    code, out, err = cli("train", "--data", series_csv, "--target", "y", "--window", "6",
                         "--cell", "lstm", "--layers", "3", *TINY, "--out", path)
    assert code == 0, err
    m = load_model(path)
    assert [type(la) for la in m.layers] == [LSTM, LSTM, LSTM, Dense]
    assert [la.return_sequences for la in m.layers[:3]] == [True, True, False]
    assert len({la.name for la in m.layers}) == 4
    # LSTM(4) on 1 feature, then 2 x LSTM(4) on 4, then Dense(1): Keras's one bias per gate
    assert m.count_params() == 4 * 4 * (1 + 4 + 1) + 2 * 4 * 4 * (4 + 4 + 1) + 4 + 1
    assert f"trained lstm ({m.count_params()} parameters)" in out


def test_patience_stops_early_and_keeps_the_best_epoch(cli, series_csv, tmp_path):
    path = tmp_path / "p.rnnkit"
    code, out, err = cli("train", "--data", series_csv, "--target", "y", "--window", "6",
                         "--epochs", "40", "--patience", "1", "--lr", "0.3", "--units", "4",
                         "-q", "--out", path)
    assert code == 0, err
    meta = load_model(path).metadata
    assert meta["epochs"] < 40 and "stopped early" in out
    assert meta["best_epoch"] == meta["epochs"] - 1         # patience 1: one epoch past the best


def test_predict_writes_one_row_per_window(cli, model, series_csv, tmp_path):
    code, out, err = cli("predict", model, "--data", series_csv)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["t", "y_t+1", "pred_t+1", "y_t+2", "pred_t+2"]
    assert len(rows) - 1 == 160 - 8 + 1
    assert rows[1][0] == "7"   # the time column of the first window's last input step
    # same numbers as the library, the actual values beside them, blank past the end
    fc = Forecaster.load(model)
    data = np.loadtxt(series_csv, delimiter=",", skiprows=1)[:, 1:]
    np.testing.assert_allclose(np.array([[r[2], r[4]] for r in rows[1:]], float),
                               fc.forecast(data), rtol=1e-6)
    np.testing.assert_allclose([float(r[1]) for r in rows[1:-1]], data[8:, 0], rtol=1e-6)
    assert rows[-1][1] == rows[-1][3] == "" and rows[-2][3] == ""
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
    import json
    code, out, err = cli("evaluate", model, "--data", series_csv, "--json", "--all")
    assert code == 0, err
    m = json.loads(out)
    assert m["windows"] == 160 - 8 - 2 + 1 and m["rmse"] > 0 and m["persistence_rmse"] > 0
    # by default the held-out test part only: rows 136..159 (70/15/15), 23 windows of 2 targets
    code, out, err = cli("evaluate", model, "--data", series_csv, "--json")
    m = json.loads(out)
    assert m["part"] == "test" and m["windows"] == 23
    assert {"persistence", "mean"} <= set(m["baselines"])


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


def test_patience_is_refused_for_a_language_model(cli, tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("abc " * 400)
    _bad(cli, "--patience stops forecaster training", "train", "--text", f, "--patience", "2",
         *TINY)


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
    _bad(cli, "expected a file", "diagnose", tmp_path, "--data", series_csv)
    plain = tmp_path / "plain.rnnkit"                   # a Sequential model, but no forecaster
    Sequential([GRU(2, input_shape=(5, 1)), Dense(1)]).save(plain)
    for cmd in ("predict", "evaluate", "diagnose"):
        _bad(cli, "without a forecaster's window and scalers", cmd, plain, "--data", series_csv)
    text = tmp_path / "t.txt"
    text.write_text("abc def. " * 300)
    charlm = tmp_path / "c.rnnkit"
    assert cli("train", "--text", text, "--units", "4", "--epochs", "1", "--seq-len", "8", "-q",
               "--out", charlm)[0] == 0
    _bad(cli, "is a 'charlm' model; expected a forecaster", "predict", charlm, "--data", series_csv)


def test_an_old_cli_model_file_is_refused_clearly(cli, series_csv, tmp_path):
    from safetensors.numpy import save_file
    old = tmp_path / "old.rnnkit"                       # rnnkit 0.x's own format
    save_file({"rnn.weight_ih_l0": np.zeros((4, 1), np.float32)}, str(old), metadata={
        "format": "rnnkit-model", "format_version": "1", "kind": "forecaster",
        "config": "{}", "meta": "{}"})
    _bad(cli, "not a Sequential model", "predict", old, "--data", series_csv)
