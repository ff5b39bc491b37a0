import numpy as np
import pytest


@pytest.fixture
def series_csv(tmp_path):
    """A noisy sine with a second feature, 160 rows: big enough to split and window."""
    t = np.arange(160)
    rng = np.random.default_rng(0)
    y = np.sin(2 * np.pi * t / 16) + 0.1 * rng.standard_normal(160)
    x = np.cos(2 * np.pi * t / 16)
    path = tmp_path / "series.csv"
    path.write_text("t,y,x\n" + "".join(f"{a},{b:.6f},{c:.6f}\n" for a, b, c in zip(t, y, x)))
    return path


@pytest.fixture
def cli(capsys):
    """cli(*argv) -> (exit status, stdout, stderr) of `rnnkit argv`, run in-process."""
    from rnnkit.cli.main import main

    def run(*argv):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:  # argparse errors
            code = e.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
