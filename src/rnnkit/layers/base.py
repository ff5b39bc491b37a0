"""The Keras-style Layer contract that every layer in rnnkit.layers follows and
that rnnkit.models.Sequential relies on.

- A Layer is a ``torch.nn.Module`` working on batch-first tensors (B, ...).
- It may be built lazily: ``build(input_shape)`` creates the parameters from
  the input shape *without* the batch axis, e.g. (T, I). Calling the layer on
  a tensor builds it first if needed. ``input_shape=`` in the constructor
  records the shape up front (Keras's first-layer idiom); ``build`` is then
  called by the model or on first use.
- ``forward(x, mask=None)``: mask is a (B, T) bool tensor, True = valid step,
  as Keras's. ``compute_mask(x, mask)`` returns the mask for the next layer
  (default: None, i.e. the layer consumes it; layers that keep the time axis
  pass it on).
- ``compute_output_shape(input_shape)`` works on shapes without the batch axis.
- ``get_weights()``/``set_weights()`` use Keras 3's numpy layouts and order.
- ``get_config()`` returns JSON-able constructor arguments; layers are
  registered by class name with :func:`register_layer` so that
  ``layer_from_config({"class_name": ..., "config": ...})`` rebuilds them
  (used by safe model loading: no pickle, ever).
"""
from __future__ import annotations

import contextvars
import difflib
import re
from contextlib import contextmanager
from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.layers.keras_weights import KerasWeightsMixin
from rnnkit.util import checks

_LAYERS: dict[str, type] = {}

# Keras arguments that rnnkit doesn't implement on a given layer. Keras configs carry
# them as None, so None is accepted (and dropped); anything else is refused rather
# than ignored. A layer's own weights take {role}_regularizer / {role}_constraint
# for the roles in its ``_weight_roles``.
_KERAS_ONLY = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
               "kernel_constraint", "recurrent_constraint",
               "bias_constraint", "embeddings_regularizer", "embeddings_constraint")


_SHAPES_ONLY = contextvars.ContextVar("rnnkit_shapes_only", default=False)


@contextmanager
def shapes_only():
    """Build layers on torch's meta device and skip their initialisation: the
    parameter names and shapes of a model, at no cost in memory or time. Used to
    check a model file's declared architecture against its tensors before the
    real model is allocated (a crafted ``units=20000`` must not take minutes)."""
    token = _SHAPES_ONLY.set(True)
    try:
        with torch.device("meta"):
            yield
    finally:
        _SHAPES_ONLY.reset(token)


def _no_init() -> None:
    return None


def register_layer(cls: type = None, *, name: Optional[str] = None):
    """Register a layer class for ``layer_from_config`` under its Keras class name
    (``name`` when it differs from the Python class name). Usable as a decorator,
    with or without ``name=``; custom layers and cells register themselves the same way.

    A user's class may take over a name (re-running a notebook cell defines the class
    anew); two of rnnkit's own classes claiming one name is a packaging error (layer
    modules are discovered, so nothing else would notice) and raises ValueError."""
    def add(klass: type) -> type:
        key = name or klass.__name__
        old = _LAYERS.get(key)
        if (old is not None and _ours(old) and _ours(klass)
                and (old.__module__, old.__qualname__) != (klass.__module__, klass.__qualname__)):
            raise ValueError(f"layer name {key!r} is registered by {old.__module__}."
                             f"{old.__qualname__} and again by {klass.__module__}."
                             f"{klass.__qualname__}; give one of them another `name=`")
        _LAYERS[key] = klass
        return klass
    return add if cls is None else add(cls)


def _ours(klass: type) -> bool:
    return klass.__module__.startswith("rnnkit.")


def registered_layers() -> dict[str, type]:
    """Keras class name -> rnnkit class, for readers of model configs."""
    return dict(_LAYERS)


def layer_from_config(spec: dict) -> "Layer":
    name = spec.get("class_name")
    if name not in _LAYERS:
        close = difflib.get_close_matches(str(name), _LAYERS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown layer class {name!r}{hint}; rnnkit doesn't support it, or "
                         "it is a custom layer that isn't registered (rnnkit.layers."
                         "register_layer)")
    return _LAYERS[name].from_config(spec["config"])


def check_rate(value, arg: str) -> float:
    """A probability in [0, 1): dropout rates, zoneout (Keras's wording)."""
    return checks.rate(value, arg, style="keras")


def check_mask_values(mask: Tensor, arg: str = "mask") -> Tensor:
    """A (B, T) mask as bool: boolean already, or numbers that are exactly 0 or 1.
    Anything else (0.3, -1, NaN) is refused: ``bool(0.3)`` is True, which would
    silently keep a step the caller meant to weigh or drop."""
    if mask.dtype == torch.bool:
        return mask
    if mask.is_complex() or not bool(((mask == 0) | (mask == 1)).all()):
        bad = mask[~((mask == 0) | (mask == 1))].reshape(-1)[:3].tolist()
        raise ValueError(f"`{arg}` must be boolean (True = a real step) or hold exactly 0 and 1, "
                         f"got dtype {mask.dtype} with values such as {bad}")
    return mask.bool()


def snake_case(class_name: str) -> str:
    """Keras's default layer names: SimpleRNN -> simple_rnn, TimeDistributed -> time_distributed."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", class_name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def check_units(units, arg: str = "units") -> int:
    """A positive integer (Keras's wording)."""
    return checks.positive_int(units, arg, style="keras")


def _record_activity(layer: "Layer", inputs, output) -> None:
    """Keras's activity regularization: penalty(output) / batch size, for each
    tensor the call returns (keras/src/layers/layer.py, ``__call__``)."""
    from rnnkit.layers.node import flatten

    for out in flatten(output):
        if isinstance(out, Tensor) and out.is_floating_point():
            loss = layer.activity_regularizer(out)
            layer._activity_losses.append(loss / out.shape[0] if out.dim() else loss)
    del layer._activity_losses[:-16]  # calls outside training (predict) don't pile up


class Layer(KerasWeightsMixin, nn.Module):
    """Base class: lazy build, masks, Keras weights and configs.

    Two ways to write a layer:

    - rnnkit's way: ``build(input_shape)`` gets the shape WITHOUT the batch
      axis, ``forward(x, mask=None)`` computes;
    - Keras's way (custom layers ported from Keras): define ``call(inputs, ...)``
      instead of ``forward``; ``build(input_shape)`` then gets Keras's shape WITH
      the batch axis, ``(None, T, F)``, and ``add_weight`` creates the weights.

    Either may be called eagerly on tensors or numpy arrays, or on symbolic
    tensors (``rnnkit.Input``) to build a functional model.
    """

    # role -> (parameter names, stored transposed from Keras's layout): which
    # `{role}_regularizer` / `{role}_constraint` arguments the layer takes.
    _weight_roles: dict[str, tuple[tuple[str, ...], bool]] = {}
    _keras_style = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._keras_style = cls.call is not Layer.call

    def __init__(self, *, name: Optional[str] = None, input_shape: Optional[Sequence[int]] = None,
                 trainable: bool = True, **kwargs: Any) -> None:
        super().__init__()
        from rnnkit.layers.constraints import get_constraint
        from rnnkit.layers.regularizers import get_regularizer

        self._frozen: set[str] = set()  # add_weight(trainable=False)
        self._regs: dict[str, Any] = {}  # role -> regularizer (configs)
        self._cons: dict[str, Any] = {}  # role -> constraint
        activity = kwargs.pop("activity_regularizer", None)
        for role in self._weight_roles:
            for key, table, get in ((f"{role}_regularizer", self._regs, get_regularizer),
                                    (f"{role}_constraint", self._cons, get_constraint)):
                value = kwargs.pop(key, None)
                if value is not None:
                    table[role] = get(value, key)
        for key in _KERAS_ONLY:
            if kwargs.get(key, None) is not None:
                raise ValueError(f"`{key}` isn't supported by {type(self).__name__}, got "
                                 f"{kwargs[key]!r}")
            kwargs.pop(key, None)
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword argument(s) "
                            f"{sorted(kwargs)}")
        self.name = name or snake_case(type(self).__name__)
        self.input_shape_arg = tuple(input_shape) if input_shape is not None else None
        self._trainable = bool(trainable)
        self.built = False
        self._inbound_nodes: list = []
        self._penalties: list = []  # (parameter name, regularizer), add_weight's
        self._param_cons: list = []  # (parameter name, constraint, transposed), add_weight's
        self._activity_losses: list = []
        self.activity_regularizer = None
        if activity is not None:
            self.activity_regularizer = get_regularizer(activity, "activity_regularizer")
            # A hook, so that calls from a functional graph's replay are seen too.
            self.register_forward_hook(_record_activity)

    # --- building -------------------------------------------------------------------
    def build(self, input_shape: tuple) -> None:
        """Create parameters for inputs of shape ``input_shape`` (no batch axis;
        with it for Keras-style layers that define ``call``)."""
        self.built = True

    def maybe_build(self, input_shape) -> None:
        if not self.built:
            # None stays None: input_shape=(None, 1) is Keras's variable-length series.
            def clean(shape):
                if isinstance(shape, list):
                    return [clean(s) for s in shape]
                shape = tuple(None if s is None else int(s) for s in shape)
                return (None,) + shape if self._keras_style else shape
            shape = clean(input_shape)
            if _SHAPES_ONLY.get():
                # An instance attribute shadows the method: build() allocates on the
                # meta device and skips the initialisers, which need real values.
                self.reset_parameters = _no_init
                try:
                    self.build(shape)
                finally:
                    del self.reset_parameters
            else:
                self.build(shape)
            self.built = True
            if not self._trainable:
                for p in self.parameters():
                    p.requires_grad_(False)

    def __call__(self, x=None, *args, **kwargs):
        from rnnkit.layers.node import is_symbolic, symbolic_call

        if is_symbolic((x,) + args, kwargs):
            return symbolic_call(self, (x,) + args, kwargs)
        if isinstance(x, np.ndarray):
            x = torch.as_tensor(x)  # Keras layers take numpy arrays too
        elif isinstance(x, (list, tuple)) and any(isinstance(t, np.ndarray) for t in x):
            x = type(x)(torch.as_tensor(t) if isinstance(t, np.ndarray) else t for t in x)
        if not self.built:
            if isinstance(x, Tensor):
                self.maybe_build(tuple(x.shape[1:]))
                # A lazily built layer lives where its first input lives.
                if x.device != torch.device("cpu"):
                    self.to(x.device)
            elif isinstance(x, (list, tuple)) and x and all(isinstance(t, Tensor) for t in x):
                self.maybe_build([tuple(t.shape[1:]) for t in x])
        return super().__call__(x, *args, **kwargs)

    def call(self, *args, **kwargs):
        """Keras-style layers define this instead of ``forward``."""
        raise NotImplementedError(f"{type(self).__name__} defines neither forward nor call")

    def forward(self, *args, **kwargs):
        if not self._keras_style:
            raise NotImplementedError(f"{type(self).__name__} defines neither forward nor call")
        return self.call(*args, **kwargs)

    # --- graph ----------------------------------------------------------------------------
    def _only_node(self, what: str):
        if not self._inbound_nodes:
            raise ValueError(f"layer {self.name!r} has never been called on a symbolic tensor, "
                             f"so it has no `{what}`")
        if len(self._inbound_nodes) > 1:
            raise ValueError(f"layer {self.name!r} has been called {len(self._inbound_nodes)} "
                             f"times, so `{what}` is ambiguous; use get_{what}_at(node_index)")
        return self._inbound_nodes[0]

    @property
    def input(self):
        """The symbolic input of the layer's only call (Keras's ``layer.input``)."""
        return self._only_node("input").first_input

    @property
    def output(self):
        """The symbolic output(s) of the layer's only call (Keras's ``layer.output``)."""
        return self._only_node("output").output_structure()

    def get_input_at(self, node_index: int):
        return self._inbound_nodes[node_index].first_input

    def get_output_at(self, node_index: int):
        return self._inbound_nodes[node_index].output_structure()

    def compute_output_shape(self, input_shape: tuple):
        if self._keras_style:
            from rnnkit.layers.node import probe_output_shape
            return probe_output_shape(self, input_shape)
        return tuple(input_shape)

    def compute_mask(self, x: Tensor, mask: Optional[Tensor]) -> Optional[Tensor]:
        return None

    # --- Keras weights ------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        return [p.detach().cpu().numpy().copy() for p in self.parameters()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        if len(weights):
            self._check_built_for("set_weights")
        params = list(self.parameters())
        if len(weights) != len(params):
            raise ValueError(f"`weights` for layer {self.name!r} must hold {len(params)} arrays, "
                             f"got {len(weights)}")
        with torch.no_grad():
            for p, w in zip(params, weights):
                w = np.asarray(w)
                if tuple(w.shape) != tuple(p.shape):
                    raise ValueError(f"`weights` for layer {self.name!r}: expected shape "
                                     f"{tuple(p.shape)}, got {tuple(w.shape)}")
                p.copy_(torch.as_tensor(w, dtype=p.dtype))

    def count_params(self) -> int:
        if not self.built:
            # As Keras: an unbuilt layer has no weights yet, and 0 would be a wrong count.
            raise ValueError(f"layer {self.name!r} isn't built yet, so it has no weights to count; "
                             "call it on an input, or build(input_shape) first")
        return sum(p.numel() for p in self.parameters())

    def _check_built_for(self, what: str) -> None:
        if not self.built:
            raise ValueError(f"layer {self.name!r} isn't built yet, so `{what}` has no weights to "
                             "fill; call it on an input, or build(input_shape) first")

    # --- configs -----------------------------------------------------------------------
    def get_config(self) -> dict:
        from rnnkit.layers.constraints import serialize_constraint
        from rnnkit.layers.regularizers import serialize_regularizer

        cfg = {"name": self.name, "trainable": self.trainable}
        if self.input_shape_arg is not None:
            cfg["input_shape"] = list(self.input_shape_arg)
        for role, reg in self._regs.items():
            cfg[f"{role}_regularizer"] = serialize_regularizer(reg)
        for role, con in self._cons.items():
            cfg[f"{role}_constraint"] = serialize_constraint(con)
        if self.activity_regularizer is not None:
            cfg["activity_regularizer"] = serialize_regularizer(self.activity_regularizer)
        return cfg

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        return cls(**config)
