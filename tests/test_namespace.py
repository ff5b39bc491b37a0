"""``import rnnkit as keras``: Keras's names for the supported subset, and a
clear error naming any Keras name that rnnkit lacks."""
import pytest

import rnnkit as keras


def test_keras_names_resolve():
    from rnnkit import layers
    assert keras.Input is layers.Input and keras.Model is keras.models.Model
    assert keras.Sequential is keras.models.Sequential
    assert callable(keras.models.load_model)
    for module, names in {
        "layers": ["LSTM", "GRU", "SimpleRNN", "RNN", "LSTMCell", "GRUCell", "SimpleRNNCell",
                   "StackedRNNCells", "Dense", "Embedding", "Bidirectional", "Concatenate", "Add",
                   "Subtract", "Multiply", "Average", "Maximum", "Dot", "InputLayer", "Reshape",
                   "Permute", "Lambda", "TimeDistributed", "Dropout", "Masking", "Layer"],
        "callbacks": ["EarlyStopping", "ModelCheckpoint"],
        "optimizers": ["Adam", "SGD", "RMSprop"],
        "losses": ["MeanSquaredError", "mse"],
        "metrics": ["Accuracy", "get"],
        "activations": ["get", "tanh", "relu", "sigmoid", "softmax"],
        "regularizers": ["L1", "L2", "L1L2"],
        "constraints": ["MaxNorm", "NonNeg", "UnitNorm"],
        "utils": ["set_random_seed", "pad_sequences", "to_categorical",
                  "timeseries_dataset_from_array"],
        "preprocessing": ["timeseries_dataset_from_array", "sequence"],
    }.items():
        mod = getattr(keras, module)
        for name in names:
            assert getattr(mod, name) is not None, f"keras.{module}.{name}"


def test_activations_get():
    import torch
    x = torch.tensor([[-1.0, 0.0, 2.0]])
    assert torch.equal(keras.activations.get("relu")(x), torch.relu(x))
    torch.testing.assert_close(keras.activations.softmax(x), torch.softmax(x, -1))
    assert keras.activations.get(None)(x) is x or torch.equal(keras.activations.get(None)(x), x)


@pytest.mark.parametrize("path", ["ops", "layers.SeparableConv1D", "layers.ConvLSTM1DCell",
                                  "optimizers.Nadam", "utils.plot_model", "models.clone_model"])
def test_unsupported_keras_names_raise_naming_them(path):
    parts = path.split(".")
    obj = keras
    with pytest.raises(AttributeError, match=rf"keras\.{path} is not supported by rnnkit"):
        for p in parts:
            obj = getattr(obj, p)
    assert isinstance(keras.NotSupportedError("x"), AttributeError)
