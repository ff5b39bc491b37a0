"""rnnkit.training.callback_base: the base classes every callback subclasses."""
import pytest

from rnnkit.training import callbacks
from rnnkit.training.callback_base import Callback, MonitorCallback


def test_train_batch_hooks_default_to_keras_aliases():
    seen = []

    class Spy(Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch))

    spy = Spy()
    spy.on_train_batch_begin(3)
    spy.on_train_batch_end(3)
    assert seen == [("begin", 3), ("end", 3)]
    spy.set_params({"epochs": 2})
    assert spy.params == {"epochs": 2}


def test_monitor_direction_and_bad_arguments():
    m = MonitorCallback("val_acc")
    assert m._maximise() and m._is_improvement(0.6, 0.5) and not m._is_improvement(0.4, 0.5)
    m = MonitorCallback("val_loss", min_delta=0.1)
    assert m._is_improvement(0.3, 0.5) and not m._is_improvement(0.45, 0.5)
    with pytest.raises(ValueError, match="`mode` must be 'auto', 'min' or 'max'"):
        MonitorCallback(mode="up")
    with pytest.raises(TypeError, match="`monitor` must be a str"):
        MonitorCallback(monitor=3)


def test_callbacks_module_re_exports_the_same_classes():
    assert callbacks.Callback is Callback and callbacks.MonitorCallback is MonitorCallback
    assert issubclass(callbacks.BackupAndRestore, Callback)
    assert issubclass(callbacks.ModelCheckpoint, MonitorCallback)
