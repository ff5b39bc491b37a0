"""Callbacks driven by real fit() calls on a tiny linear model."""
import math

import numpy as np
import pytest

from rnnkit.callbacks import (Callback, EarlyStopping, LambdaCallback, LearningRateScheduler,
                              ReduceLROnPlateau, TerminateOnNaN)
from rnnkit.seed import set_random_seed


class Script(Callback):
    """Overwrites logs[key] with scripted values, so the callbacks after it see them."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, list(values)

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.calls, self.weights = [], []

    def on_train_begin(self, logs=None): self.calls.append("train_begin")
    def on_epoch_begin(self, epoch, logs=None): self.calls.append(f"epoch_begin {epoch}")
    def on_batch_begin(self, batch, logs=None): self.calls.append(f"batch_begin {batch}")
    def on_batch_end(self, batch, logs=None): self.calls.append(f"batch_end {batch}")
    def on_train_end(self, logs=None): self.calls.append("train_end")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(f"epoch_end {epoch}")
        self.weights.append([w.copy() for w in self.model.get_weights()])


def test_hooks_are_called_in_keras_order_with_model_set(toys):
    X, y = toys.linear_data(8)
    model, rec = toys.dense_model(), Recorder()
    model.fit(X, y, epochs=2, batch_size=4, callbacks=[rec], verbose=0)
    assert rec.model is model
    assert rec.calls == ["train_begin", "epoch_begin 0", "batch_begin 0", "batch_end 0",
                         "batch_begin 1", "batch_end 1", "epoch_end 0", "epoch_begin 1",
                         "batch_begin 0", "batch_end 0", "batch_begin 1", "batch_end 1",
                         "epoch_end 1", "train_end"]


def test_early_stopping_stops_after_patience_and_restores_best_weights(toys):
    X, y = toys.linear_data(16)
    model, rec = toys.dense_model(), Recorder()
    val = [5.0, 3.0, 1.0, 2.0, 4.0, 6.0, 0.5, 0.1]  # best at epoch 2; epochs 3, 4 don't improve
    es = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    hist = model.fit(X, y, epochs=8, callbacks=[Script("val_loss", val), rec, es], verbose=0)
    assert hist.epoch == [0, 1, 2, 3, 4]
    assert es.stopped_epoch == 4 and es.best_epoch == 2 and es.best == 1.0
    for got, want in zip(model.get_weights(), rec.weights[2]):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(model.get_weights()[0], rec.weights[4][0])


def test_early_stopping_min_delta_mode_baseline_and_start_epoch(toys):
    X, y = toys.linear_data(8)
    # max mode on an accuracy: 0.5 -> 0.505 is below min_delta=0.01, so no improvement
    es = EarlyStopping(monitor="val_accuracy", min_delta=0.01, patience=1)
    h = toys.dense_model().fit(X, y, epochs=5, verbose=0,
                          callbacks=[Script("val_accuracy", [0.5, 0.505, 0.6, 0.7, 0.8]), es])
    assert h.epoch == [0, 1]
    # a baseline not beaten keeps `wait` from resetting on the first epoch (Keras 3)
    worse = [3, 4, 5, 6, 7, 8]
    es = EarlyStopping(monitor="val_loss", baseline=0.1, patience=2)
    h = toys.dense_model().fit(X, y, epochs=6, verbose=0, callbacks=[Script("val_loss", worse), es])
    assert h.epoch == [0, 1]
    es = EarlyStopping(monitor="val_loss", patience=2)
    h = toys.dense_model().fit(X, y, epochs=6, verbose=0, callbacks=[Script("val_loss", worse), es])
    assert h.epoch == [0, 1, 2]
    # nothing is monitored before start_from_epoch
    es = EarlyStopping(monitor="val_loss", patience=0, start_from_epoch=3)
    h = toys.dense_model().fit(X, y, epochs=6, verbose=0,
                          callbacks=[Script("val_loss", [1, 2, 3, 4, 5, 6]), es])
    assert h.epoch == [0, 1, 2, 3, 4]


def test_reduce_lr_on_plateau_with_cooldown_and_min_lr(toys):
    X, y = toys.linear_data(8)
    model = toys.dense_model(optimizer="sgd")  # lr 0.01
    cb = ReduceLROnPlateau(monitor="loss_x", factor=0.5, patience=2, cooldown=1, min_lr=0.003)
    values = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    h = model.fit(X, y, epochs=8, verbose=0, callbacks=[Script("loss_x", values), cb])
    # Keras's counters: wait reaches 2 at epoch 2 -> halve; epoch 3 ends the cooldown and
    # counts wait=1, epoch 4 wait=2 -> 0.0025, clamped to min_lr; logged values are the
    # rates in force during each epoch
    assert h.history["learning_rate"] == pytest.approx(
        [0.01, 0.01, 0.01, 0.005, 0.005, 0.003, 0.003, 0.003])
    assert model.optimizer.learning_rate == pytest.approx(0.003)


def test_learning_rate_scheduler_sets_each_epochs_rate(toys):
    X, y = toys.linear_data(8)
    model = toys.dense_model(optimizer="sgd")
    seen = []
    spy = LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(
        model.optimizer.torch.param_groups[0]["lr"]))
    sched = LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    h = model.fit(X, y, epochs=3, verbose=0, callbacks=[sched, spy])
    assert seen == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert h.history["learning_rate"] == pytest.approx(seen)
    one_arg = LearningRateScheduler(lambda epoch: 0.02)
    toys.dense_model().fit(X, y, epochs=1, verbose=0, callbacks=[one_arg])
    with pytest.raises(ValueError, match="schedule"):
        toys.dense_model().fit(X, y, epochs=1, verbose=0,
                          callbacks=[LearningRateScheduler(lambda e, lr: float("nan"))])


def test_nan_loss_raises_without_terminate_on_nan(toys):
    X, y = toys.linear_data(16)
    model = toys.dense_model(optimizer="sgd")
    model.optimizer.learning_rate = 1e6  # diverges within a few steps
    with pytest.raises(FloatingPointError, match="training diverged.*TerminateOnNaN"):
        model.fit(X, y, epochs=50, batch_size=4, verbose=0)


def test_terminate_on_nan_stops_reports_and_keeps_weights_finite(toys, capsys):
    X, y = toys.linear_data(16)
    model = toys.dense_model(optimizer="sgd")
    model.optimizer.learning_rate = 1e6
    cb = TerminateOnNaN()
    h = model.fit(X, y, epochs=50, batch_size=4, verbose=0, callbacks=[cb])
    assert cb.terminated_at is not None
    assert len(h.epoch) == cb.terminated_at[0] + 1 < 50
    assert not math.isfinite(h.history["loss"][-1])
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert "invalid loss" in capsys.readouterr().err


def test_callback_arguments_are_checked(toys):
    X, y = toys.linear_data(8)
    with pytest.raises(TypeError, match=r"callbacks\[0\]"):
        toys.dense_model().fit(X, y, callbacks=[lambda: None], verbose=0)
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.5)


def test_missing_monitor_warns_and_does_not_stop(toys):
    X, y = toys.linear_data(8)
    with pytest.warns(UserWarning, match="val_loss"):
        h = toys.dense_model().fit(X, y, epochs=3, verbose=0,
                              callbacks=[EarlyStopping(patience=0)])
    assert h.epoch == [0, 1, 2]


def test_history_has_per_epoch_lists(toys):
    set_random_seed(0)
    X, y = toys.linear_data(20)
    model = toys.dense_model(metrics=["mae", "rmse"])
    h = model.fit(X, y, epochs=3, validation_split=0.25, verbose=0)
    assert model.history is h and h.epoch == [0, 1, 2]
    assert sorted(h.history) == ["loss", "mae", "rmse", "val_loss", "val_mae", "val_rmse"]
    assert all(len(v) == 3 for v in h.history.values())
    # with a one-output model, rmse is sqrt(mse): the val values show it exactly
    assert h.history["val_rmse"][-1] == pytest.approx(math.sqrt(h.history["val_loss"][-1]),
                                                      rel=1e-5)
