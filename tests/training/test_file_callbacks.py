"""ModelCheckpoint and CSVLogger: what they write, and that every write is atomic."""
import csv
import os

import numpy as np
import pytest

from rnnkit.callbacks import Callback, CSVLogger, ModelCheckpoint
from rnnkit.models import load_model


class Script(Callback):
    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, list(values)

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def test_checkpoint_formats_the_path_from_epoch_and_logs(toys, tmp_path):
    X, y = toys.linear_data(16)
    model = toys.dense_model()
    pattern = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.rnnkit")
    cb = ModelCheckpoint(pattern)
    model.fit(X, y, epochs=2, verbose=0, callbacks=[Script("val_loss", [0.5, 0.25]), cb])
    assert sorted(os.listdir(tmp_path)) == ["ckpt-01-0.50.rnnkit", "ckpt-02-0.25.rnnkit"]
    last = load_model(tmp_path / "ckpt-02-0.25.rnnkit")
    np.testing.assert_array_equal(last.predict(X), model.predict(X))


def test_checkpoint_save_best_only_and_weights_only(toys, tmp_path):
    X, y = toys.linear_data(16)
    model = toys.dense_model()
    saved = []

    class Spy(Callback):
        def on_epoch_end(self, epoch, logs=None):
            saved.append((epoch, [w.copy() for w in self.model.get_weights()]))

    path = tmp_path / "best.weights"
    cb = ModelCheckpoint(path, monitor="val_loss", save_best_only=True, save_weights_only=True)
    model.fit(X, y, epochs=4, verbose=0,
              callbacks=[Script("val_loss", [3.0, 1.0, 2.0, 1.5]), Spy(), cb])
    assert cb.saved == [str(path), str(path)]  # epochs 0 and 1 improved, 2 and 3 didn't
    fresh = toys.dense_model()
    fresh.load_weights(path)
    for got, want in zip(fresh.get_weights(), saved[1][1]):
        np.testing.assert_array_equal(got, want)


def test_checkpoint_bad_pattern_names_the_fields(toys, tmp_path):
    X, y = toys.linear_data(8)
    cb = ModelCheckpoint(str(tmp_path / "m-{val_acc:.2f}.rnnkit"))
    with pytest.raises(ValueError, match="available fields: epoch, loss"):
        toys.dense_model().fit(X, y, epochs=1, verbose=0, callbacks=[cb])


def test_csv_logger_rows_and_append(toys, tmp_path):
    X, y = toys.linear_data(16)
    path = tmp_path / "log.csv"
    model = toys.dense_model(metrics=["mae"])
    h = model.fit(X, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[CSVLogger(path)])
    rows = list(csv.DictReader(open(path)))
    assert list(rows[0]) == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert float(rows[1]["val_mae"]) == pytest.approx(h.history["val_mae"][1])
    model.fit(X, y, epochs=1, verbose=0, validation_split=0.25,
              callbacks=[CSVLogger(path, append=True)])
    lines = open(path).read().splitlines()
    assert len(lines) == 4 and lines[0].startswith("epoch,")  # one header, three rows
    model.fit(X, y, epochs=1, verbose=0, callbacks=[CSVLogger(path)])
    assert len(open(path).read().splitlines()) == 2  # not appending: rewritten


def _failing_replace(monkeypatch):
    def boom(src, dst):
        raise OSError("disk full (simulated)")
    monkeypatch.setattr(os, "replace", boom)


@pytest.mark.parametrize("make", ["checkpoint", "weights", "csv"])
def test_failed_writes_leave_the_previous_file_intact(toys, tmp_path, monkeypatch, make):
    X, y = toys.linear_data(8)
    target = tmp_path / ("log.csv" if make == "csv" else "model.rnnkit")
    cb = {"checkpoint": lambda: ModelCheckpoint(target),
          "weights": lambda: ModelCheckpoint(target, save_weights_only=True),
          "csv": lambda: CSVLogger(target)}[make]
    toys.dense_model().fit(X, y, epochs=1, verbose=0, callbacks=[cb()])
    before = target.read_bytes()
    _failing_replace(monkeypatch)
    with pytest.raises(OSError, match="simulated"):
        toys.dense_model().fit(X, y, epochs=1, verbose=0, callbacks=[cb()])
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [target.name]  # no temporary file left behind
