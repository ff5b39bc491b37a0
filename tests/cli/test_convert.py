"""`rnnkit convert` and `rnnkit info` on Keras files (Keras 3 writes the input)."""
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


def test_convert_keras_to_rnnkit_and_back(cli, keras_file, tmp_path):
    keras, k, path = keras_file
    code, out, err = cli("convert", str(path), str(tmp_path / "m.rnnkit"))
    assert code == 0, err
    # GRU(3) on 2 features, reset_after: 3·(2·3 + 3·3 + 2·3) = 63, Dense(1): 4
    assert "67 parameters" in out and k.count_params() == 67
    code, out, err = cli("convert", str(tmp_path / "m.rnnkit"), str(tmp_path / "back.keras"))
    assert code == 0, err
    again = keras.models.load_model(tmp_path / "back.keras")
    x = np.random.default_rng(0).normal(size=(2, 5, 2)).astype("float32")
    np.testing.assert_allclose(again.predict(x, verbose=0), k.predict(x, verbose=0), atol=1e-6)


def test_convert_refuses_to_overwrite(cli, keras_file, tmp_path):
    _, _, path = keras_file
    (tmp_path / "exists.rnnkit").write_text("x")
    code, _, err = cli("convert", str(path), str(tmp_path / "exists.rnnkit"))
    assert code == 2 and "--overwrite" in err


def test_convert_carries_a_conv_model_and_its_compile_config_both_ways(cli, tmp_path):
    keras = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    from rnnkit.models import load_model

    KL = keras.layers
    k = keras.Sequential([keras.Input((3, 6, 6, 1)),
                          KL.ConvLSTM2D(2, 3, padding="same", return_sequences=True),
                          KL.BatchNormalization(),
                          KL.Conv3D(1, 3, padding="same", activation="sigmoid")])
    k.compile(optimizer=keras.optimizers.Adam(0.005), loss="binary_crossentropy",
              metrics=["mae"])
    k.save(tmp_path / "k.keras")
    code, out, err = cli("convert", str(tmp_path / "k.keras"), str(tmp_path / "m.rnnkit"))
    assert code == 0, err
    assert f"{k.count_params():,} parameters, compiled" in out
    ours = load_model(tmp_path / "m.rnnkit")
    assert type(ours.optimizer).__name__ == "Adam" and ours.optimizer.learning_rate == 0.005
    assert [m.name for m in ours.compiled_metrics] == ["mae"]
    code, out, err = cli("convert", str(tmp_path / "m.rnnkit"), str(tmp_path / "back.keras"))
    assert code == 0, err
    again = keras.models.load_model(tmp_path / "back.keras")
    assert type(again.optimizer).__name__ == "Adam"
    assert float(again.optimizer.learning_rate) == pytest.approx(0.005)
    x = np.random.default_rng(0).random((2, 3, 6, 6, 1)).astype("float32")
    np.testing.assert_allclose(again.predict(x, verbose=0), k.predict(x, verbose=0), atol=1e-5)
