"""scripts/gpu_conv_check.py (the CUDA check of the Triton gate kernels), run here on
the CPU in Triton's interpreter: the script itself works, and a red parity gate
stops it before any timing."""
import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("triton", reason="triton is not installed (pip install -e '.[gpu]')")

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu_conv_check.py"


@pytest.fixture
def script(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    spec = importlib.util.spec_from_file_location("gpu_conv_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_red_parity_gate_reports_no_timing(script, monkeypatch, tmp_path, capsys):
    bad = dict(check="lstm_gates B=1", dtype="torch.float32", max_err=0.5, ok=False)
    monkeypatch.setattr(script, "parity", lambda: [bad])
    monkeypatch.setattr(script, "gate_timing", lambda *a: pytest.fail("timed after a red gate"))
    out = tmp_path / "r.json"
    assert script.main(["--device", "cpu", "--json", str(out)]) == 1
    assert "FAILED lstm_gates B=1 torch.float32: max error 0.5" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["parity"] == [bad] and "gates" not in report and "epochs" not in report


def test_refuses_cpu_without_the_interpreter(script, monkeypatch, capsys):
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    assert script.main(["--device", "cpu"]) == 2
    assert "cannot run here" in capsys.readouterr().out


@pytest.mark.slow
def test_whole_script_in_the_interpreter(script, tmp_path):
    out = tmp_path / "r.json"
    assert script.main(["--device", "cpu", "--quick", "--size", "8", "--samples", "4",
                        "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert all(r["ok"] for r in report["parity"]) and len(report["parity"]) == 38
    assert [r["what"] for r in report["gates"]] == ["lstm_gates forward",
                                                    "lstm_gates forward+backward"]
    assert report["epochs"][0]["loss_rel_diff"] < 1e-5
