"""save / load_model / save_weights: one safetensors file, never a pickle."""
import json
import os
import pickle

import numpy as np
import pytest
import torch

from rnnkit.models import Sequential, load_model
from rnnkit.optimizers import Adam
from rnnkit.seed import set_random_seed


def _trained(toys, **compile_kw):
    set_random_seed(0)
    X, y = toys.linear_data(24, noise=0.1)
    model = Sequential([toys.ToyDense(4, input_shape=(3,)), toys.ToyTanh(), toys.ToyDense(1)])
    model.compile(**{"optimizer": Adam(0.01, clipnorm=1.0), "loss": "huber",
                     "metrics": ["mae"], **compile_kw})
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    return model, X, y


def test_round_trip_predicts_identically_and_keeps_compile_config(toys, tmp_path):
    model, X, y = _trained(toys)
    path = tmp_path / "m.rnnkit"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.get_config() == model.get_config()
    assert type(loaded.loss).__name__ == "Huber" and loaded.loss.delta == 1.0
    assert [m.name for m in loaded.compiled_metrics] == ["mae"]
    assert isinstance(loaded.optimizer, Adam) and loaded.optimizer.clipnorm == 1.0
    assert loaded.optimizer.learning_rate == pytest.approx(0.01)
    assert loaded.evaluate(X, y, verbose=0) == model.evaluate(X, y, verbose=0)
    assert load_model(path, compile=False).compiled is False


def test_the_optimizer_state_travels_so_training_continues_identically(toys, tmp_path):
    model, X, y = _trained(toys)
    model.save(tmp_path / "m.rnnkit")
    loaded = load_model(tmp_path / "m.rnnkit")
    for m in (model, loaded):
        m.fit(X, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_file_is_plain_safetensors_with_json_metadata(toys, tmp_path):
    model, _, _ = _trained(toys)
    path = tmp_path / "m.rnnkit"
    model.save(path)
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])  # a safetensors header: JSON, not a pickle stream
    meta = header["__metadata__"]
    assert meta["format"] == "rnnkit-model" and meta["kind"] == "sequential"
    assert json.loads(meta["config"])["layers"][0]["class_name"] == "ToyDense"
    assert "model/layers.0.kernel" in header


def test_loading_never_unpickles(toys, tmp_path, monkeypatch):
    model, X, _ = _trained(toys)
    model.save(tmp_path / "m.rnnkit")

    def forbidden(*a, **k):
        raise AssertionError("pickle was used")
    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    load_model(tmp_path / "m.rnnkit").predict(X)


def test_foreign_files_are_refused_with_the_path(toys, tmp_path):
    pkl = tmp_path / "evil.pkl"
    pkl.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(ValueError, match="evil.pkl.*is not an rnnkit model file.*never loads "
                                         "pickles"):
        load_model(pkl)
    pt = tmp_path / "torch.pt"
    torch.save({"a": torch.zeros(2)}, pt)
    with pytest.raises(ValueError, match="torch.pt.*not an rnnkit model"):
        load_model(pt)
    from safetensors.torch import save_file
    plain = tmp_path / "plain.safetensors"
    save_file({"a": torch.zeros(2)}, plain)
    with pytest.raises(ValueError, match="format None, expected 'rnnkit-model'"):
        load_model(plain)
    other = tmp_path / "cli.rnnkit"
    save_file({"a": torch.zeros(2)}, other, metadata={
        "format": "rnnkit-model", "format_version": "1", "kind": "forecaster",
        "config": "{}", "meta": "{}"})
    with pytest.raises(ValueError, match="kind 'forecaster'.*not a Sequential model"):
        load_model(other)
    with pytest.raises(FileNotFoundError, match="missing.rnnkit"):
        load_model(tmp_path / "missing.rnnkit")


def test_save_is_atomic(toys, tmp_path, monkeypatch):
    model, _, _ = _trained(toys)
    path = tmp_path / "m.rnnkit"
    model.save(path)
    before = path.read_bytes()
    model.layers[0].kernel.data += 1.0

    def boom(src, dst):
        raise OSError("disk full (simulated)")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.rnnkit"]
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(path, overwrite=False)
    with pytest.raises(ValueError, match="directory"):
        model.save(tmp_path)


def test_weights_round_trip_and_mismatch(toys, tmp_path):
    model, X, _ = _trained(toys)
    model.save_weights(tmp_path / "w.rnnkit")
    fresh = Sequential([toys.ToyDense(4, input_shape=(3,)), toys.ToyTanh(), toys.ToyDense(1)])
    fresh.load_weights(tmp_path / "w.rnnkit")
    np.testing.assert_array_equal(fresh.predict(X), model.predict(X))
    wrong = Sequential([toys.ToyDense(5, input_shape=(3,)), toys.ToyTanh(), toys.ToyDense(1)])
    before = wrong.get_weights()
    with pytest.raises(ValueError, match=r"weight 'layers.0.kernel' has shape \(3, 4\) in the "
                                         r"file but \(3, 5\)"):
        wrong.load_weights(tmp_path / "w.rnnkit")
    for a, b in zip(wrong.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_user_loss_functions_are_not_saved(toys, tmp_path):
    model, X, _ = _trained(toys, loss=lambda t, p: (t - p).abs().mean(-1))
    with pytest.warns(UserWarning, match="user function"):
        model.save(tmp_path / "m.rnnkit")
    loaded = load_model(tmp_path / "m.rnnkit")
    assert not loaded.compiled
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_metadata_round_trips_as_json_and_survives_a_second_save(toys, tmp_path):
    model, X, _ = _trained(toys)
    assert model.metadata is None
    meta = {"window": 20, "scaler": {"offset": [1.5, -2.0], "scale": [0.5, 4.0]},
            "target": "sunspots", "features": ["sunspots"], "note": None, "ok": True}
    model.save(tmp_path / "m.rnnkit", metadata=meta)
    loaded = load_model(tmp_path / "m.rnnkit")
    assert loaded.metadata == meta and loaded.metadata is not meta
    raw = (tmp_path / "m.rnnkit").read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])["__metadata__"]
    assert json.loads(header["meta"])["metadata"] == meta       # plain JSON in the header
    loaded.save(tmp_path / "again.rnnkit")                       # default: the model's own
    assert load_model(tmp_path / "again.rnnkit").metadata == meta
    model.save(tmp_path / "none.rnnkit")
    assert load_model(tmp_path / "none.rnnkit").metadata is None
    # tuples come back as lists: JSON has only arrays
    model.save(tmp_path / "t.rnnkit", metadata={"shape": (3, 4)})
    assert load_model(tmp_path / "t.rnnkit").metadata == {"shape": [3, 4]}


def test_metadata_that_is_not_json_is_refused_before_writing(toys, tmp_path):
    model, _, _ = _trained(toys)
    with pytest.raises(TypeError, match="`metadata` must be a dict"):
        model.save(tmp_path / "m.rnnkit", metadata=[1, 2])
    with pytest.raises(ValueError, match="`metadata` must hold only JSON values"):
        model.save(tmp_path / "m.rnnkit", metadata={"f": np.zeros(2)})
    with pytest.raises(ValueError, match="`metadata` must hold only JSON values"):
        model.save(tmp_path / "m.rnnkit", metadata={"x": float("nan")})
    assert os.listdir(tmp_path) == []


def test_save_into_a_missing_folder_names_the_filepath(tmp_path):
    from rnnkit.layers import Dense
    from rnnkit.models import Sequential
    model = Sequential([Dense(1)])
    model.build((None, 2))
    with pytest.raises(FileNotFoundError, match="`filepath`.*does not exist"):
        model.save(tmp_path / "missing" / "m.rnnkit")
    assert not (tmp_path / "missing").exists()
