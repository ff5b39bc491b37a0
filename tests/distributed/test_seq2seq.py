"""Seq2Seq.fit under torchrun: 2 processes (gloo, 1 thread each) end with one
process's weights and losses; the ranks are weighted by target tokens; the loop
is the model's Trainer on every rank."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

JOB = Path(__file__).with_name("seq2seq_job.py")
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _run(out: Path, nproc: int) -> None:
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(PYTHONPATH=SRC + os.pathsep + env.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    cmd = [sys.executable, str(JOB), "--out", str(out)]
    if nproc > 1:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
               "--master_addr", "127.0.0.1", "--master_port", str(port)] + cmd[1:]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]


def test_two_processes_match_one(tmp_path):
    import json

    _run(tmp_path / "solo", 1)
    _run(tmp_path / "pair", 2)
    ref = load_file(str(tmp_path / "solo" / "weights-solo.safetensors"))
    for rank in ("0", "1"):
        w = load_file(str(tmp_path / "pair" / f"weights-{rank}.safetensors"))
        for k in ref:
            err = float(np.abs(w[k] - ref[k]).max() / max(np.abs(ref[k]).max(), 1e-12))
            assert err < 1e-5, (k, err)
        saved = json.loads((tmp_path / "pair" / f"history-{rank}.json").read_text())
        assert saved["trainer_epochs"] == [0, 1, 2]  # fit ran through the model's Trainer
        h = saved["history"]
        h_ref = json.loads((tmp_path / "solo" / "history-solo.json").read_text())["history"]
        np.testing.assert_allclose(h["loss"], h_ref["loss"], rtol=1e-5)
