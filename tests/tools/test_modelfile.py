import os

import numpy as np
import pytest
import torch

from rnnkit.tools.atomic import write_text
from rnnkit.tools.modelfile import load_model_file, save_model
from rnnkit.tools.regressor import RecurrentRegressor


def test_round_trip_keeps_weights_config_and_meta(tmp_path):
    m = RecurrentRegressor("gru", 2, 4)
    p = tmp_path / "m.rnnkit"
    save_model(p, m, "forecaster", m.config, {"window": 7, "scaler": {"offset": [1.5]}})
    kind, config, meta, state = load_model_file(p)
    assert kind == "forecaster" and config == m.config and meta["window"] == 7
    for k, v in m.state_dict().items():
        torch.testing.assert_close(state[k], v)
    assert os.listdir(tmp_path) == ["m.rnnkit"]          # no temporary file left behind


def test_foreign_files_are_refused(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(os.urandom(64))
    with pytest.raises(ValueError, match="not an rnnkit model file"):
        load_model_file(junk)
    from safetensors.numpy import save_file
    save_file({"w": np.zeros(2, np.float32)}, str(tmp_path / "o.st"), metadata={"format": "pt"})
    with pytest.raises(ValueError, match="metadata 'format' is 'pt'"):
        load_model_file(tmp_path / "o.st")
    with pytest.raises(FileNotFoundError):
        load_model_file(tmp_path / "missing")


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    p = tmp_path / "r.html"
    write_text(p, "old")
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        write_text(p, "new")
    assert p.read_text() == "old" and os.listdir(tmp_path) == ["r.html"]
