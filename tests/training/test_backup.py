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


# --- issue #10: seeded layers, checksums, damaged backups -----------------------------------
def _seeded_run(backup_dir, extra=(), epochs=3):
    """LSTM input + recurrent dropout and GRU zoneout from the layers' private seeded
    generators, and a seeded Dropout layer between them."""
    from rnnkit.layers import GRU, LSTM, Dense, Dropout
    from rnnkit.models import Sequential

    set_random_seed(5)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(32, 5, 2)).astype(np.float32)
    y = X[:, -1:, 0].astype(np.float32)
    model = Sequential([LSTM(6, dropout=0.2, recurrent_dropout=0.2, seed=7, return_sequences=True,
                             input_shape=(5, 2), backend="reference"),
                        Dropout(0.3, seed=3), GRU(4, zoneout=0.2, seed=9, backend="reference"),
                        Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, y, epochs=epochs, batch_size=8, callbacks=[BackupAndRestore(backup_dir)] +
              list(extra), verbose=0)
    return model


def test_seeded_layers_resume_bit_identically(tmp_path):
    ref = _seeded_run(tmp_path / "ref")
    with pytest.raises(KeyboardInterrupt):
        _seeded_run(tmp_path / "run", extra=[Crash(1)])
    resumed = _seeded_run(tmp_path / "run")
    for a, b in zip(resumed.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_seeded_layers_need_their_generators_saved(tmp_path, monkeypatch):
    """Negative control: a backup without the layers' private generators (as before
    issue #10) resumes with other dropout masks, so the test above checks them."""
    import rnnkit.training.backup as backup_module

    ref = _seeded_run(tmp_path / "ref")
    real = backup_module.BackupAndRestore._generators
    monkeypatch.setattr(backup_module.BackupAndRestore, "_generators",
                        lambda self, create=None: {k: g for k, g in real(self, create).items()
                                                   if not k.startswith("layer/")})
    with pytest.raises(KeyboardInterrupt):
        _seeded_run(tmp_path / "run", extra=[Crash(1)])
    resumed = _seeded_run(tmp_path / "run")
    assert not all(np.array_equal(a, b) for a, b in zip(resumed.get_weights(), ref.get_weights()))


def _crashed_backup(toys, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _run(toys, tmp_path, extra=[Crash(2)])
    return tmp_path / "latest.safetensors"


def test_a_flipped_bit_in_the_backup_refuses_to_resume(toys, tmp_path):
    from rnnkit import InvalidModelFile

    path = _crashed_backup(toys, tmp_path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01  # inside the last tensor's bytes: still a valid safetensors file
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidModelFile, match="checksum does not match") as e:
        _run(toys, tmp_path)
    assert str(path) in str(e.value)


def test_a_backup_without_checksum_is_refused(toys, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    from rnnkit import InvalidModelFile

    path = _crashed_backup(toys, tmp_path)
    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    del meta["sha256"]
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(InvalidModelFile, match="no sha256 checksum"):
        _run(toys, tmp_path)


def test_a_dead_writers_temporary_file_is_removed_on_restore(toys, tmp_path):
    path = _crashed_backup(toys, tmp_path)
    # what a process killed inside the write leaves: pid 2**22 + 1 is above Linux's pid_max
    stale = tmp_path / f".latest.safetensors.rnnkit-tmp-{2 ** 22 + 1}-abc.tmp"
    stale.write_bytes(path.read_bytes())
    _run(toys, tmp_path)
    assert not tmp_path.exists()
