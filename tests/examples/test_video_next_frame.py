"""examples/video_next_frame.py: smoke run writes its figures; its SSIM by hand."""
import importlib.util
import math
import pathlib

import numpy as np

PATH = pathlib.Path(__file__).resolve().parents[2] / "examples" / "video_next_frame.py"


def _load():
    spec = importlib.util.spec_from_file_location("rnnkit_example_video_next_frame", PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_smoke_run_reports_both_metrics_and_writes_png_and_gif(tmp_path, capsys):
    res = _load().main(smoke=True, out=str(tmp_path))
    assert set(res) == {"mse", "mse_repeat_last", "ssim", "ssim_repeat_last"}
    assert all(math.isfinite(v) for v in res.values())
    assert 0 < res["mse_repeat_last"] < 1 and -1 <= res["ssim"] <= 1
    png, gif = tmp_path / "video_next_frame.png", tmp_path / "video_next_frame.gif"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert gif.read_bytes()[:6] == b"GIF89a"
    assert "repeat-last-frame" in capsys.readouterr().out


def test_ssim_by_hand():
    ssim = _load().ssim
    rng = np.random.default_rng(0)
    a = rng.random((2, 12, 12))
    assert abs(ssim(a, a) - 1.0) < 1e-12
    # Constant images 0.2 and 0.6: no variance, so SSIM = (2·0.2·0.6 + C1) / (0.2² + 0.6² + C1).
    c1 = 0.01 ** 2
    want = (2 * 0.2 * 0.6 + c1) / (0.04 + 0.36 + c1)
    assert abs(ssim(np.full((1, 9, 9), 0.2), np.full((1, 9, 9), 0.6)) - want) < 1e-9
    assert ssim(a, 1 - a) < 0
