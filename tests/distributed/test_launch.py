"""`rnnkit train --nproc N`: the same command through torch.distributed.run."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnkit.distributed.launch import launch_command, strip_option

SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_strip_option():
    argv = ["train", "--nproc", "2", "--data", "a.csv", "--nproc=3", "-q"]
    assert strip_option(argv, "--nproc") == ["train", "--data", "a.csv", "-q"]


def test_launch_command_runs_the_cli_module_under_torchrun():
    cmd = launch_command(["train", "--nproc", "2", "--epochs", "1"], 2)
    assert cmd[1:3] == ["-m", "torch.distributed.run"]
    assert cmd[cmd.index("--nproc_per_node") + 1] == "2"
    assert cmd[-5:] == ["-m", "rnnkit.cli.main", "train", "--epochs", "1"]


def test_text_and_uneven_batch_are_refused(cli, tmp_path):
    book = tmp_path / "b.txt"
    book.write_text("abc" * 50)
    code, _, err = cli("train", "--text", book, "--nproc", "2")
    assert code == 2 and "--nproc trains forecasters" in err
    code, _, err = cli("train", "--dataset", "sunspots", "--nproc", "2", "--batch-size", "33")
    assert code == 2 and "--batch-size 33 is the global batch" in err


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


def test_train_with_two_processes_saves_once(tmp_path):
    t = np.arange(120)
    csv = tmp_path / "s.csv"
    csv.write_text("t,y\n" + "".join(f"{a},{np.sin(a / 3):.5f}\n" for a in t))
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    out = tmp_path / "m.rnnkit"
    r = subprocess.run([sys.executable, "-m", "rnnkit.cli.main", "train", "--data", str(csv),
                        "--target", "y", "--window", "6", "--epochs", "2", "--units", "4",
                        "--nproc", "2", "-q", "--out", str(out)],
                       env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert r.stdout.count("saved ") == 1 and out.is_file()  # rank 0 alone prints and saves
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.rnnkit", "s.csv"]
