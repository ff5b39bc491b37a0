"""Data-parallel fit under torchrun, 2 processes on gloo (localhost, 1 thread each):
the same weights and History as one process, only rank 0 writes files, and a
killed job resumes on every rank from BackupAndRestore's file."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

JOB = Path(__file__).with_name("ddp_job.py")
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _env(extra=None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR",
                        "MASTER_PORT")}
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra or {})
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_job(out: Path, nproc: int, *args, check=True) -> subprocess.CompletedProcess:
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(JOB), "--out", str(out), *args]
    if nproc > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
               "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
               "--max_restarts", "0"] + cmd[1:]
    r = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    if check:
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def weights(out: Path, rank) -> dict:
    return load_file(str(out / f"weights-{rank}.safetensors"))


def history(out: Path, rank) -> dict:
    return json.loads((out / f"history-{rank}.json").read_text())


def assert_weights_close(a: dict, b: dict, rtol: float) -> None:
    assert a.keys() == b.keys()
    for k in a:
        scale = max(float(np.abs(b[k]).max()), 1e-12)
        err = float(np.abs(a[k] - b[k]).max()) / scale
        assert err < rtol, f"{k}: relative difference {err:.2e}"


@pytest.fixture(scope="module")
def solo(tmp_path_factory):
    out = tmp_path_factory.mktemp("solo")
    run_job(out, 1)
    return out


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    out = tmp_path_factory.mktemp("pair")
    run_job(out, 2)
    return out


def test_two_processes_match_one_after_three_epochs(solo, pair):
    # 41 samples, global batch 8: the last batch holds 1 sample, so rank 1 runs that
    # step with an empty share (weight 0) -- the uneven case is inside this test.
    ref = weights(solo, "solo")
    w0, w1 = weights(pair, "0"), weights(pair, "1")
    for k in w0:  # the ranks hold the very same weights
        np.testing.assert_array_equal(w0[k], w1[k])
    assert_weights_close(w0, ref, 1e-5)


def test_history_is_all_reduced(solo, pair):
    h_ref = history(solo, "solo")
    for rank in ("0", "1"):
        h = history(pair, rank)
        assert h["epoch"] == h_ref["epoch"] == [0, 1, 2]
        for key in ("loss", "mae"):
            np.testing.assert_allclose(h["history"][key], h_ref["history"][key], rtol=1e-5)


def test_only_rank_0_writes_files(solo, pair):
    names = sorted(os.listdir(pair / "files"))
    assert names == ["ckpt-0.rnnkit", "log-0.csv"], names
    rows = (pair / "files" / "log-0.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 3


def test_threads_per_rank(pair):
    assert history(pair, "0")["threads"] == history(pair, "1")["threads"] == 1


def test_a_killed_job_resumes_on_every_rank(pair, tmp_path):
    backup = tmp_path / "backup"
    out = tmp_path / "run"
    r = run_job(out, 2, "--backup", str(backup), "--crash-after-epoch", "1", check=False)
    assert r.returncode != 0
    assert (backup / "latest.safetensors").exists()
    assert not (out / "weights-0.safetensors").exists()
    run_job(out, 2, "--backup", str(backup))
    for rank in ("0", "1"):
        assert_weights_close(weights(out, rank), weights(pair, rank), 1e-6)
        h = history(out, rank)
        assert h["epoch"] == [0, 1, 2]  # epochs 0-1 restored, epoch 2 trained
        np.testing.assert_allclose(h["history"]["loss"], history(pair, rank)["history"]["loss"],
                                   rtol=1e-6)
    assert not backup.exists()


def test_lazy_windows_and_tbptt_under_two_processes(tmp_path):
    """A memory-mapped WindowDataset sharded by window index, trained with tbptt=3:
    two processes still end with one process's weights."""
    solo_out, pair_out = tmp_path / "solo", tmp_path / "pair"
    run_job(solo_out, 1, "--lazy", "--tbptt", "3")
    run_job(pair_out, 2, "--lazy", "--tbptt", "3")
    assert_weights_close(weights(pair_out, "0"), weights(solo_out, "solo"), 1e-5)
    assert_weights_close(weights(pair_out, "1"), weights(solo_out, "solo"), 1e-5)
    np.testing.assert_allclose(history(pair_out, "1")["history"]["loss"],
                               history(solo_out, "solo")["history"]["loss"], rtol=1e-5)
