"""BackupAndRestore: a run killed mid-training and restarted with the same call ends
bit-identical to an uninterrupted run with the same seed."""
import os

import numpy as np
import pytest

from rnnkit.callbacks import BackupAndRestore, Callback
from rnnkit.seed import set_random_seed


class Crash(Callback):
    """Simulates the process dying in the middle of epoch `epoch` (after batch 1)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.current = epoch, -1

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == 1:
            raise KeyboardInterrupt("killed (simulated)")


def _run(toys, backup_dir, extra=(), epochs=6):
    """The same call every time: seed, model (dropout + Adam), shuffled fit."""
    set_random_seed(123)
    X, y = toys.linear_data(40, noise=0.1)
    model = toys.dense_model(optimizer="adam", dropout=0.3)
    cbs = [BackupAndRestore(backup_dir)] + list(extra)
    hist = model.fit(X, y, epochs=epochs, batch_size=8, validation_split=0.2, callbacks=cbs,
                     verbose=0)
    return model, hist


def test_resume_after_a_crash_is_bit_identical(toys, tmp_path):
    ref, ref_hist = _run(toys, tmp_path / "ref")
    assert not (tmp_path / "ref").exists()  # deleted after a normal end

    backup = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        _run(toys, backup, extra=[Crash(3)])
    assert (backup / "latest.safetensors").exists()
    resumed, hist = _run(toys, backup)
    for a, b in zip(resumed.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert hist.epoch == ref_hist.epoch == list(range(6))
    assert hist.history["loss"] == pytest.approx(ref_hist.history["loss"], rel=0, abs=0)
    assert not backup.exists()


def test_resume_needs_the_rng_states(toys, tmp_path, monkeypatch):
    """Negative control: without restoring the RNGs (dropout, shuffling) the resumed run
    differs, so the test above really checks them."""
    ref, _ = _run(toys, tmp_path / "ref")
    with pytest.raises(KeyboardInterrupt):
        _run(toys, tmp_path / "run", extra=[Crash(3)])
    import rnnkit.training.backup as backup_module
    monkeypatch.setattr(backup_module, "restore_rng", lambda *a, **k: None)
    resumed, _ = _run(toys, tmp_path / "run")
    assert not all(np.array_equal(a, b) for a, b in zip(resumed.get_weights(), ref.get_weights()))


def test_a_backup_of_another_model_is_refused(toys, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _run(toys, tmp_path, extra=[Crash(1)])
    X, y = toys.linear_data(40)
    other = toys.dense_model(features=3)  # no dropout: a different architecture
    with pytest.raises(ValueError, match="different model"):
        other.fit(X, y, epochs=2, callbacks=[BackupAndRestore(tmp_path)], verbose=0)


def test_backup_file_is_safetensors_and_written_atomically(toys, tmp_path, monkeypatch):
    with pytest.raises(KeyboardInterrupt):
        _run(toys, tmp_path, extra=[Crash(2)])
    path = tmp_path / "latest.safetensors"
    header_len = int.from_bytes(path.read_bytes()[:8], "little")
    assert path.read_bytes()[8:9] == b"{" and header_len > 0  # a safetensors header, no pickle
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk full (simulated)")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        _run(toys, tmp_path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["latest.safetensors"]


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="backup_dir"):
        BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        BackupAndRestore("x", save_freq=10)
