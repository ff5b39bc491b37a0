"""Sequential's structure: building, masks, summary, weights, configs, devices."""
import numpy as np
import pytest
import torch

from rnnkit.models import Sequential


def test_built_from_the_first_layers_input_shape(toys):
    model = Sequential()
    model.add(toys.ToyDense(4, input_shape=(5, 3)))
    assert model.built and model.layers[0].built
    model.add(toys.ToyDense(2))  # built on add, from the previous output shape
    assert model.layers[1].kernel.shape == (4, 2)
    assert model.input_shape == (None, 5, 3) and model.output_shape == (None, 5, 2)
    assert model(torch.zeros(7, 5, 3)).shape == (7, 5, 2)


def test_built_lazily_from_the_first_batch_or_build(toys):
    lazy = Sequential([toys.ToyDense(4), toys.ToyDense(1)])
    assert not lazy.built
    with pytest.raises(ValueError, match="isn't built yet"):
        lazy.count_params()
    assert lazy(torch.zeros(2, 6)).shape == (2, 1)
    assert lazy.built and lazy.input_shape == (None, 6)
    explicit = Sequential([toys.ToyDense(4), toys.ToyDense(1)])
    explicit.build((None, 6))
    assert explicit.count_params() == (6 * 4 + 4) + (4 * 1 + 1)


def test_masks_flow_from_layer_to_layer(toys):
    pool = toys.ToyMaskedMean()
    model = Sequential([toys.ToyMaskZero(), toys.ToyDense(2), pool])
    x = torch.tensor([[[1.0], [2.0], [0.0]], [[3.0], [0.0], [0.0]]])  # zero steps = padding
    out = model(x)
    torch.testing.assert_close(pool.last_mask, torch.tensor([[True, True, False],
                                                             [True, False, False]]))
    dense = model.layers[1]
    h = x @ dense.kernel + dense.bias
    want = torch.stack([h[0, :2].mean(0), h[1, :1].mean(0)])
    torch.testing.assert_close(out, want)
    # an explicit mask goes into the first layer
    model2 = Sequential([toys.ToyDense(2), pool])
    model2(x, mask=torch.tensor([[True, False, False], [True, True, True]]))
    assert pool.last_mask.tolist() == [[True, False, False], [True, True, True]]


def test_summary_table_and_counts(toys, capsys):
    model = Sequential([toys.ToyDense(4, input_shape=(10, 3)), toys.ToyDense(1)])
    model.layers[1].trainable = False
    model.layers[1].kernel.requires_grad_(False)
    model.layers[1].bias.requires_grad_(False)
    from rnnkit.models.summary import format_summary
    assert model.summary() is None                    # prints, returns None (as Keras)
    text = capsys.readouterr().out
    assert text.strip() == format_summary(model).strip()
    assert 'Model: "sequential"' in text
    assert "toy_dense (ToyDense)" in text and "toy_dense_1 (ToyDense)" in text
    assert "(None, 10, 4)" in text and "(None, 10, 1)" in text
    # 3*4+4 = 16 and 4*1+1 = 5
    assert "Total params: 21" in text and "Trainable params: 16" in text
    assert "Non-trainable params: 5" in text
    assert model.count_params() == 21
    lines = []
    assert model.summary(print_fn=lines.append) is None and lines == [text.rstrip("\n")]
    with pytest.raises(ValueError, match="isn't built"):
        Sequential([toys.ToyDense(1)]).summary()


def test_get_set_weights_concatenate_layers_and_check_everything_first(toys):
    model = Sequential([toys.ToyDense(3, input_shape=(2,)), toys.ToyDense(1)])
    w = model.get_weights()
    assert [a.shape for a in w] == [(2, 3), (3,), (3, 1), (1,)]
    new = [np.full(a.shape, i + 1.0, dtype="float32") for i, a in enumerate(w)]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        np.testing.assert_array_equal(got, want)
    bad = new[:3] + [np.zeros((2,), dtype="float32")]
    with pytest.raises(ValueError, match=r"`weights\[3\]`.*\(1,\), got \(2,\)"):
        model.set_weights([np.zeros_like(a) for a in bad[:3]] + bad[3:])
    np.testing.assert_array_equal(model.get_weights()[0], new[0])  # nothing changed
    with pytest.raises(ValueError, match="must hold 4 arrays"):
        model.set_weights(new[:2])


def test_unique_names_and_bad_layers(toys):
    model = Sequential([toys.ToyDense(1), toys.ToyDense(1), toys.ToyDense(1)])
    assert [l.name for l in model.layers] == ["toy_dense", "toy_dense_1", "toy_dense_2"]
    model.add(toys.ToyDense(1, name="mine"))
    with pytest.raises(ValueError, match="unique names; 'mine'"):
        model.add(toys.ToyDense(1, name="mine"))
    with pytest.raises(TypeError, match="rnnkit layer"):
        model.add(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="already in the model"):
        model.add(model.layers[0])


def test_pop_and_config_round_trip(toys):
    model = Sequential([toys.ToyDense(3, input_shape=(2,)), toys.ToyDense(5)], name="net")
    assert model.pop().units == 5 and model.output_shape == (None, 3)
    model.add(toys.ToyDense(1))
    cfg = model.get_config()
    assert cfg["name"] == "net" and cfg["build_input_shape"] == [2]
    assert [l["class_name"] for l in cfg["layers"]] == ["ToyDense", "ToyDense"]
    clone = Sequential.from_config(cfg)
    assert clone.built and clone.get_config() == cfg
    with pytest.raises(ValueError, match="unknown layer class 'ToyDence'"):
        Sequential.from_config({"layers": [{"class_name": "ToyDence", "config": {}}]})


def test_input_shape_checks(toys):
    model = Sequential([toys.ToyDense(4, input_shape=(100, 1)), toys.ToyMaskedMean()])
    with pytest.raises(ValueError, match="50 time steps but the model was built for 100"):
        model.check_input_shape((50, 1))  # a fixed T is checked (issue #10) ...
    free = Sequential([toys.ToyDense(4, input_shape=(None, 1)), toys.ToyMaskedMean()])
    free.check_input_shape((50, 1))  # ... and a T built as None takes any length
    with pytest.raises(ValueError, match="time and feature axes look swapped"):
        model.check_input_shape((1, 100))
    with pytest.raises(ValueError, match="`x` has 3 features per step but the model was built "
                                         "for 1"):
        model.check_input_shape((100, 3))
    with pytest.raises(ValueError, match=r"add a trailing axis: x\[\.\.\., None\]"):
        model.check_input_shape((100,))


def test_devices(toys):
    model = Sequential([toys.ToyDense(2)]).to("cpu")
    assert model(torch.zeros(1, 3)).device.type == "cpu"
    model.compile("sgd", "mse", device="cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA isn't available"):
            model.compile("sgd", "mse", device="cuda")
    with pytest.raises(ValueError, match="`device`"):
        model.compile("sgd", "mse", device="tpu-9")


def test_lazily_built_layers_follow_to_dtype(toys):
    model = Sequential([toys.ToyDense(2)]).to(torch.float64)
    out = model(torch.zeros(1, 3, dtype=torch.float64))
    assert model.layers[0].kernel.dtype == torch.float64 and out.dtype == torch.float64


def test_build_takes_keras_shapes_with_the_batch_axis():
    from rnnkit.layers import LSTM, Dense
    model = Sequential([LSTM(4), Dense(1)])
    model.build((None, 10, 3))
    assert model.output_shape == (None, 1) and model.count_params() == 4 * (3 * 4 + 4 * 4 + 4) + 5
    with pytest.raises(ValueError, match="batch axis"):
        Sequential([Dense(1)]).build((3,))


def test_a_failed_build_leaves_the_model_unbuilt_and_usable():
    import numpy as np
    from rnnkit.layers import LSTM, Dense
    model = Sequential([LSTM(4), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError):
        model.fit(np.zeros((8, 5), "float32"), np.zeros((8, 1), "float32"), epochs=1, verbose=0)
    assert not model.built
    model.fit(np.zeros((8, 6, 2), "float32"), np.zeros((8, 1), "float32"), epochs=1, verbose=0)
    assert model.built and model.input_shape == (None, 6, 2)


def test_reset_states_resets_every_stateful_layer():
    import torch
    from rnnkit.layers import GRU
    model = Sequential([GRU(3, stateful=True, return_sequences=True), GRU(2, stateful=True)])
    x = torch.randn(2, 4, 1)
    first = model.predict(x)
    assert not np.allclose(model.predict(x), first)  # the state carried over
    model.reset_states()
    np.testing.assert_allclose(model.predict(x), first, rtol=0, atol=1e-6)


# --- issue #10: a fixed T is checked; None takes any length ----------------------------------
def test_a_model_built_for_fixed_T_rejects_another_T():
    from rnnkit.layers import LSTM, Dense

    model = Sequential([LSTM(3, input_shape=(5, 2)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"7 time steps but the model was built for 5") as e:
        model.fit(np.zeros((4, 7, 2), np.float32), np.zeros((4, 1), np.float32), verbose=0)
    assert "input_shape=(None, 2)" in str(e.value)
    with pytest.raises(ValueError, match="7 time steps"):
        model.predict(np.zeros((4, 7, 2), np.float32))
    assert model.predict(np.zeros((4, 5, 2), np.float32)).shape == (4, 1)
    free = Sequential([LSTM(3, input_shape=(None, 2)), Dense(1)])
    for t in (3, 9):
        assert free.predict(np.zeros((2, t, 2), np.float32)).shape == (2, 1)


def test_a_model_built_from_its_first_batch_keeps_T_free(tmp_path):
    """No input_shape given: the first batch's T was never declared, so other lengths
    still run (before and after a save/load round trip)."""
    from rnnkit.layers import LSTM, Dense
    from rnnkit.models import load_model

    model = Sequential([LSTM(3), Dense(1)])
    assert model.predict(np.zeros((2, 5, 2), np.float32)).shape == (2, 1)
    assert model.predict(np.zeros((2, 9, 2), np.float32)).shape == (2, 1)
    model.save(tmp_path / "m.rnnkit")
    again = load_model(tmp_path / "m.rnnkit")
    assert again.predict(np.zeros((2, 4, 2), np.float32)).shape == (2, 1)
    declared = Sequential([LSTM(3, input_shape=(5, 2)), Dense(1)])
    declared.save(tmp_path / "d.rnnkit")
    with pytest.raises(ValueError, match="4 time steps"):
        load_model(tmp_path / "d.rnnkit").predict(np.zeros((2, 4, 2), np.float32))
