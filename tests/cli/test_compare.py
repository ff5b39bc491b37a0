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
    assert "recommendation:" in stdout and str(out / "report.html") in stdout
    parser = _Refs()
    parser.feed((out / "report.html").read_text(encoding="utf-8"))
    images = [r for r in parser.refs if r.endswith(".png")]
    assert len(images) == 3
    for ref in parser.refs:
        assert not os.path.isabs(ref) and (out / ref).is_file(), ref
    for img in images:
        assert (out / img).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [f for f in os.listdir(out) if f.endswith(".tmp")]   # atomic writes left no temp
    res = json.loads((out / "results.json").read_text())
    assert res["recommendation"] in ("rnn", "lstm", "gru")
    assert all(len(c["rmse"]) == 2 for c in res["cells"].values())
    assert all(len(c["grad_norms"]) == 20 for c in res["cells"].values())  # sunspots window


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
    (["--data", "x.csv"], "--target"),
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
