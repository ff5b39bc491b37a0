"""`rnnkit train --data big.csv --stream`: the same forecaster as the in-memory path,
without ever reading the CSV whole."""
import numpy as np
import pytest

from rnnkit.tools.forecaster import Forecaster
from rnnkit.tools.stream_forecast import column_stats, stream_forecast


@pytest.fixture
def series_csv(tmp_path):
    t = np.arange(200)
    rng = np.random.default_rng(0)
    y = np.sin(2 * np.pi * t / 16) + 0.1 * rng.standard_normal(200)
    x = np.cos(2 * np.pi * t / 16)
    path = tmp_path / "series.csv"
    path.write_text("t,y,x\n" + "".join(f"{a},{b:.6f},{c:.6f}\n" for a, b, c in zip(t, y, x)))
    return path


@pytest.fixture
def cli(capsys):
    from rnnkit.cli.main import main

    def run(*argv):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:
            code = e.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_column_stats_in_chunks(monkeypatch):
    import rnnkit.tools.stream_forecast as sf

    monkeypatch.setattr(sf, "CHUNK", 7)
    a = np.random.default_rng(1).normal(size=(50, 3))
    mean, std = column_stats(a, 40)
    np.testing.assert_allclose(mean, a[:40].mean(0), rtol=1e-12)
    np.testing.assert_allclose(std, a[:40].std(0), rtol=1e-10)


def test_windows_match_prepare_forecast(series_csv):
    from rnnkit.data import load_csv_series
    from rnnkit.tools.forecast import prepare_forecast

    s = load_csv_series(series_csv, target="y", features=["y", "x"])
    ref = prepare_forecast(s.values, s.target, 8, 2, columns=s.columns, target_name="y",
                           preprocess="level")  # the streamed recipe: standardised levels
    data = stream_forecast(series_csv, "y", ["y", "x"], 8, 2, chunksize=16)
    try:
        for part in ("train", "val", "test"):
            ds = data.parts[part]
            x, y, _, _ = ds.take(np.arange(len(ds)))
            np.testing.assert_allclose(x.numpy(), ref.X[part], atol=1e-5)
            np.testing.assert_allclose(y.numpy(), ref.y[part], atol=1e-5)
        assert data.meta["scaler_y"]["offset"] == pytest.approx(ref.norm.offset_y, rel=1e-6)
    finally:
        data.close()


def test_cli_streams_and_never_loads_the_csv_whole(cli, series_csv, tmp_path, monkeypatch):
    import rnnkit.data

    def whole(*a, **k):
        raise AssertionError("the whole CSV was loaded")

    monkeypatch.setattr(rnnkit.data, "load_csv_series", whole)
    out = tmp_path / "m.rnnkit"
    code, stdout, err = cli("train", "--data", series_csv, "--target", "y", "--features", "y",
                            "x", "--window", "8", "--horizon", "2", "--epochs", "2", "--units",
                            "4", "-q", "--stream", "--out", out)
    assert code == 0, err
    assert "200 rows, streamed" in stdout and "test RMSE" in stdout
    fc = Forecaster.load(out)
    assert fc.meta["streamed"] is True and (fc.window, fc.horizon) == (8, 2)
    assert np.isfinite(fc.meta["test_rmse"]) and fc.meta["persistence_rmse"] > 0
    monkeypatch.undo()
    code, _, err = cli("evaluate", out, "--data", series_csv)  # the usual tools read it
    assert code == 0, err


def test_stream_refuses_nan_policies(cli, series_csv):
    code, _, err = cli("train", "--data", series_csv, "--target", "y", "--stream", "--nan",
                       "drop")
    assert code == 2 and "must be clean" in err
