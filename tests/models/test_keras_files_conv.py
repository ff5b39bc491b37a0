"""Keras files holding the video layers of issue #14 (ConvLSTM1D/2D/3D, Conv2D, Conv3D,
Conv2DTranspose, MaxPooling2D/3D, UpSampling2D/3D, TimeDistributed over them), with
Keras 3 (torch backend) as the oracle: Keras writes, rnnkit reads and predicts the same;
rnnkit writes, Keras reads and predicts the same; in .keras, legacy .h5 and .weights.h5."""
import json
import os
import zipfile

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

import rnnkit  # noqa: E402
from rnnkit.models import load_model  # noqa: E402
from rnnkit.models.keras_files import KerasFileError  # noqa: E402

KL = keras.layers
RNG = np.random.default_rng(11)


def _randomize(model, seed=0, scale=0.3):
    """Random weights for every layer (Keras's or rnnkit's), a positive moving variance
    for BatchNormalization (a negative one gives NaN on both sides, which would hide all)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = [rng.normal(scale=scale, size=np.shape(w)).astype("float32")
              for w in layer.get_weights()]
        if type(layer).__name__ == "BatchNormalization":
            ws[-1] = np.abs(ws[-1]) + 0.5
        layer.set_weights(ws)


def _outs(model, x):
    out = model.predict(x, verbose=0)
    out = [np.asarray(o) for o in out] if isinstance(out, (list, tuple)) else [np.asarray(out)]
    assert all(np.isfinite(o).all() for o in out)
    return out


def _same(a_model, b_model, x, atol=2e-5):
    a, b = _outs(a_model, x), _outs(b_model, x)
    assert len(a) == len(b)
    for p, q in zip(a, b):
        assert p.shape == q.shape
        np.testing.assert_allclose(p, q, atol=atol, rtol=1e-5)


def next_frame():
    """keras-io's next-frame ConvLSTM model (smaller): a ConvLSTM2D stack with
    BatchNormalization, and a Conv3D that makes the frames."""
    inp = keras.Input((None, 8, 8, 1))
    x = KL.ConvLSTM2D(4, (5, 5), padding="same", return_sequences=True, activation="relu")(inp)
    x = KL.BatchNormalization()(x)
    x = KL.ConvLSTM2D(4, (3, 3), padding="same", return_sequences=True, activation="relu")(x)
    x = KL.BatchNormalization()(x)
    x = KL.ConvLSTM2D(4, (1, 1), padding="same", return_sequences=True, activation="relu")(x)
    out = KL.Conv3D(1, (3, 3, 3), activation="sigmoid", padding="same")(x)
    return keras.Model(inp, out), RNG.random((2, 3, 8, 8, 1)).astype("float32")


def time_distributed():
    """Per-frame Conv2D/MaxPooling2D through TimeDistributed, then a ConvLSTM2D, then the
    2-D decoder layers (UpSampling2D bilinear, Conv2DTranspose, a strided Conv2D)."""
    return keras.Sequential([
        keras.Input((3, 8, 8, 2)),
        KL.TimeDistributed(KL.Conv2D(4, 3, padding="same", activation="relu")),
        KL.TimeDistributed(KL.MaxPooling2D(2)),
        KL.ConvLSTM2D(3, 3, padding="same", go_backwards=True, recurrent_activation="hard_sigmoid",
                      unit_forget_bias=False),
        KL.UpSampling2D(2, interpolation="bilinear"),
        KL.Conv2DTranspose(2, 3, strides=2, padding="same", activation="tanh"),
        KL.Conv2D(1, (3, 2), strides=(2, 3), padding="valid"),
        KL.Flatten(), KL.Dense(2),
    ]), RNG.normal(size=(2, 3, 8, 8, 2)).astype("float32")


def channels_first():
    """channels_first everywhere, strides, "valid", dilation, no bias, and a ConvLSTM2D
    with return_state feeding two outputs."""
    inp = keras.Input((3, 2, 9, 9))  # (T, C, H, W)
    seq, h, c = KL.ConvLSTM2D(3, (3, 2), strides=2, data_format="channels_first",
                              return_sequences=True, return_state=True, use_bias=False,
                              activation="softsign", dropout=0.2, recurrent_dropout=0.1)(inp)
    a = KL.TimeDistributed(KL.Conv2D(2, 2, data_format="channels_first", dilation_rate=2,
                                     padding="same"))(seq)
    b = KL.Conv2DTranspose(2, 3, strides=(2, 1), data_format="channels_first")(
        KL.Concatenate(axis=1)([h, c]))
    b = KL.MaxPooling2D((2, 3), strides=1, padding="same", data_format="channels_first")(b)
    b = KL.UpSampling2D((1, 2), data_format="channels_first")(b)
    return keras.Model(inp, [a, b]), RNG.normal(size=(2, 3, 2, 9, 9)).astype("float32")


def conv1d_and_3d():
    """ConvLSTM1D (dilated, returning sequences) and ConvLSTM3D beside Conv3D,
    MaxPooling3D and UpSampling3D in both data formats."""
    in1, in3 = keras.Input((4, 10, 2)), keras.Input((3, 5, 5, 5, 1))
    a = KL.ConvLSTM1D(3, 3, dilation_rate=2, padding="same", return_sequences=True)(in1)
    a = KL.ConvLSTM1D(2, 2, strides=2, go_backwards=True, activation="elu")(a)
    b = KL.ConvLSTM3D(2, 2, recurrent_activation="tanh")(in3)  # (4, 4, 4, 2)
    b = KL.MaxPooling3D(2, padding="same")(b)
    b = KL.UpSampling3D((1, 2, 2))(b)
    b = KL.Conv3D(2, (1, 3, 3), strides=(1, 2, 2), padding="same")(b)
    b = KL.Permute((4, 1, 2, 3))(b)  # to channels_first
    b = KL.Conv3D(3, 2, data_format="channels_first", dilation_rate=(1, 2, 1), padding="same")(b)
    b = KL.MaxPooling3D((1, 2, 2), data_format="channels_first")(b)
    b = KL.UpSampling3D(2, data_format="channels_first")(b)
    return keras.Model([in1, in3], [a, b]), [RNG.normal(size=(2, 4, 10, 2)).astype("float32"),
                                             RNG.normal(size=(2, 3, 5, 5, 5, 1)).astype("float32")]


MODELS = {f.__name__: f for f in (next_frame, time_distributed, channels_first, conv1d_and_3d)}


def pair_fixture(models: dict, randomize):
    """A module fixture over ``models`` (name -> () -> (Keras model, input)): (name, the
    Keras model with random weights, input, the rnnkit model read from its .keras)."""
    @pytest.fixture(scope="module", params=list(models))
    def pair(request, tmp_path_factory):
        k, x = models[request.param]()
        randomize(k, seed=len(request.param))
        path = tmp_path_factory.mktemp(request.param) / "k.keras"
        k.save(path)
        return request.param, k, x, load_model(path)
    return pair


pair = pair_fixture(MODELS, _randomize)


def test_keras_file_read_by_rnnkit_predicts_the_same(pair):
    name, k, x, ours = pair
    assert type(ours).__name__ == ("Sequential" if name == "time_distributed" else "Model")
    assert ours.count_params() == k.count_params()
    assert [type(lay).__name__ for lay in ours.layers if type(lay).__name__ != "InputLayer"] == \
        [type(lay).__name__ for lay in k.layers if type(lay).__name__ != "InputLayer"]
    _same(ours, k, x)


def test_legacy_h5_read_by_rnnkit_predicts_the_same(pair, tmp_path):
    _, k, x, _ = pair
    k.save(tmp_path / "k.h5")
    _same(load_model(tmp_path / "k.h5"), k, x)


def test_rnnkit_keras_file_read_by_keras_predicts_the_same_with_the_same_config(pair, tmp_path):
    _, k, x, ours = pair
    ours.save(tmp_path / "ours.keras")
    again = keras.models.load_model(tmp_path / "ours.keras")
    _same(again, ours, x)
    # Every argument of every layer comes back as Keras wrote it; names aside (Keras names
    # the backward copy of a Bidirectional layer read back "backward_forward_x").
    for a, b in zip(k.layers, again.layers):
        ca, cb = a.get_config(), b.get_config()
        for cfg in (ca, cb):
            cfg.pop("name", None)
            for inner in ("layer", "backward_layer"):
                if isinstance(cfg.get(inner), dict):
                    cfg[inner]["config"].pop("name", None)
        assert ca == cb, type(a).__name__


def test_weights_h5_both_ways(pair, tmp_path):
    _, k, x, ours = pair
    k.save_weights(tmp_path / "k.weights.h5")
    _randomize(ours, seed=99)
    ours.load_weights(tmp_path / "k.weights.h5")
    _same(ours, k, x)
    k2 = keras.models.clone_model(k)
    _randomize(ours, seed=98)
    ours.save_weights(tmp_path / "ours.weights.h5")
    k2.load_weights(tmp_path / "ours.weights.h5")
    _same(k2, ours, x)


def test_model_built_in_rnnkit_saved_as_keras(tmp_path):
    """Written from rnnkit code (not from a Keras file), loaded by Keras."""
    L = rnnkit.layers
    model = rnnkit.Sequential([
        L.TimeDistributed(L.Conv2D(3, 3, padding="same"), input_shape=(4, 6, 6, 1)),
        L.ConvLSTM2D(2, 3, padding="same", return_sequences=True, zero_output_for_mask=True),
        L.TimeDistributed(L.UpSampling2D(2)),
        L.Conv3D(1, 3, padding="same", activation="sigmoid")])
    model.save(tmp_path / "r.keras")
    k = keras.models.load_model(tmp_path / "r.keras")
    assert k.layers[1].zero_output_for_mask is True
    _same(k, model, RNG.normal(size=(2, 4, 6, 6, 1)).astype("float32"))


def _config(path) -> dict:
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("config.json"))


def test_regularizers_and_constraints_come_from_the_file(tmp_path):
    reg, con = keras.regularizers, keras.constraints
    k = keras.Sequential([
        keras.Input((3, 6, 6, 2)),
        KL.ConvLSTM2D(3, 3, padding="same", return_sequences=True,
                      kernel_regularizer=reg.L2(0.01), recurrent_regularizer=reg.L1(0.02),
                      bias_regularizer=reg.L1L2(0.03, 0.04),
                      kernel_constraint=con.MaxNorm(0.5, axis=[0, 1, 2]),
                      recurrent_constraint=con.UnitNorm(axis=[0, 1, 2]),
                      bias_constraint=con.NonNeg()),
        KL.Conv3D(2, 2, kernel_regularizer=reg.L2(0.05), kernel_constraint=con.MaxNorm(0.3),
                  bias_constraint=con.NonNeg()),
    ])
    _randomize(k, seed=3)
    k.save(tmp_path / "reg.keras")
    ours = load_model(tmp_path / "reg.keras")
    # The penalties: Keras's regularization losses, summed.
    penalty = sum(float(t.detach()) for lay in ours.layers for t in lay.losses)
    np.testing.assert_allclose(penalty, float(sum(k.losses)), rtol=1e-5)
    # The constraints project in Keras's layout: apply Keras's to its weights, ours to ours.
    for kl, ol in zip(k.layers, ours.layers):
        want = [keras.ops.convert_to_numpy(getattr(kl, attr)(w.value)) if getattr(kl, attr, None)
                else w.numpy()
                for attr, w in zip(("kernel_constraint", "recurrent_constraint", "bias_constraint")
                                   if len(kl.weights) == 3 else
                                   ("kernel_constraint", "bias_constraint"), kl.weights)]
        ol.apply_constraints()
        got = ol.get_weights()
        assert any(not np.allclose(w, kw.numpy()) for w, kw in zip(want, kl.weights))
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, atol=1e-6)
    # and rnnkit writes them back as Keras wrote them
    ours.save(tmp_path / "ours.keras")
    back = _config(tmp_path / "ours.keras")["config"]["layers"][1]["config"]
    assert back["kernel_regularizer"]["config"] == {"l2": 0.01}
    assert back["kernel_constraint"]["config"]["axis"] == [0, 1, 2]
    # after the constraints
    penalty = sum(float(t.detach()) for lay in ours.layers for t in lay.losses)
    assert float(sum(keras.models.load_model(tmp_path / "ours.keras").losses)) == \
        pytest.approx(penalty, rel=1e-5)


@pytest.mark.parametrize("layer, arg", [
    (lambda: KL.Conv2D(4, 3, groups=2), "groups`=2"),
    (lambda: KL.Conv3D(4, 2, groups=2), "groups`=2"),
    (lambda: KL.Conv2DTranspose(2, 3, strides=2, output_padding=1), r"output_padding`=\[1, 1\]"),
])
def test_unsupported_argument_is_refused_by_name(tmp_path, layer, arg):
    lay = layer()
    shape = (6, 6, 6, 4) if isinstance(lay, KL.Conv3D) else (6, 6, 4)
    k = keras.Sequential([keras.Input(shape), lay])
    k.save(tmp_path / "u.keras")
    cls = type(lay).__name__
    with pytest.raises(KerasFileError,
                       match=rf"\({cls}\).*argument `{arg} isn't supported by rnnkit"):
        load_model(tmp_path / "u.keras")


def test_rnnkit_only_conv_option_is_refused_when_saving_as_keras(tmp_path):
    model = rnnkit.Sequential([rnnkit.layers.ConvLSTM2D(2, 3, padding="same", layer_norm=True,
                                                        input_shape=(3, 5, 5, 1))])
    with pytest.raises(KerasFileError, match="layer_norm"):
        model.save(tmp_path / "ln.keras")
    assert not (tmp_path / "ln.keras").exists()


def test_wrong_weight_shape_in_the_file_is_named(tmp_path):
    import h5py
    k, _ = next_frame()
    k.save_weights(tmp_path / "k.weights.h5")
    ours = load_model(_saved(k, tmp_path))
    _randomize(ours, seed=5)  # differs from the file's, so a half-done load would show
    with h5py.File(tmp_path / "k.weights.h5", "r+") as h5:
        del h5["layers/conv_lstm2d_1/cell/vars/0"]
        h5["layers/conv_lstm2d_1/cell/vars/0"] = np.zeros((3, 3, 4, 4), "float32")
    before = [w.copy() for w in ours.get_weights()]
    with pytest.raises(ValueError, match=r"layers/conv_lstm2d_1.*cell/vars/0 has shape "
                       r"\(3, 3, 4, 4\) in the file but the "
                       r"rnnkit layer's weight has shape \(3, 3, 4, 16\)"):
        ours.load_weights(tmp_path / "k.weights.h5")
    assert all(np.array_equal(a, b) for a, b in zip(before, ours.get_weights()))


def _saved(k, tmp_path):
    k.save(tmp_path / "arch.keras")
    return tmp_path / "arch.keras"


def _rewrite_config(src, dst, edit):
    """Copy the .keras zip ``src`` to ``dst`` with its config.json passed through ``edit``."""
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w") as out:
        for name in z.namelist():
            data = z.read(name)
            if name == "config.json":
                data = json.dumps(edit(json.loads(data))).encode()
            out.writestr(name, data)


def test_a_file_declaring_a_huge_conv_model_is_refused_before_allocating(tmp_path):
    k, _ = next_frame()
    k.save(tmp_path / "k.keras")

    def huge(cfg):
        cfg["config"]["layers"][1]["config"]["filters"] = 200_000  # ~16e9 parameters
        return cfg
    _rewrite_config(tmp_path / "k.keras", tmp_path / "huge.keras", huge)
    # (allocated for real, these 64 GB would fail with a RuntimeError, or worse)
    with pytest.raises(KerasFileError, match=r"declares a model of [\d,]+ parameters, more "
                                             r"than max_params=100,000,000"):
        load_model(tmp_path / "huge.keras")
    with pytest.raises(KerasFileError, match="max_params=100"):
        load_model(tmp_path / "k.keras", max_params=100)
    assert load_model(tmp_path / "k.keras", max_params=k.count_params() + 100)


def test_deeply_nested_config_is_refused(tmp_path):
    from rnnkit import InvalidModelFile
    k, _ = next_frame()
    k.save(tmp_path / "k.keras")

    def deep(cfg):
        nest = []
        for _ in range(200):
            nest = [nest]
        cfg["config"]["layers"][1]["config"]["padding"] = nest
        return cfg
    _rewrite_config(tmp_path / "k.keras", tmp_path / "deep.keras", deep)
    with pytest.raises(InvalidModelFile, match="nests JSON"):
        load_model(tmp_path / "deep.keras")


def test_a_conv_weight_stored_as_strings_is_refused(tmp_path):
    import h5py
    k, _ = next_frame()
    k.save_weights(tmp_path / "k.weights.h5")
    ours = load_model(_saved(k, tmp_path))
    with h5py.File(tmp_path / "k.weights.h5", "r+") as h5:
        del h5["layers/conv3d/vars/1"]
        h5["layers/conv3d/vars/1"] = np.array([b"x"])
    with pytest.raises(ValueError, match=r"layers/conv3d.*vars/1 has dtype \|S1, not numbers"):
        ours.load_weights(tmp_path / "k.weights.h5")


def test_stateful_conv_lstm_both_ways_and_the_sequential_limit(tmp_path):
    inp = keras.Input(batch_shape=(2, 3, 5, 5, 1))
    k = keras.Model(inp, KL.ConvLSTM2D(2, 3, padding="same", stateful=True)(inp))
    _randomize(k, seed=12)
    k.save(tmp_path / "s.keras")
    ours = load_model(tmp_path / "s.keras")
    x = RNG.normal(size=(2, 3, 5, 5, 1)).astype("float32")
    calls = []
    for _ in range(2):  # the state carries over from call to call, as in Keras
        calls.append(_outs(ours, x)[0])
        np.testing.assert_allclose(calls[-1], _outs(k, x)[0], atol=2e-5)
    assert not np.allclose(calls[0], calls[1])
    ours.save(tmp_path / "ours.keras")
    again = keras.models.load_model(tmp_path / "ours.keras")
    assert again.layers[1].stateful and again.input_shape[0] == 2
    ours.layers[1].reset_states()
    _same(again, ours, x)
    seq = rnnkit.Sequential([rnnkit.layers.ConvLSTM2D(2, 3, stateful=True, name="memory",
                                                      input_shape=(3, 5, 5, 1))])
    with pytest.raises(KerasFileError, match=r"\['memory'\] need a fixed batch size.*"
                                             r"rnnkit.Input\(shape, batch_size=B\)"):
        seq.save(tmp_path / "seq.keras")


def test_a_zip_whose_weights_unpack_beyond_max_params_is_refused(tmp_path):
    k, _ = next_frame()
    k.save(tmp_path / "k.keras")
    with zipfile.ZipFile(tmp_path / "k.keras") as z, \
            zipfile.ZipFile(tmp_path / "bomb.keras", "w", zipfile.ZIP_DEFLATED) as out:
        for name in z.namelist():
            data = z.read(name)
            if name == "model.weights.h5":
                data += b"\0" * (80 * 2 ** 20)  # 80 MB of zeros, ~80 KB deflated
            out.writestr(name, data)
    assert (tmp_path / "bomb.keras").stat().st_size < 2 ** 20
    with pytest.raises(KerasFileError, match=r"model.weights.h5 unpacks to [\d,]+ bytes, more "
                                             r"than the [\d,]+ accepted"):
        load_model(tmp_path / "bomb.keras", max_params=1_000_000)
    assert load_model(tmp_path / "k.keras", max_params=1_000_000)  # the real one fits
