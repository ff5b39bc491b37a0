"""The compile config of .keras files (optimizer, loss, metrics, loss_weights), with
Keras 3 (torch backend) as the oracle: read into rnnkit's compile, written for Keras's."""
import os
import warnings

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

import rnnkit  # noqa: E402
from rnnkit.models import load_model  # noqa: E402

KL = keras.layers


def _dense(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((3,)), KL.Dense(4, activation="tanh"), KL.Dense(2)])


def _data(seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 2)).astype("float32")


def _loaded(k, tmp_path, name="k.keras"):
    k.save(tmp_path / name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a mapped config loads without any warning
        return load_model(tmp_path / name)


def test_keras_compile_config_compiles_the_rnnkit_model_the_same(tmp_path):
    k = _dense()
    k.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True, clipnorm=1.0),
              loss=keras.losses.Huber(), metrics=["mae", keras.metrics.RootMeanSquaredError()])
    ours = _loaded(k, tmp_path)
    assert ours.compiled
    opt = ours.optimizer
    assert type(opt).__name__ == "SGD" and opt.learning_rate == pytest.approx(0.05)
    assert opt.hyper == {"momentum": pytest.approx(0.9), "nesterov": True}
    assert opt.clipnorm == pytest.approx(1.0)
    # (Keras 3.x writes no `delta` in Huber's config, so only the default survives a file)
    assert type(ours.loss).__name__ == "Huber" and ours.loss.delta == 1.0
    assert [m.name for m in ours.compiled_metrics] == ["mae", "root_mean_squared_error"]
    # The same objective: one epoch of the same batches moves both the same way.
    x, y = _data()
    k.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    ours.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    ev_k = k.evaluate(x, y, verbose=0, return_dict=True)
    ev_o = ours.evaluate(x, y, verbose=0, return_dict=True)
    for key in ("loss", "mae", "root_mean_squared_error"):
        assert ev_o[key] == pytest.approx(ev_k[key], rel=1e-4), key


@pytest.mark.parametrize("opt, hyper", [
    (lambda: keras.optimizers.Adam(0.01, beta_1=0.8, amsgrad=True),
     {"beta_1": 0.8, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": True}),
    (lambda: keras.optimizers.AdamW(0.002, weight_decay=0.01), {"amsgrad": False}),
    (lambda: keras.optimizers.RMSprop(0.003, rho=0.8, centered=True),
     {"rho": 0.8, "momentum": 0.0, "epsilon": 1e-7, "centered": True}),
    (lambda: keras.optimizers.Adagrad(0.1, initial_accumulator_value=0.2),
     {"initial_accumulator_value": 0.2, "epsilon": 1e-7}),
])
def test_each_keras_optimizer_maps_with_its_hyperparameters(tmp_path, opt, hyper):
    k = _dense()
    keras_opt = opt()
    k.compile(optimizer=keras_opt, loss="mse")
    ours = _loaded(k, tmp_path)
    assert type(ours.optimizer).__name__ == type(keras_opt).__name__
    assert ours.optimizer.learning_rate == pytest.approx(float(keras_opt.learning_rate))
    for key, value in hyper.items():
        assert ours.optimizer.hyper[key] == pytest.approx(value), key
    if type(keras_opt).__name__ == "AdamW":
        assert ours.optimizer.weight_decay == pytest.approx(0.01)


def test_multi_output_losses_metrics_and_loss_weights(tmp_path):
    inp = keras.Input((3,))
    k = keras.Model(inp, {"a": KL.Dense(2, name="a")(inp),
                          "b": KL.Dense(1, activation="sigmoid", name="b")(inp)})
    k.compile(optimizer="rmsprop", loss={"a": "mse", "b": keras.losses.BinaryCrossentropy(
        label_smoothing=0.1)}, metrics={"a": ["mae"], "b": ["binary_accuracy"]},
        loss_weights={"a": 1.0, "b": 0.5})
    ours = _loaded(k, tmp_path)
    losses = dict(zip(ours.output_names, ours._losses))
    assert type(losses["a"][0]).__name__ == "MeanSquaredError" and losses["a"][1] == 1.0
    assert type(losses["b"][0]).__name__ == "BinaryCrossentropy" and losses["b"][1] == 0.5
    assert losses["b"][0].label_smoothing == pytest.approx(0.1)
    assert {m.name for m in ours.compiled_metrics} >= {"a_mae", "b_binary_accuracy"}
    rng = np.random.default_rng(2)
    x = rng.normal(size=(8, 3)).astype("float32")
    y = {"a": rng.normal(size=(8, 2)).astype("float32"),
         "b": (rng.random((8, 1)) > 0.5).astype("float32")}
    assert ours.evaluate(x, y, verbose=0, return_dict=True)["loss"] == pytest.approx(
        k.evaluate(x, y, verbose=0, return_dict=True)["loss"], rel=1e-4)


@pytest.mark.parametrize("compile_kw, named", [
    (lambda: {"optimizer": keras.optimizers.Adam(
        keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)), "loss": "mse"},
     "ExponentialDecay"),
    (lambda: {"optimizer": keras.optimizers.Adam(use_ema=True), "loss": "mse"}, "use_ema"),
    (lambda: {"optimizer": keras.optimizers.Nadam(), "loss": "mse"}, "'Nadam'"),
    (lambda: {"optimizer": "adam", "loss": "poisson"}, "loss 'poisson'"),
    (lambda: {"optimizer": "adam", "loss": "mse", "metrics": ["mape"]}, "metric 'mape'"),
    (lambda: {"optimizer": "adam", "loss": "mse", "weighted_metrics": ["mae"]},
     "weighted_metrics"),
])
def test_what_rnnkit_lacks_is_named_and_the_model_is_left_uncompiled(tmp_path, compile_kw, named):
    k = _dense()
    k.compile(**compile_kw())
    k.save(tmp_path / "k.keras")
    with pytest.warns(UserWarning, match=rf"returned uncompiled.*{named}"):
        ours = load_model(tmp_path / "k.keras")
    assert not getattr(ours, "compiled", False)
    x, _ = _data()
    np.testing.assert_allclose(ours.predict(x, verbose=0), k.predict(x, verbose=0), atol=1e-5)


def test_compile_false_skips_the_compile_config(tmp_path):
    k = _dense()
    k.compile(optimizer="adam", loss="mse")
    k.save(tmp_path / "k.keras")
    assert not getattr(load_model(tmp_path / "k.keras", compile=False), "compiled", False)


def test_rnnkit_compiled_model_saved_as_keras_loads_compiled_in_keras(tmp_path):
    model = rnnkit.Sequential([rnnkit.layers.Dense(4, activation="tanh", input_shape=(3,)),
                               rnnkit.layers.Dense(2)])
    model.compile(optimizer=rnnkit.optimizers.Adam(0.02, beta_2=0.99), loss="mae",
                  metrics=["mse", "rmse"])
    model.save(tmp_path / "r.keras")
    k = keras.models.load_model(tmp_path / "r.keras")
    assert type(k.optimizer).__name__ == "Adam"
    assert float(k.optimizer.learning_rate) == pytest.approx(0.02)
    assert k.optimizer.beta_2 == pytest.approx(0.99)
    x, y = _data(3)
    ev_k = k.evaluate(x, y, verbose=0, return_dict=True)
    ev_o = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(ev_k) == set(ev_o) == {"loss", "mse", "rmse"}
    for key in ev_k:
        assert ev_o[key] == pytest.approx(ev_k[key], rel=1e-4), key
    # and back: Keras's file of rnnkit's model compiles rnnkit's model the same again
    again = _loaded(k, tmp_path, "again.keras")
    assert type(again.optimizer).__name__ == "Adam" and type(again.loss).__name__ == \
        "MeanAbsoluteError"
    assert [m.name for m in again.compiled_metrics] == ["mse", "rmse"]


def test_rnnkit_functional_compile_config_round_trips_through_keras(tmp_path):
    inp = rnnkit.Input((3,))
    a = rnnkit.layers.Dense(2, name="a")(inp)
    b = rnnkit.layers.Dense(1, activation="sigmoid", name="b")(inp)
    model = rnnkit.Model(inp, [a, b])
    model.compile(optimizer="sgd", loss={"a": "mse", "b": "binary_crossentropy"},
                  metrics={"a": ["mae"]}, loss_weights={"a": 2.0, "b": 0.5})
    model.save(tmp_path / "f.keras")
    k = keras.models.load_model(tmp_path / "f.keras")
    rng = np.random.default_rng(4)
    x = rng.normal(size=(8, 3)).astype("float32")
    y = [rng.normal(size=(8, 2)).astype("float32"), (rng.random((8, 1)) > 0.5).astype("float32")]
    ev_k = k.evaluate(x, y, verbose=0, return_dict=True)
    ev_o = model.evaluate(x, y, verbose=0, return_dict=True)
    assert ev_o["loss"] == pytest.approx(ev_k["loss"], rel=1e-4)
    assert ev_o["a_mae"] == pytest.approx(ev_k["a_mae"], rel=1e-4)


def test_uncompilable_for_keras_is_warned_and_the_file_still_written(tmp_path):
    import torch
    model = rnnkit.Sequential([rnnkit.layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer=torch.optim.SGD(model.parameters(), lr=0.1), loss="mse")
    with pytest.warns(UserWarning, match="compile config isn't written.*'TorchOptimizer'"):
        model.save(tmp_path / "t.keras")
    assert not keras.models.load_model(tmp_path / "t.keras").compiled


def test_legacy_h5_training_config_compiles_the_model(tmp_path):
    k = _dense()
    k.compile(optimizer=keras.optimizers.RMSprop(0.01, rho=0.8), loss="mae", metrics=["mse"])
    k.save(tmp_path / "k.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        ours = load_model(tmp_path / "k.h5")
    assert type(ours.optimizer).__name__ == "RMSprop" and ours.optimizer.learning_rate == 0.01
    assert ours.optimizer.hyper["rho"] == pytest.approx(0.8)
    assert type(ours.loss).__name__ == "MeanAbsoluteError"
    assert [m.name for m in ours.compiled_metrics] == ["mse"]


def test_tf_keras_2_training_config_maps_its_legacy_keys(tmp_path):
    """tf.keras 2.x writes `decay`, `jit_compile`, `is_legacy_optimizer` in the optimizer
    config and reduction "auto" in loss objects (written here with h5py in that layout)."""
    import json

    import h5py
    k = _dense()
    k.save(tmp_path / "k.h5")
    training = {"loss": {"class_name": "MeanSquaredError",
                         "config": {"reduction": "auto", "name": "mean_squared_error"}},
                "metrics": [], "weighted_metrics": None, "loss_weights": None,
                "optimizer_config": {"class_name": "Adam", "config": {
                    "name": "Adam", "learning_rate": 0.004, "decay": 0.0, "beta_1": 0.9,
                    "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False, "jit_compile": True,
                    "is_legacy_optimizer": False, "weight_decay": None, "clipnorm": None,
                    "global_clipnorm": None, "clipvalue": None, "use_ema": False,
                    "ema_momentum": 0.99, "ema_overwrite_frequency": None}}}
    with h5py.File(tmp_path / "k.h5", "r+") as h5:
        h5.attrs["training_config"] = json.dumps(training)
    ours = load_model(tmp_path / "k.h5")
    assert type(ours.optimizer).__name__ == "Adam" and ours.optimizer.learning_rate == 0.004
    assert ours.loss.reduction == "sum_over_batch_size"
    training["optimizer_config"]["config"]["decay"] = 0.01
    with h5py.File(tmp_path / "k.h5", "r+") as h5:
        h5.attrs["training_config"] = json.dumps(training)
    with pytest.warns(UserWarning, match="returned uncompiled.*`decay`"):
        assert not getattr(load_model(tmp_path / "k.h5"), "compiled", False)


def test_compiled_next_frame_model_from_keras_trains_as_keras(tmp_path):
    """ConvLSTM2D + BatchNormalization + Conv3D from a compiled .keras file: one epoch of
    fit (batch statistics, moving averages, Adam) gives Keras's weights and history."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((3, 6, 6, 1))
    x = KL.ConvLSTM2D(3, 3, padding="same", return_sequences=True, activation="relu")(inp)
    x = KL.BatchNormalization()(x)
    k = keras.Model(inp, KL.Conv3D(1, 3, activation="sigmoid", padding="same")(x))
    k.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
              metrics=["mae"])
    ours = _loaded(k, tmp_path)
    rng = np.random.default_rng(0)
    x = rng.random((4, 3, 6, 6, 1)).astype("float32")
    y = (rng.random((4, 3, 6, 6, 1)) > 0.5).astype("float32")
    hk = k.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0).history
    ho = ours.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0).history
    assert ho["loss"][0] == pytest.approx(hk["loss"][0], rel=1e-5)
    assert ho["mae"][0] == pytest.approx(hk["mae"][0], rel=1e-5)
    changed = 0
    for a, b, before in zip(ours.get_weights(), k.get_weights(), load_model(
            tmp_path / "k.keras", compile=False).get_weights()):
        np.testing.assert_allclose(a, b, atol=2e-6)
        changed += not np.allclose(a, before)
    assert changed >= 7  # the step moved (nearly) every array


def test_a_loss_object_rnnkit_lacks_is_named(tmp_path):
    k = _dense()
    k.compile(optimizer="sgd", loss=keras.losses.Poisson())
    k.save(tmp_path / "p.keras")
    with pytest.warns(UserWarning, match=r"uncompiled.*loss 'Poisson' \(rnnkit has \["):
        load_model(tmp_path / "p.keras")


def test_a_metric_object_rnnkit_cannot_record_is_warned_about_when_writing(tmp_path):
    k = _dense()
    k.compile(optimizer="sgd", loss="mse",
              metrics=["mae", keras.metrics.RootMeanSquaredError(name="r")])
    ours = _loaded(k, tmp_path)
    assert [m.name for m in ours.compiled_metrics] == ["mae", "r"]  # read with its name
    with pytest.warns(UserWarning, match=r"metric\(s\) \['r'\] were given as objects"):
        ours.save(tmp_path / "ours.keras")
    assert keras.models.load_model(tmp_path / "ours.keras").compiled
