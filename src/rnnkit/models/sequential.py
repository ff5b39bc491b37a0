"""Keras's Sequential model as a ``torch.nn.Module``.

    model = Sequential()
    model.add(LSTM(64, input_shape=(100, 1), return_sequences=True))   # (B, 100, 64)
    model.add(LSTM(32))                                                 # (B, 32)
    model.add(Dense(1))                                                 # (B, 1)
    model.compile(optimizer="adam", loss="mean_squared_error")
    model.fit(X_train, y_train, epochs=100, batch_size=32)

Layers are used only through the contract of :mod:`rnnkit.layers.base`: lazy
``build`` from a shape without the batch axis, ``forward(x, mask)``,
``compute_mask``, ``compute_output_shape``, Keras-layout weights and configs.
The model is built from the first layer's ``input_shape=``, from
``build(input_shape)``, or from the first batch it sees. Masks travel with the
data: after each layer, ``mask = layer.compute_mask(x, mask)``.

``Sequential.compile`` is Keras's; it shadows ``torch.nn.Module.compile``
(use ``torch.compile(model)`` for that).
"""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.layers.keras_weights import set_layers_weights
from rnnkit.layers.base import Layer, layer_from_config, register_layer, snake_case
from rnnkit.models.summary import format_summary
from rnnkit.models.base import BaseModel

__all__ = ["Sequential"]


def _fmt_shape(shape) -> str:
    return "(" + ", ".join(["None"] + ["None" if d is None else str(d) for d in shape]) + ")"


def _check_shape(input_shape) -> tuple:
    if isinstance(input_shape, (int, np.integer)):
        input_shape = (input_shape,)
    try:
        shape = tuple(None if d is None else int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise TypeError(f"`input_shape` must be a tuple of ints (without the batch axis), e.g. "
                        f"(T, F); got {input_shape!r}") from None
    if not shape or any(d is not None and d <= 0 for d in shape):
        raise ValueError(f"`input_shape` must be a non-empty tuple of positive ints or None "
                         f"(without the batch axis), got {input_shape!r}")
    return shape


class Sequential(BaseModel, nn.Module):
    """A linear stack of rnnkit layers with Keras's training API.

    Args:
        layers: optional list of layers, added in order.
        name: the model's name (default "sequential").
    """

    def __init__(self, layers: Optional[Iterable[Layer]] = None, name: Optional[str] = None,
                 trainable: bool = True) -> None:
        nn.Module.__init__(self)
        self.name = name or "sequential"
        self.layers = nn.ModuleList()
        self.built = False
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.compiled_metrics: list = []
        self.stop_training = False
        self.history = None
        self.metadata: Optional[dict] = None  # JSON dict saved with the model (see save)
        self._build_input_shape: Optional[tuple] = None
        # Built from the first batch (no input_shape given): its T was never declared, so
        # other lengths stay accepted; a declared fixed T is checked (check_input_shape).
        self._shape_from_data = False
        self._shapes: list[tuple] = []  # input shape, then every layer's output shape
        self._target_device: Optional[torch.device] = None
        self._target_dtype: Optional[torch.dtype] = None
        self._inbound_nodes: list = []  # calls on symbolic tensors (a model used as a layer)
        if isinstance(layers, Layer):
            layers = [layers]
        for layer in layers or []:
            self.add(layer)

    # --- structure ---------------------------------------------------------------------------
    def add(self, layer: Layer) -> None:
        """Append ``layer``; builds it right away when the model is built. Keras 3's
        ``add(keras.Input(shape))`` (or an InputLayer) sets the input shape."""
        from rnnkit.layers.node import KerasTensor

        if isinstance(layer, KerasTensor) and type(layer.node.layer).__name__ == "InputLayer":
            layer = layer.node.layer
        if type(layer).__name__ == "InputLayer":
            if len(self.layers):
                raise ValueError("an Input can only start a Sequential model; it has layers "
                                 f"{[la.name for la in self.layers]} already")
            self._build_sample_shape(layer.shape)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"`layer` must be an rnnkit layer (rnnkit.layers.Layer), got "
                            f"{type(layer).__name__}; wrap torch modules in a Layer subclass")
        if any(layer is other for other in self.layers):
            raise ValueError(f"layer {layer.name!r} is already in the model")
        names = {other.name for other in self.layers}
        if layer.name in names:
            default = snake_case(type(layer).__name__)
            if not layer.name.startswith(default):
                raise ValueError(f"All layers added to a Sequential model should have unique "
                                 f"names; {layer.name!r} is already used")
            k = 1
            while f"{default}_{k}" in names:
                k += 1
            layer.name = f"{default}_{k}"  # Keras's automatic names: lstm, lstm_1, ...
        self.layers.append(layer)
        if self.built:
            self._build_from(len(self.layers) - 1)
            self._rebuild_optimizer()
        elif len(self.layers) == 1 and layer.input_shape_arg is not None:
            self._build_sample_shape(layer.input_shape_arg)

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not len(self.layers):
            raise ValueError("there is no layer to pop: the model is empty")
        layer = self.layers[-1]
        del self.layers[-1]
        if self.built:
            self._shapes = self._shapes[:-1]
            self._rebuild_optimizer()
        return layer

    def build(self, input_shape: Sequence) -> None:
        """Build every layer for inputs of shape ``input_shape``, batch axis first,
        as Keras's ``model.build((None, T, F))``; None for an unknown batch size
        or a variable length."""
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 2:
            raise ValueError(f"`input_shape` must include the batch axis, e.g. (None, T, F), "
                             f"got {input_shape!r}")
        self._build_sample_shape(tuple(input_shape)[1:])

    def _build_sample_shape(self, input_shape: Sequence) -> None:
        """Build for samples of shape ``input_shape`` (no batch axis). All or
        nothing: if a layer refuses the shape, the model is left as it was."""
        shape = _check_shape(input_shape)
        before = (self.built, self._build_input_shape, self._shapes)
        self._build_input_shape = shape
        self._shapes = [shape]
        self.built = True
        try:
            self._build_from(0)
        except Exception:
            self.built, self._build_input_shape, self._shapes = before
            raise

    def __call__(self, *args, **kwargs):
        from rnnkit.layers.node import is_symbolic, symbolic_call

        if is_symbolic(args, kwargs):  # a Sequential used as a layer of a functional model
            return symbolic_call(self, args, kwargs)
        return super().__call__(*args, **kwargs)

    def maybe_build(self, input_shape) -> None:
        if not self.built:
            self._build_sample_shape(tuple(input_shape))

    def _graph_call(self, x, mask):
        return self._forward_with_mask(x, mask)

    def _build_from(self, start: int) -> None:
        shape = self._shapes[start]
        for layer in list(self.layers)[start:]:
            try:
                layer.maybe_build(shape)
                shape = tuple(layer.compute_output_shape(shape))
            except (ValueError, TypeError) as e:
                raise type(e)(f"layer {layer.name!r} ({type(layer).__name__}) can't take inputs "
                              f"of shape {_fmt_shape(shape)}: {e}") from e
            self._shapes.append(shape)
        if self._target_device is not None or self._target_dtype is not None:
            nn.Module.to(self, device=self._target_device, dtype=self._target_dtype)

    def _rebuild_optimizer(self) -> None:
        from rnnkit.training.optimizers import TorchOptimizer

        if self.optimizer is not None and self.optimizer.built and \
                not isinstance(self.optimizer, TorchOptimizer):
            self.optimizer = self.optimizer.clone().build(self.parameters())

    @property
    def input_shape(self) -> tuple:
        self._need_built("input_shape")
        return (None,) + self._build_input_shape

    @property
    def output_shape(self) -> tuple:
        self._need_built("output_shape")
        return (None,) + self._shapes[-1]

    def _need_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(f"the model isn't built yet, so `{what}` is unknown; pass "
                             "input_shape=(T, F) to the first layer, call build((T, F)), or fit "
                             "it on data first")

    # --- devices ----------------------------------------------------------------------------
    def to(self, *args, **kwargs):
        device, dtype = torch._C._nn._parse_to(*args, **kwargs)[:2]
        if device is not None:
            self._target_device = device  # layers built later follow
        if dtype is not None:
            self._target_dtype = dtype
        return super().to(*args, **kwargs)

    def cuda(self, device=None):
        return self.to(torch.device("cuda") if device is None else torch.device("cuda", device)
                       if isinstance(device, int) else device)

    def cpu(self):
        return self.to("cpu")

    def _device_and_dtype(self) -> tuple[torch.device, torch.dtype]:
        for p in self.parameters():
            if torch.is_floating_point(p):
                return p.device, p.dtype
        return self._target_device or torch.device("cpu"), torch.float32

    def _wants_integer_input(self) -> bool:
        if not len(self.layers):
            return False
        first = self.layers[0]
        return type(first).__name__ == "Embedding" or \
            str(getattr(first, "input_dtype", "")).startswith(("int", "torch.int"))

    # --- forward ---------------------------------------------------------------------------
    def _forward_with_mask(self, x: Tensor, mask: Optional[Tensor] = None
                           ) -> tuple[Tensor, Optional[Tensor]]:
        if not isinstance(x, Tensor):
            x = torch.as_tensor(np.asarray(x))
        if not self.built:
            self._build_sample_shape(tuple(x.shape[1:]))
            self._shape_from_data = True
        for layer in self.layers:
            out = layer(x, mask=mask)
            mask = layer.compute_mask(x, mask)  # Keras: computed from the layer's input
            x = out
        return x, mask

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        """(B, *input_shape) -> (B, *output_shape); ``mask`` (B, T), True = a real step."""
        return self._forward_with_mask(x, mask)[0]

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        shape = _check_shape(input_shape)
        for layer in self.layers:
            shape = tuple(layer.compute_output_shape(shape))
        return shape

    def check_input_shape(self, shape: tuple, arg: str = "x") -> None:
        """ValueError naming ``arg`` when inputs of shape (N, *shape) don't fit the model."""
        built = self._build_input_shape
        if built is None:
            return
        fixed = 0 if self._shape_from_data else len(built)  # axes whose size was declared
        shape = tuple(shape)
        if len(shape) != len(built):
            hint = ""
            if len(shape) + 1 == len(built) and built[-1] == 1:
                hint = "; for one feature per step add a trailing axis: x[..., None]"
            raise ValueError(f"`{arg}` has shape {_fmt_shape(shape)} ({len(shape) + 1} axes) but "
                             f"the model was built for inputs of shape {_fmt_shape(built)} "
                             f"({len(built) + 1} axes){hint}")
        if self._wants_integer_input():
            self._check_fixed_axes(shape, built, arg, upto=fixed)
            return
        F = built[-1]
        if F is None or shape[-1] == F:
            self._check_fixed_axes(shape, built, arg, upto=min(fixed, len(built) - 1))
            return
        if len(built) >= 2 and shape[-2] == F and built[-2] in (None, shape[-1]):
            raise ValueError(f"`{arg}` has shape {_fmt_shape(shape)} but the model was built for "
                             f"{_fmt_shape(built)}: the time and feature axes look swapped; use "
                             f"x.transpose(0, 2, 1) (numpy) or x.transpose(1, 2) (torch) to get "
                             f"(N, {shape[-1]}, {shape[-2]})")
        what = "features per step" if len(built) >= 2 else "features"
        raise ValueError(f"`{arg}` has {shape[-1]} {what} but the model was built for {F} "
                         f"(inputs of shape {_fmt_shape(built)})")

    @staticmethod
    def _check_fixed_axes(shape: tuple, built: tuple, arg: str, upto: int) -> None:
        """Axes built with a fixed size take only that size (Keras's input spec); an axis
        built as None (``input_shape=(None, F)``) takes any length."""
        for axis in range(upto):
            if built[axis] is not None and shape[axis] != built[axis]:
                what = "time steps" if axis == len(built) - 2 or upto == 1 else \
                    f"entries on axis {axis + 1}"
                free = ", ".join(["None" if i == axis else str(d) for i, d in enumerate(built)])
                raise ValueError(f"`{arg}` has {shape[axis]} {what} but the model was built for "
                                 f"{built[axis]} (inputs of shape {_fmt_shape(built)}); build it "
                                 f"with input_shape=({free}) to take any length there")

    # --- weights ---------------------------------------------------------------------------
    def count_params(self) -> int:
        self._need_built("count_params")
        return sum(layer.count_params() for layer in self.layers)

    def get_weights(self) -> list[np.ndarray]:
        """Every layer's Keras-layout weights, layer after layer."""
        self._need_built("get_weights")
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Inverse of :meth:`get_weights`; all shapes are checked before anything changes."""
        self._need_built("set_weights")
        set_layers_weights(self.layers, weights)

    # --- description -----------------------------------------------------------------------
    def summary(self, print_fn=None) -> None:
        """Print a Keras-like table with ``print_fn`` (default ``print``); returns None, as
        Keras's does (a returned string would be echoed a second time in a notebook).
        The text itself: ``rnnkit.models.summary.format_summary(model)``."""
        self._need_built("summary")
        (print_fn or print)(format_summary(self))

    def get_config(self) -> dict:
        return {"name": self.name,
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                           for layer in self.layers],
                "build_input_shape": None if self._build_input_shape is None
                else list(self._build_input_shape),
                **({"shape_from_data": True} if self._shape_from_data else {})}

    @classmethod
    def from_config(cls, config: dict) -> "Sequential":
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError("`config` must be a dict with a 'layers' list (from get_config())")
        model = cls(name=config.get("name"))
        for spec in config["layers"]:
            model.add(layer_from_config(spec))
        if config.get("build_input_shape") is not None and not model.built:
            model._build_sample_shape(tuple(config["build_input_shape"]))
        model._shape_from_data = config.get("shape_from_data") is True
        return model

    # --- files ---------------------------------------------------------------------------------
    def save(self, filepath, overwrite: bool = True, metadata: Optional[dict] = None) -> None:
        """One safetensors file: weights, architecture, compile config, optimizer state,
        and ``metadata`` (a dict of JSON values; default: ``self.metadata``, so a loaded
        model saved again keeps it), which ``load_model`` returns as ``model.metadata``."""
        from rnnkit.models.saving import save_model
        save_model(self, filepath, overwrite=overwrite,
                   metadata=self.metadata if metadata is None else metadata)

    def save_weights(self, filepath, overwrite: bool = True) -> None:
        from rnnkit.models.saving import save_weights
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath) -> None:
        from rnnkit.models.saving import load_weights
        load_weights(self, filepath)


register_layer(Sequential)  # a Sequential inside a functional model, in configs
