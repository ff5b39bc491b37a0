"""Every example runs in smoke mode (a few steps) and reports against its baseline."""
import importlib.util
import math
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(p.stem for p in EXAMPLES.glob("*.py"))


def _load(name):
    spec = importlib.util.spec_from_file_location(f"rnnkit_example_{name}", EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_issue_examples_exist():
    for name in ("sunspots_forecast", "airline_forecast", "bio_series_forecast", "adding_problem",
                 "text_classification", "char_language_model", "spoken_digits"):
        assert name in SCRIPTS


@pytest.mark.parametrize("name", SCRIPTS)
def test_example_runs_in_smoke_mode(name, capsys, tmp_path):
    mod = _load(name)
    kwargs = {"out": str(tmp_path / "g.png")} if name == "adding_problem" else {}
    res = mod.main(smoke=True, **kwargs)
    out = capsys.readouterr().out
    assert out.strip()
    assert isinstance(res, dict) and res
    numbers = [v for v in res.values() if isinstance(v, float)]
    assert all(math.isfinite(v) for v in numbers)
    if name == "adding_problem":
        assert (tmp_path / "g.png").is_file() and set(res) == {"rnn", "lstm", "gru"}
    if "majority" in res:
        assert 0 <= res["majority"] <= 1 and 0 <= res["accuracy"] <= 1
    if "perplexity" in res:
        assert res["perplexity"][-1] < res["perplexity"][0]


def test_smoke_flag_works_from_the_command_line():
    r = subprocess.run([sys.executable, str(EXAMPLES / "sunspots_forecast.py"), "--smoke"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "persistence" in r.stdout and "AR(9)" in r.stdout
