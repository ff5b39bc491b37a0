"""verbose=0/1/2 output of fit and evaluate."""
import pytest

from rnnkit.training.progress import format_logs, resolve_verbose


def test_format_logs_uses_keras_precision():
    assert format_logs({"loss": 0.123456, "mae": 2e-5}) == "loss: 0.1235 - mae: 2.0000e-05"


def test_resolve_verbose():
    assert resolve_verbose("auto") == 1 and resolve_verbose(2) == 2
    with pytest.raises(ValueError, match="`verbose`"):
        resolve_verbose(3)


def test_fit_verbosity_levels(toys, capsys):
    X, y = toys.linear_data(16)
    toys.dense_model().fit(X, y, epochs=2, batch_size=8, verbose=0)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    toys.dense_model().fit(X, y, epochs=2, batch_size=8, verbose=2, validation_split=0.25)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Epoch 1/2 - ")
    assert "loss: " in lines[1] and "val_loss: " in lines[1]
    toys.dense_model().fit(X, y, epochs=1, batch_size=8, verbose=1)
    err = capsys.readouterr().err
    assert "Epoch 1/1" in err and "2/2" in err and "loss: " in err  # a tqdm bar: steps, logs
    toys.dense_model().evaluate(X, y, verbose=1)
    assert "Evaluate" in capsys.readouterr().err
