"""`rnnkit info` on Keras files (Keras 3 writes the input) and on rnnkit files."""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")


@pytest.fixture
def keras_file(tmp_path):
    keras = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    k = keras.Sequential([keras.Input((5, 2)), keras.layers.GRU(3), keras.layers.Dense(1)])
    path = tmp_path / "k.keras"
    k.save(path)
    return keras, k, path


def test_info_lists_layers_params_and_origin(cli, keras_file):
    _, k, path = keras_file
    code, out, err = cli("info", str(path))
    assert code == 0, err
    assert "Keras" in out and ".keras file" in out
    assert "(GRU)" in out and f"{k.count_params():,}" in out


def test_info_on_a_missing_file(cli, tmp_path):
    code, _, err = cli("info", str(tmp_path / "nope.keras"))
    assert code == 2 and "is not a file" in err


def test_info_on_an_rnnkit_file(cli, tmp_path):
    import rnnkit
    model = rnnkit.Sequential([rnnkit.layers.LSTM(2, input_shape=(3, 1)), rnnkit.layers.Dense(1)])
    model.save(tmp_path / "m.rnnkit")
    code, out, err = cli("info", str(tmp_path / "m.rnnkit"))
    assert code == 0, err
    assert "rnnkit" in out and "model file" in out and "lstm (LSTM)" in out
    assert f"{model.count_params():,}" in out


def test_info_shows_conv_layers_and_the_compile_config(cli, tmp_path):
    keras = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    k = keras.Sequential([keras.Input((3, 6, 6, 1)), keras.layers.ConvLSTM2D(2, 3),
                          keras.layers.Flatten(), keras.layers.Dense(1)])
    k.compile(optimizer=keras.optimizers.SGD(0.2), loss="mse", metrics=["mae"])
    k.save(tmp_path / "c.keras")
    code, out, err = cli("info", str(tmp_path / "c.keras"))
    assert code == 0, err
    assert "(ConvLSTM2D)" in out
    # ConvLSTM2D(2, 3) on 1 channel: 3·3·1·8 + 3·3·2·8 + 8 = 224
    assert f"{'224':>10}" in out.splitlines()[1]
    assert "compiled: optimizer SGD(learning_rate=0.2), loss mean_squared_error, " \
           "metrics ['mae']" in out
    k.compile(optimizer=keras.optimizers.Nadam(), loss="mse")
    k.save(tmp_path / "n.keras")
    code, out, err = cli("info", str(tmp_path / "n.keras"))
    assert code == 0, err
    assert "compile config not reproducible by rnnkit" in out and "'Nadam'" in out
