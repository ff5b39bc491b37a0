"""Optimizers: Keras 3's defaults and update rules, checked by hand and against Keras."""
import math
import os

import numpy as np
import pytest
import torch

from rnnkit import optimizers as O
from rnnkit.training.optimizers import get_optimizer

KERAS_DEFAULTS = {  # keras/src/optimizers/*.py, Keras 3
    "SGD": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
    "Adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
             "amsgrad": False},
    "AdamW": {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999,
              "epsilon": 1e-7, "amsgrad": False},
    "RMSprop": {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
                "centered": False},
    "Adagrad": {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
}


@pytest.mark.parametrize("name", sorted(KERAS_DEFAULTS))
def test_defaults_are_keras(name):
    by_name = get_optimizer(name.lower())
    assert type(by_name).__name__ == name
    cfg = by_name.get_config()
    for k, v in KERAS_DEFAULTS[name].items():
        assert cfg[k] == v, k
    assert cfg["clipnorm"] is None and cfg["clipvalue"] is None


def test_defaults_match_installed_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    for name in KERAS_DEFAULTS:
        theirs = getattr(keras.optimizers, name)().get_config()
        ours = getattr(O, name)().get_config()
        for k in KERAS_DEFAULTS[name]:
            assert ours[k] == pytest.approx(theirs[k]), (name, k)


def _steps(opt, p0, grads):
    p = torch.nn.Parameter(torch.tensor(p0, dtype=torch.float64))
    opt.build([p])
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    return p.detach().numpy()


def test_sgd_momentum_and_nesterov_by_hand():
    # m = 0.9 m - 0.1 g; p += m   with g = 2: m1 = -0.2, p1 = 0.8; m2 = -0.38, p2 = 0.42
    np.testing.assert_allclose(_steps(O.SGD(0.1, momentum=0.9), [1.0], [[2.0], [2.0]]), [0.42])
    # nesterov: p += 0.9 m - 0.1 g = 1 - 0.18 - 0.2
    np.testing.assert_allclose(_steps(O.SGD(0.1, momentum=0.9, nesterov=True), [1.0], [[2.0]]),
                               [0.62])


def test_adam_first_step_by_hand():
    # t=1: m = 0.1*2, v = 0.001*4, alpha = lr*sqrt(1-0.999)/(1-0.9); p -= alpha m/(sqrt(v)+eps)
    alpha = 0.1 * math.sqrt(0.001) / 0.1
    want = 1.0 - alpha * 0.2 / (math.sqrt(0.004) + 1e-7)
    np.testing.assert_allclose(_steps(O.Adam(0.1), [1.0], [[2.0]]), [want], rtol=1e-12)


def test_rmsprop_puts_epsilon_inside_the_root_as_keras():
    # v = 0.1 g² = 1e-7; Keras: lr g / sqrt(v + eps) = 1e-5 / sqrt(2e-7) (torch would give
    # 1e-5 / (sqrt(1e-7) + 1e-7), 41 % larger)
    want = 1.0 - 0.01 * 1e-3 / math.sqrt(1e-7 + 1e-7)
    np.testing.assert_allclose(_steps(O.RMSprop(0.01), [1.0], [[1e-3]]), [want], rtol=1e-12)


def test_adagrad_first_step_by_hand():
    want = 1.0 - 0.1 * 2.0 / math.sqrt(0.1 + 4.0 + 1e-7)
    np.testing.assert_allclose(_steps(O.Adagrad(0.1), [1.0], [[2.0]]), [want], rtol=1e-12)


def test_clipping_per_tensor_global_and_by_value():
    def run(**clip):
        a = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
        b = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        opt = O.SGD(1.0, **clip).build([a, b])
        a.grad, b.grad = torch.tensor([3.0, 4.0], dtype=torch.float64), torch.tensor(
            [0.5], dtype=torch.float64)
        opt.step()
        return np.concatenate([a.detach().numpy(), b.detach().numpy()])

    np.testing.assert_allclose(run(clipnorm=1.0), [-0.6, -0.8, -0.5])  # each tensor alone
    s = 1.0 / math.sqrt(25.25)
    np.testing.assert_allclose(run(global_clipnorm=1.0), [-3 * s, -4 * s, -0.5 * s])
    np.testing.assert_allclose(run(clipvalue=1.0), [-1.0, -1.0, -0.5])
    with pytest.raises(ValueError, match="only one of"):
        O.SGD(clipnorm=1.0, clipvalue=1.0)


def test_decoupled_weight_decay():
    # p <- p - p*wd*lr before the rule: 1 - 0.5*0.1 = 0.95, then a zero gradient step
    np.testing.assert_allclose(_steps(O.SGD(0.1, weight_decay=0.5), [1.0], [[0.0]]), [0.95])


def test_learning_rate_property_drives_the_torch_optimizer():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = O.Adam(0.01)
    assert opt.learning_rate == 0.01
    opt.build([p])
    opt.learning_rate = 0.5
    assert opt.torch.param_groups[0]["lr"] == 0.5 and opt.learning_rate == 0.5
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate = -1.0
    with pytest.raises(ValueError, match="already built"):
        opt.build([p])
    assert get_optimizer(opt) is not opt  # a built optimizer is cloned for a new model


def test_state_dict_round_trip_continues_identically():
    grads = [[0.3, -1.0], [0.1, 0.2], [-0.5, 0.4]]
    full = _steps(O.Adam(0.05), [1.0, 2.0], grads)
    p = torch.nn.Parameter(torch.tensor([1.0, 2.0], dtype=torch.float64))
    a = O.Adam(0.05).build([p])
    for g in grads[:2]:
        p.grad = torch.tensor(g, dtype=torch.float64)
        a.step()
    b = O.Adam(0.05).build([p])
    b.load_state_dict(a.state_dict())
    p.grad = torch.tensor(grads[2], dtype=torch.float64)
    b.step()
    np.testing.assert_array_equal(p.detach().numpy(), full)


def test_names_objects_and_torch_instances():
    assert isinstance(get_optimizer("adam"), O.Adam)
    with pytest.raises(ValueError, match="did you mean 'adam'"):
        get_optimizer("adma")
    with pytest.raises(TypeError, match="`optimizer`"):
        get_optimizer(42)
    p = torch.nn.Parameter(torch.zeros(1))
    wrapped = get_optimizer(torch.optim.SGD([p], lr=0.3))
    assert isinstance(wrapped, O.TorchOptimizer) and wrapped.learning_rate == pytest.approx(0.3)
    with pytest.raises(ValueError, match="learning_rate"):
        O.Adam(learning_rate=0)
    with pytest.raises(ValueError, match="beta_1"):
        O.Adam(beta_1=1.0)


KERAS_CASES = [
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"learning_rate": 0.05, "weight_decay": 0.1}),
    ("Adam", {"learning_rate": 0.05}),
    ("Adam", {"learning_rate": 0.05, "amsgrad": True, "clipnorm": 0.5}),
    ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.1}),
    ("RMSprop", {"learning_rate": 0.01}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.5}),
    ("Adagrad", {"learning_rate": 0.1, "global_clipnorm": 1.0}),
]


@pytest.mark.parametrize("name,kw", KERAS_CASES)
def test_update_rules_match_keras(name, kw):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    target = rng.normal(size=(3, 4)).astype("float32")
    scale = rng.uniform(1e-3, 2.0, size=(3, 4)).astype("float32")
    init = rng.normal(size=(3, 4)).astype("float32")

    k_var = keras.Variable(init)
    k_opt = getattr(keras.optimizers, name)(**kw)
    p = torch.nn.Parameter(torch.from_numpy(init.copy()))
    ours = getattr(O, name)(**kw).build([p])
    for _ in range(6):
        kv = np.asarray(keras.ops.convert_to_numpy(k_var))
        k_opt.apply([keras.ops.convert_to_tensor(2 * scale * (kv - target))], [k_var])
        p.grad = 2 * torch.from_numpy(scale) * (p.detach() - torch.from_numpy(target))
        ours.step()
    np.testing.assert_allclose(p.detach().numpy(), np.asarray(keras.ops.convert_to_numpy(k_var)),
                               rtol=2e-5, atol=2e-6)


# --- issue #10: non-finite hyperparameters, optimizer states from files ---------------------
@pytest.mark.parametrize("cls", [O.SGD, O.Adam, O.AdamW, O.RMSprop, O.Adagrad])
def test_nan_and_infinite_learning_rates_are_refused(cls):
    for bad in (float("nan"), float("inf"), -1e-3):
        with pytest.raises(ValueError, match="learning_rate"):
            cls(learning_rate=bad)
    opt = cls().build([torch.nn.Parameter(torch.zeros(2))])
    with pytest.raises(ValueError, match="finite"):
        opt.learning_rate = float("nan")
    assert opt.learning_rate == cls().learning_rate


def test_an_optimizer_state_of_another_shape_is_refused_before_loading():
    p = torch.nn.Parameter(torch.ones(3))
    opt = O.Adam().build([p])
    p.grad = torch.ones(3)
    opt.step()
    good = opt.state_dict()
    fresh = O.Adam().build([torch.nn.Parameter(torch.ones(3))])
    fresh.load_state_dict(good)  # the real one loads
    bad = {"state": {0: {**good["state"][0], "m": torch.zeros(4)}},
           "param_groups": good["param_groups"]}
    other = O.Adam().build([torch.nn.Parameter(torch.ones(3))])
    with pytest.raises(ValueError, match=r"has shape \(4,\); the parameter has \(3,\)"):
        other.load_state_dict(bad)
    assert not other.torch.state  # nothing was loaded
    nan_lr = {"state": {}, "param_groups": [{**good["param_groups"][0], "lr": float("nan")}]}
    with pytest.raises(ValueError, match="finite"):
        other.load_state_dict(nan_lr)
    with pytest.raises(ValueError, match="parameter 5"):
        other.load_state_dict({"state": {5: {}}, "param_groups": good["param_groups"]})


def test_torch_optimizer_states_with_none_and_tensor_lr_load():
    p = torch.nn.Parameter(torch.ones(3))
    sgd = O.TorchOptimizer(torch.optim.SGD([p], lr=0.1))
    p.grad = torch.ones(3)
    sgd.step()
    state = sgd.state_dict()
    state["state"][0] = {"momentum_buffer": None}  # what torch's SGD may keep without momentum
    O.TorchOptimizer(torch.optim.SGD([torch.nn.Parameter(torch.ones(3))], lr=0.1)).load_state_dict(state)
    adam = O.TorchOptimizer(torch.optim.Adam([torch.nn.Parameter(torch.ones(3))],
                                             lr=torch.tensor(0.01)))
    adam.load_state_dict(adam.state_dict())
