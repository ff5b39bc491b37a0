"""The resume matrix of issue #10: seeded dropout, recurrent dropout and zoneout;
the process killed with os._exit (no cleanup, no exception handlers) mid-epoch,
during the backup write and at train end; then the same call again resumes, and
the final weights and losses equal an uninterrupted run's bit for bit."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("resume_run.py")
EPOCHS = 4


def _run(backup, out, kill, epochs=EPOCHS, backend="reference"):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[2] / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, str(SCRIPT), str(backup), str(out), kill, str(epochs),
                           backend],
                          env=env, capture_output=True, text=True, timeout=600)


def _same(a, b):
    with np.load(a) as x, np.load(b) as y:
        assert sorted(x.files) == sorted(y.files)
        for k in x.files:
            np.testing.assert_array_equal(x[k], y[k], err_msg=k)


_REFERENCES: dict = {}


def _reference(tmp_path_factory, backend):
    if backend not in _REFERENCES:
        d = tmp_path_factory.mktemp(f"ref-{backend}")
        r = _run(d / "backup", d / "ref.npz", "none", backend=backend)
        assert r.returncode == 0, r.stderr
        assert not (d / "backup").exists()  # deleted after a normal end
        _REFERENCES[backend] = d / "ref.npz"
    return _REFERENCES[backend]


def _kill_and_resume(tmp_path, reference, kill, backend):
    backup = tmp_path / "backup"
    died = _run(backup, tmp_path / "never.npz", kill, backend=backend)
    assert died.returncode == 3, died.stderr           # it really died where asked
    assert not (tmp_path / "never.npz").exists()
    # Killed inside epoch 0, or inside the first backup write: no backup was completed, so
    # the rerun starts over (from the same seeds: still the reference's numbers).
    first_done = not (kill.startswith("mid:0:") or kill == "write:1")
    assert (backup / "latest.safetensors").exists() == first_done
    if kill.startswith("write:"):
        # the dead writer's complete temporary file is still there ...
        assert [f for f in os.listdir(backup) if f.endswith(".tmp")]
    resumed = _run(backup, tmp_path / "resumed.npz", "none", backend=backend)
    assert resumed.returncode == 0, resumed.stderr
    _same(tmp_path / "resumed.npz", reference)
    assert not backup.exists()                         # ... and nothing is left behind


# 7 processes of ~4 s: the normal suite's share of the matrix (the reference kernel, so
# that no process builds the native one).
@pytest.mark.parametrize("kill", ["mid:2:3", "write:2", "end"])
def test_killed_run_resumes_bit_identically(tmp_path_factory, tmp_path, kill):
    _kill_and_resume(tmp_path, _reference(tmp_path_factory, "reference"), kill, "reference")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["reference", "auto"])
@pytest.mark.parametrize("kill", ["mid:0:0", "mid:1:4", "mid:3:2", "write:1", "write:3",
                                  "write:4", "end"])
def test_resume_soak(tmp_path_factory, tmp_path, kill, backend):
    """Every epoch, every write, with the kernels that auto picks too."""
    _kill_and_resume(tmp_path, _reference(tmp_path_factory, backend), kill, backend)
