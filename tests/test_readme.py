"""The README's Python tour runs as written (with a two-epoch budget)."""
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_python_tour_runs(tmp_path, monkeypatch):
    blocks = python_blocks()
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    t = np.linspace(0, 8 * np.pi, 40 * 100).reshape(40, 100, 1)
    env = {"X_train": np.sin(t + rng.normal(size=(40, 1, 1))).astype("float32"),
           "y_train": rng.normal(size=(40, 1)).astype("float32")}
    for code in blocks:
        exec(compile(code.replace("epochs=100", "epochs=2"), str(README), "exec"), env)
    assert env["model"].count_params() == 29345
    assert (tmp_path / "seed.rnnkit").exists()
    assert env["out"].shape == (8, 100, 64)
