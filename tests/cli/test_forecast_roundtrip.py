"""train -> predict -> evaluate with dates, a stored NaN policy, --future and --format."""
import csv
import io
import json

import numpy as np
import pytest

from rnnkit.tools.forecaster import Forecaster

TINY = ["--epochs", "3", "--units", "4", "-q"]


@pytest.fixture
def dated_csv(tmp_path):
    """Monthly dates, a trend plus a season, and two blank cells."""
    t = np.arange(180)
    y = 0.05 * t + np.sin(2 * np.pi * t / 12) + 0.1 * np.random.default_rng(0).standard_normal(180)
    cells = [f"{v:.5f}" for v in y]
    cells[30] = cells[100] = ""
    path = tmp_path / "co2.csv"
    path.write_text("date,co2\n" + "".join(f"{2000 + i // 12}-{i % 12 + 1:02d}-01,{c}\n"
                                           for i, c in enumerate(cells)))
    return path


@pytest.fixture
def model(cli, dated_csv, tmp_path):
    path = tmp_path / "co2.rnnkit"
    code, out, err = cli("train", "--data", dated_csv, "--nan", "fill", "--cell", "gru",
                         "--seeds", "2", *TINY, "--out", path)
    assert code == 0, err
    assert "best validation epoch" in out and "validation RMSE" in out
    return path


def test_the_file_stores_the_whole_set_up(model):
    m = Forecaster.load(model).meta
    assert (m["target"], m["features"], m["time"], m["nan"]) == ("co2", ["co2"], "date", "fill")
    assert m["window"] == 12 and m["season"] == 12 and m["preprocessing"]["mode"] == "diff"
    assert len(m["ensemble"]) == 1 and m["seeds"] == 2


def test_predict_prints_dates_actuals_and_uses_the_stored_nan_policy(cli, model, dated_csv):
    code, out, err = cli("predict", model, "--data", dated_csv)       # no --nan: the stored fill
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["date", "co2_t+1", "pred_t+1"]
    assert rows[1][0] == "2000-12-01"                 # the first window's last input month
    assert rows[-1][0] == "2014-12-01" and rows[-1][1] == ""   # past the end: no actual
    assert float(rows[1][1]) == pytest.approx(float(dated_csv.read_text().splitlines()[13]
                                                    .split(",")[1]))
    # the blank on row 30 was filled with the value before it, as in training
    assert rows[30 - 12 + 1][1] == rows[30 - 12][1]
    code, _, err = cli("predict", model, "--data", dated_csv, "--nan", "raise")
    assert code == 2 and "--nan drop or --nan fill" in err


def test_future_forecasts_past_the_end_with_a_seed_interval(cli, model, dated_csv):
    code, out, err = cli("predict", model, "--data", dated_csv, "--future", "5", "--format",
                         "json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5]
    assert all(r["after"] == "2014-12-01" for r in rows)
    assert all(r["low"] <= r["prediction"] <= r["high"] for r in rows)
    # the library's numbers: the mean over the two seeds of the recursive forecasts
    from rnnkit.cli._common import read_csv_series
    fc = Forecaster.load(model)
    s = read_csv_series(dated_csv, "co2", ["co2"], "fill")
    paths = fc.future(s.values, 5)
    np.testing.assert_allclose([r["prediction"] for r in rows], paths.mean(0), rtol=1e-6)
    np.testing.assert_allclose([r["high"] for r in rows], paths.max(0), rtol=1e-6)


def test_evaluate_scores_the_test_part_beside_the_baselines(cli, model, dated_csv):
    code, out, err = cli("evaluate", model, "--data", dated_csv, "--json")
    assert code == 0, err
    m = json.loads(out)
    # 180 rows: 126 train / 27 val / 27 test; one-step windows whose target is a test row
    assert m["part"] == "test" and m["windows"] == 27
    assert {"persistence", "seasonal naive", "mean"} <= set(m["baselines"])
    assert any(k.startswith("AR(") for k in m["baselines"])
    code, out, _ = cli("evaluate", model, "--data", dated_csv)
    assert "on the test part" in out and "seasonal naive" in out


def test_train_warns_and_succeeds_when_the_model_loses_to_persistence(cli, tmp_path):
    f = tmp_path / "walk.csv"
    walk = np.cumsum(np.random.default_rng(2).standard_normal(200))
    f.write_text("v\n" + "".join(f"{v:.5f}\n" for v in walk))
    # --lr 1e6 ruins the weights: the saved model is worse than persistence
    code, out, err = cli("train", "--data", f, "--lr", "1e6", "--epochs", "2", "--units", "4",
                         "-q", "--out", tmp_path / "w.rnnkit")
    assert code == 0, err
    assert "warning: on the validation part the model" in err and "persistence" in err


def test_future_beyond_the_horizon_needs_a_univariate_model(cli, series_csv, tmp_path):
    m = tmp_path / "two.rnnkit"
    assert cli("train", "--data", series_csv, "--target", "y", "--features", "y", "x",
               "--window", "8", *TINY, "--out", m)[0] == 0
    code, _, err = cli("predict", m, "--data", series_csv, "--future", "3")
    assert code == 2 and "beyond the model's horizon (1)" in err and "Traceback" not in err


def test_time_column_must_be_sortable_and_in_order(cli, tmp_path):
    f = tmp_path / "t.csv"
    rows = [f"2000-{m:02d}-01,{np.sin(m):.4f}" for m in range(1, 13)] * 10
    f.write_text("date,v\n" + "\n".join(rows) + "\n")             # dates repeat every 12 rows
    code, _, err = cli("compare", "--data", f, *TINY)
    assert code == 2 and "increasing time order" in err and "line 14 (2000-01-01)" in err
    g = tmp_path / "w.csv"
    g.write_text("when,v\n" + "".join(f"day{chr(97 + i % 26)}x,{i}\n" for i in range(120)))
    code, _, err = cli("compare", "--data", g, "--time", "when", *TINY)
    assert code == 2 and "neither numbers nor dates" in err and "Traceback" not in err
