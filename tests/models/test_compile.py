"""compile: names, objects, torch optimizers, devices; all-or-nothing on errors."""
import pytest
import torch

from rnnkit.losses import BinaryCrossentropy, MeanSquaredError
from rnnkit.metrics import RootMeanSquaredError
from rnnkit.models import Sequential
from rnnkit.optimizers import Adam, RMSprop, TorchOptimizer


def test_defaults_names_and_objects(toys):
    model = Sequential([toys.ToyDense(1, input_shape=(3,))])
    model.compile(loss="mse")
    assert isinstance(model.optimizer, RMSprop) and model.optimizer.built  # Keras's default
    model.compile(optimizer=Adam(0.02, clipvalue=0.5), loss=BinaryCrossentropy(from_logits=True),
                  metrics="accuracy")
    assert model.optimizer.learning_rate == 0.02 and model.optimizer.clipvalue == 0.5
    assert [m.name for m in model.compiled_metrics] == ["accuracy"]
    assert model.get_compile_config() == {
        "optimizer": {"class_name": "Adam", "config": model.optimizer.get_config()},
        "loss": {"class_name": "BinaryCrossentropy", "config": {
            "name": "binary_crossentropy", "reduction": "sum_over_batch_size",
            "from_logits": True, "label_smoothing": 0.0}},
        "metrics": ["accuracy"]}


def test_a_torch_optimizer_is_used_as_is(toys):
    model = Sequential([toys.ToyDense(1, input_shape=(3,))])
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    model.compile(opt, "mse")
    assert isinstance(model.optimizer, TorchOptimizer) and model.optimizer.torch is opt
    assert model.get_compile_config()["optimizer"]["config"]["torch_class"] == "SGD"


def test_an_unbuilt_model_gets_its_optimizer_on_the_first_fit(toys):
    model = Sequential([toys.ToyDense(1)])
    model.compile("adam", "mse")
    assert not model.optimizer.built
    X, y = toys.linear_data(8)
    model.fit(X, y, epochs=1, verbose=0)
    assert model.optimizer.built and len(model.optimizer.param_groups[0]["params"]) == 2


def test_errors_leave_the_previous_compile_in_place(toys):
    model = Sequential([toys.ToyDense(1, input_shape=(3,))])
    model.compile("sgd", MeanSquaredError(), metrics=[RootMeanSquaredError()])
    before = (model.optimizer, model.loss, model.compiled_metrics)
    for bad in [dict(loss="msee"), dict(metrics=["mae", "mae"]), dict(optimizer="adamm"),
                dict(metrics={"out": "mae"}), dict(device="gpu:x")]:
        with pytest.raises((ValueError, TypeError)):
            model.compile(**{"optimizer": "adam", "loss": "mae", **bad})
        assert (model.optimizer, model.loss, model.compiled_metrics) == before
