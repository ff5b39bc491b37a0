"""Keras-style optimizers: configured now, created on the model's parameters
once the model is built (Sequential models may build lazily on the first batch).

    Adam(learning_rate=1e-3, clipnorm=1.0)   ->  compile(optimizer=Adam(...))
    "adam", "sgd", "rmsprop", "adagrad", "adamw"  ->  the same with Keras 3's defaults

Defaults are Keras 3's (``keras/src/optimizers``):

    SGD      learning_rate=0.01, momentum=0.0, nesterov=False
    Adam     learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False
    AdamW    as Adam, weight_decay=0.004
    RMSprop  learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False
    Adagrad  learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7

and the update rules are Keras's too (:mod:`rnnkit.training.keras_rules`).
Every optimizer takes ``weight_decay`` (decoupled, as in Keras 3), ``clipnorm``
(per tensor), ``global_clipnorm`` and ``clipvalue``; at most one clip option.

After ``build(params)`` the object drives a torch optimizer (``.torch``):
``step()``, ``zero_grad()``, ``state_dict()``, ``load_state_dict()`` and the
``learning_rate`` property (read and write, as ``model.optimizer.learning_rate``
in Keras). A ready ``torch.optim.Optimizer`` can be passed to ``compile``
instead; it is wrapped in :class:`TorchOptimizer`.
"""
from __future__ import annotations

import difflib
import math
import numbers
from typing import Any, Optional

import torch

from rnnkit.training.keras_rules import KerasAdagrad, KerasAdam, KerasRMSprop, KerasSGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "TorchOptimizer",
           "get_optimizer"]


def _number(name: str, value, minimum: float = 0.0, allow_none: bool = False,
            strict: bool = False) -> Optional[float]:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):  # NaN compares False with everything: test it first
        raise ValueError(f"`{name}` must be a finite number, got {value!r}")
    if value < minimum or (strict and value == minimum):
        bound = f"> {minimum}" if strict else f">= {minimum}"
        raise ValueError(f"`{name}` must be {bound}, got {value!r}")
    return float(value)


class Optimizer:
    """Base class. Subclasses set ``rule`` (a torch.optim.Optimizer class) and
    list their hyperparameters in ``_hyper`` as (keras name, torch-rule name)."""
    rule: type = KerasSGD
    _hyper: dict[str, str] = {}

    def __init__(self, learning_rate: float, *, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, **hyper: Any) -> None:
        self._learning_rate = _number("learning_rate", learning_rate, strict=True)
        self.weight_decay = _number("weight_decay", weight_decay, allow_none=True)
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        given = [k for k, v in clips.items() if v is not None]
        if len(given) > 1:
            raise ValueError(f"only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be "
                             f"set, got {given}")
        for k, v in clips.items():
            setattr(self, k, _number(k, v, allow_none=True, strict=True))
        self.hyper = dict(hyper)
        self.torch: Optional[torch.optim.Optimizer] = None

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    # --- the torch optimizer -------------------------------------------------------------
    def build(self, params) -> "Optimizer":
        """Create the torch optimizer on ``params`` (once)."""
        if self.torch is not None:
            raise ValueError(f"this {type(self).__name__} is already built on another set of "
                             "parameters; use a fresh optimizer (or a name) for each model")
        kwargs = {self._hyper[k]: v for k, v in self.hyper.items()}
        self.torch = self.rule(list(params), lr=self._learning_rate,
                               weight_decay=self.weight_decay, clipnorm=self.clipnorm,
                               clipvalue=self.clipvalue, global_clipnorm=self.global_clipnorm,
                               **kwargs)
        return self

    @property
    def built(self) -> bool:
        return self.torch is not None

    @property
    def learning_rate(self) -> float:
        if self.torch is not None:
            return float(self.torch.param_groups[0]["lr"])
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        value = _number("learning_rate", value, strict=True)
        self._learning_rate = value
        if self.torch is not None:
            for group in self.torch.param_groups:
                group["lr"] = value

    @property
    def param_groups(self) -> list:
        return self._need_torch("param_groups").param_groups

    def step(self) -> None:
        self._need_torch("step").step()

    def zero_grad(self) -> None:
        self._need_torch("zero_grad").zero_grad(set_to_none=True)

    def state_dict(self) -> dict:
        return self._need_torch("state_dict").state_dict()

    def load_state_dict(self, state: dict) -> None:
        """Load a state from :meth:`state_dict`, checked against the parameters first
        (a state from a file must not load and then fail inside ``fit``)."""
        opt = self._need_torch("load_state_dict")
        check_optimizer_state(opt, state)
        opt.load_state_dict(state)
        self._learning_rate = float(self.torch.param_groups[0]["lr"])

    def _need_torch(self, what: str) -> torch.optim.Optimizer:
        if self.torch is None:
            raise ValueError(f"`{what}` needs the optimizer to be built on the model's "
                             "parameters first (fit() or build() the model)")
        return self.torch

    # --- configs -------------------------------------------------------------------------
    def get_config(self) -> dict:
        cfg = {"learning_rate": self.learning_rate, **self.hyper}
        for k in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm"):
            cfg[k] = getattr(self, k)
        return cfg

    @classmethod
    def from_config(cls, config: dict) -> "Optimizer":
        return cls(**config)

    def clone(self) -> "Optimizer":
        return type(self).from_config(self.get_config())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def check_optimizer_state(opt: torch.optim.Optimizer, state) -> None:
    """ValueError unless ``state`` has ``opt``'s parameter groups, finite hyperparameters
    (a learning rate > 0), and per-parameter tensors that are scalars or of the
    parameter's shape."""
    if not isinstance(state, dict) or not isinstance(state.get("state"), dict) or \
            not isinstance(state.get("param_groups"), list):
        raise ValueError("an optimizer state must be a dict with 'state' and 'param_groups'")
    mine = opt.state_dict()["param_groups"]
    groups = state["param_groups"]
    if len(groups) != len(mine):
        raise ValueError(f"the optimizer state has {len(groups)} parameter groups, the "
                         f"optimizer {len(mine)}")
    params = [p for g in opt.param_groups for p in g["params"]]
    for i, (g, m) in enumerate(zip(groups, mine)):
        if not isinstance(g, dict) or g.get("params") != m["params"]:
            raise ValueError(f"parameter group {i} of the optimizer state lists other "
                             f"parameters than the model's ({len(m['params'])})")
        for k, v in g.items():
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"parameter group {i}: `{k}` is {v}; expected a finite number")
        lr = g.get("lr")
        if isinstance(lr, torch.Tensor) and lr.numel() == 1:  # torch allows a tensor lr
            lr = float(lr)
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr > 0:
            raise ValueError(f"parameter group {i}: the learning rate must be a number > 0, "
                             f"got {lr!r}")
    for idx, entry in state["state"].items():
        if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < len(params):
            raise ValueError(f"the optimizer state has an entry for parameter {idx!r}; the "
                             f"model has {len(params)}")
        if not isinstance(entry, dict):
            raise ValueError(f"the optimizer state of parameter {idx} must be a dict")
        shape = tuple(params[idx].shape)
        for k, v in entry.items():
            if isinstance(v, torch.Tensor):
                if v.dim() and tuple(v.shape) != shape:
                    raise ValueError(f"the optimizer state `{k}` of parameter {idx} has shape "
                                     f"{tuple(v.shape)}; the parameter has {shape}")
                if not v.is_floating_point():
                    raise ValueError(f"the optimizer state `{k}` of parameter {idx} has dtype "
                                     f"{v.dtype}; expected a floating dtype")
            elif v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real)
                                    or not math.isfinite(v)):
                # None: torch's SGD keeps momentum_buffer=None without momentum
                raise ValueError(f"the optimizer state `{k}` of parameter {idx} is {v!r}; "
                                 "expected a tensor, a finite number or None")


class SGD(Optimizer):
    rule = KerasSGD
    _hyper = {"momentum": "momentum", "nesterov": "nesterov"}

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 **kwargs) -> None:
        super().__init__(learning_rate, momentum=_number("momentum", momentum),
                         nesterov=bool(nesterov), **kwargs)


class Adam(Optimizer):
    rule = KerasAdam
    _hyper = {"beta_1": "beta_1", "beta_2": "beta_2", "epsilon": "epsilon", "amsgrad": "amsgrad"}

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, **kwargs) -> None:
        for k, v in (("beta_1", beta_1), ("beta_2", beta_2)):
            if _number(k, v) >= 1.0:
                raise ValueError(f"`{k}` must lie in [0, 1), got {v!r}")
        super().__init__(learning_rate, beta_1=float(beta_1), beta_2=float(beta_2),
                         epsilon=_number("epsilon", epsilon), amsgrad=bool(amsgrad), **kwargs)


class AdamW(Adam):
    def __init__(self, learning_rate: float = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, **kwargs) -> None:
        if weight_decay is None:
            raise ValueError("`weight_decay` must be a number for AdamW, got None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad,
                         weight_decay=weight_decay, **kwargs)


class RMSprop(Optimizer):
    rule = KerasRMSprop
    _hyper = {"rho": "rho", "momentum": "momentum", "epsilon": "epsilon", "centered": "centered"}

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, **kwargs) -> None:
        super().__init__(learning_rate, rho=_number("rho", rho), momentum=_number("momentum", momentum),
                         epsilon=_number("epsilon", epsilon), centered=bool(centered), **kwargs)


class Adagrad(Optimizer):
    rule = KerasAdagrad
    _hyper = {"initial_accumulator_value": "initial_accumulator_value", "epsilon": "epsilon"}

    def __init__(self, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, **kwargs) -> None:
        super().__init__(learning_rate,
                         initial_accumulator_value=_number("initial_accumulator_value",
                                                           initial_accumulator_value),
                         epsilon=_number("epsilon", epsilon), **kwargs)


class TorchOptimizer(Optimizer):
    """Wraps a ready ``torch.optim.Optimizer`` (already holding the parameters)."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"`optimizer` must be a torch.optim.Optimizer, got "
                            f"{type(optimizer).__name__}")
        super().__init__(float(optimizer.param_groups[0]["lr"]))
        self.torch = optimizer

    @property
    def name(self) -> str:
        return type(self.torch).__name__.lower()

    def build(self, params) -> "Optimizer":
        return self  # the user created it on the parameters they chose

    def get_config(self) -> dict:
        # torch.optim's own hyperparameters (JSON-able ones), to recreate the class by name.
        group = self.torch.param_groups[0]
        hyper = {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items()
                 if k != "params" and isinstance(v, (int, float, bool, str, tuple, type(None)))}
        return {"torch_class": type(self.torch).__name__, "hyper": hyper}

    @classmethod
    def from_config(cls, config: dict) -> "Optimizer":
        raise ValueError("a wrapped torch optimizer is recreated by `get_optimizer` once the "
                         "parameters exist")


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


def get_optimizer(identifier) -> Optimizer:
    """An unbuilt :class:`Optimizer` from a name ("adam"), a config dict
    ``{"class_name": "Adam", "config": {...}}``, an Optimizer (cloned when it is
    already built on other parameters) or a torch optimizer (wrapped)."""
    if isinstance(identifier, Optimizer):
        return identifier.clone() if identifier.built and not isinstance(
            identifier, TorchOptimizer) else identifier
    if isinstance(identifier, torch.optim.Optimizer):
        return TorchOptimizer(identifier)
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in OPTIMIZERS:
            close = difflib.get_close_matches(key, list(OPTIMIZERS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown `optimizer` {identifier!r}{hint} Known optimizers: "
                             f"{sorted(OPTIMIZERS)}")
        return OPTIMIZERS[key]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = {c.__name__: c for c in OPTIMIZERS.values()}.get(identifier["class_name"])
        if cls is None:
            raise ValueError(f"unknown optimizer class {identifier['class_name']!r} in config")
        return cls.from_config(identifier.get("config", {}))
    raise TypeError(f"`optimizer` must be an optimizer name, a rnnkit.optimizers.Optimizer or a "
                    f"torch.optim.Optimizer, got {type(identifier).__name__} {identifier!r}")


def serialize_optimizer(opt: Optimizer) -> dict:
    if isinstance(opt, TorchOptimizer):
        return {"class_name": "TorchOptimizer", "config": opt.get_config()}
    return {"class_name": type(opt).__name__, "config": opt.get_config()}


def deserialize_optimizer(spec: dict, params) -> Optimizer:
    """Rebuild (and build) an optimizer saved by :func:`serialize_optimizer`."""
    if spec.get("class_name") == "TorchOptimizer":
        cfg = spec["config"]
        cls = getattr(torch.optim, str(cfg.get("torch_class")), None)
        if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
            raise ValueError(f"unknown torch optimizer {cfg.get('torch_class')!r} in the file")
        hyper = {k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg["hyper"].items()
                 if k in cls.__init__.__code__.co_varnames}
        return TorchOptimizer(cls(list(params), **hyper))
    return get_optimizer(spec).build(params)
