import json
import os
from html.parser import HTMLParser

import pytest

TINY = ["--epochs", "2", "--seeds", "2", "--units", "4", "-q"]


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href"):
                self.refs.append(value)


def test_compare_dataset_writes_a_report_whose_links_exist(cli, tmp_path):
    out = tmp_path / "rep"
    code, stdout, err = cli("compare", "--dataset", "sunspots", *TINY, "--out", out)
    assert code == 0, err
    for cell in ("rnn", "lstm", "gru", "persistence"):
        assert any(line.startswith(cell) for line in stdout.splitlines())
    assert "recommendation (validation part):" in stdout and str(out / "report.html") in stdout
    assert "rnnkit train --dataset sunspots --cell" in stdout and "--window 20" in stdout
    parser = _Refs()
    parser.feed((out / "report.html").read_text(encoding="utf-8"))
    images = [r for r in parser.refs if r.endswith(".png")]
    assert len(images) == 3                                           # horizon 1: no lead plot
    for ref in parser.refs:
        assert not os.path.isabs(ref) and (out / ref).is_file(), ref
    for img in images:
        assert (out / img).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [f for f in os.listdir(out) if f.endswith(".tmp")]   # atomic writes left no temp
    res = json.loads((out / "results.json").read_text())
    assert res["recommendation"] in ("rnn", "lstm", "gru")
    # the winner is the lowest test RMSE of all, cells and baselines alike
    scores = {**{c: v["rmse_mean"] for c, v in res["cells"].items()}, **res["baselines"]}
    assert res["winner"] == min(scores, key=scores.get)
    assert res["headline"].splitlines()[0] in (out / "report.html").read_text(encoding="utf-8")
    assert all(len(c["rmse"]) == 2 for c in res["cells"].values())
    assert all(len(c["grad_norms"]) == 20 for c in res["cells"].values())  # sunspots window


def test_target_may_be_omitted_only_with_one_numeric_column(cli, series_csv):
    code, _, err = cli("compare", "--data", series_csv, *TINY)
    assert code == 2 and "3 numeric columns ['t', 'y', 'x']; pass --target COL" in err


def test_compare_csv_with_a_variant(cli, series_csv):
    code, stdout, err = cli("compare", "--data", series_csv, "--target", "y", "--features", "y",
                            "x", "--window", "8", "--cells", "gru", "lstm-ln", *TINY)
    assert code == 0, err
    assert any(line.startswith("lstm-ln") for line in stdout.splitlines())


@pytest.mark.parametrize("argv, needle", [
    (["--dataset", "sunspot"], "unknown dataset 'sunspot'"),
    (["--dataset", "fortunes"], "expected a time series"),
    (["--dataset", "sunspots", "--cells", "lstmm"], "unknown cell 'lstmm'"),
    (["--dataset", "sunspots", "--window", "400"], "window"),
    ([], "exactly one of --dataset"),
    (["--data", "x.csv"], "data file not found: 'x.csv'"),
])
def test_compare_bad_input_is_exit_2_without_traceback(cli, argv, needle):
    code, _, err = cli("compare", *argv, *TINY)
    assert code == 2
    assert needle in err and "Traceback" not in err


def test_threads_are_set_for_the_run_and_restored(cli, monkeypatch):
    import torch

    import rnnkit.tools.compare as tc
    seen = []
    real = tc.run_comparison
    monkeypatch.setattr(tc, "run_comparison",
                        lambda *a, **k: (seen.append(torch.get_num_threads()), real(*a, **k))[1])
    before = torch.get_num_threads()
    code, _, err = cli("compare", "--dataset", "airline", "--cells", "gru", "--threads", "1",
                       *TINY)
    assert code == 0, err
    assert seen == [1] and torch.get_num_threads() == before


def test_compare_csv_with_dates_and_a_horizon(cli, tmp_path):
    import numpy as np
    t = np.arange(200)
    y = 0.05 * t + np.sin(2 * np.pi * t / 12) + 0.1 * np.random.default_rng(0).standard_normal(200)
    f = tmp_path / "m.csv"
    f.write_text("month;level\n" + "".join(f"{2000 + i // 12}-{i % 12 + 1:02d};{v:.5f}\n"
                                          for i, v in enumerate(y)))
    # a semicolon file without --sep: a hint, exit 2
    code, _, err = cli("compare", "--data", f, *TINY)
    assert code == 2 and "--sep ';'" in err and "Traceback" not in err
    out = tmp_path / "rep"
    code, stdout, err = cli("compare", "--data", f, "--sep", ";", "--horizon", "3",
                            "--cells", "gru", *TINY, "--out", out)
    assert code == 0, err                                             # --target omitted: one column
    assert "season of 12 steps" in stdout and "diff" in stdout
    assert "--time month" in stdout and "--sep ';'" in stdout and "--horizon 3" in stdout
    res = json.loads((out / "results.json").read_text())
    assert res["settings"]["window"] == 12 and res["settings"]["preprocess"] == "diff"
    assert len(res["cells"]["gru"]["rmse_by_lead"]) == 3
    assert (out / "lead_time.png").read_bytes()[:4] == b"\x89PNG"
