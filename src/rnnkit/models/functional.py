"""Keras's functional ``Model(inputs, outputs)`` as a ``torch.nn.Module``.

    encoder_in = Input(shape=(None, 12))
    _, h, c = LSTM(64, return_state=True)(encoder_in)
    decoder_in = Input(shape=(None, 20))
    y = LSTM(64, return_sequences=True)(decoder_in, initial_state=[h, c])
    model = Model([encoder_in, decoder_in], Dense(20, activation="softmax")(y))

Calling layers on symbolic tensors recorded the graph (:mod:`rnnkit.layers.node`);
the model sorts it once (:mod:`rnnkit.models.graph`) and each forward replays
the calls in one flat loop over integer slots, so the graph adds a few Python
steps per layer to the same model written by hand (measured in
``benchmarks/functional_overhead.py``).

``inputs`` and ``outputs`` may be one symbolic tensor, a list, or a dict; the
model is called, fitted and predicts with the same structure.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.layers.keras_weights import set_layers_weights
from rnnkit.layers.base import Layer, register_layer, snake_case
from rnnkit.layers.node import KerasTensor, is_symbolic, symbolic_call
from rnnkit.models import graph
from rnnkit.models.functional_training import FunctionalTrainingMixin
from rnnkit.models.summary import format_functional_summary

__all__ = ["Model", "Functional"]


def _as_flat(structure, what: str) -> tuple[list[KerasTensor], object]:
    """Flat tensors and how to rebuild the structure: None (one), int (list), keys (dict)."""
    if isinstance(structure, KerasTensor):
        return [structure], None
    if isinstance(structure, dict):
        items = list(structure.items())
        flat = [t for _, t in items]
        form = [k for k, _ in items]
    elif isinstance(structure, (list, tuple)):
        flat, form = list(structure), len(structure)
    else:
        raise TypeError(f"`{what}` must be a symbolic tensor (from rnnkit.Input or a layer "
                        f"called on one), a list or a dict of them, got {type(structure).__name__}")
    for i, t in enumerate(flat):
        if not isinstance(t, KerasTensor):
            raise TypeError(f"`{what}`[{i}] must be a symbolic tensor (from rnnkit.Input or a "
                            f"layer called on one), got {type(t).__name__}")
    if not flat:
        raise ValueError(f"`{what}` must hold at least one symbolic tensor, got none")
    return flat, form


def _pack(flat: list, form):
    if form is None:
        return flat[0]
    if isinstance(form, list):
        return dict(zip(form, flat))
    return list(flat)


class Model(FunctionalTrainingMixin, nn.Module):
    """A model from its symbolic inputs and outputs, with Keras's training API.

    Args:
        inputs: a symbolic tensor, a list or a dict of them (usually from ``Input``).
        outputs: the symbolic tensor(s) to compute, as a tensor, list or dict.
        name: the model's name (default ``"functional"``).
        trainable: False freezes every layer.
    """

    def __init__(self, inputs=None, outputs=None, name: Optional[str] = None,
                 trainable: bool = True) -> None:
        if inputs is None or outputs is None:
            raise TypeError("Model needs `inputs` and `outputs` (the functional API); "
                            "subclassed Keras models aren't supported by rnnkit: write a "
                            "torch.nn.Module, or use rnnkit.Sequential")
        nn.Module.__init__(self)
        self.name = name or "functional"
        flat_in, self._input_form = _as_flat(inputs, "inputs")
        flat_out, self._output_form = _as_flat(outputs, "outputs")
        if len({id(t) for t in flat_in}) != len(flat_in):
            raise ValueError("`inputs` holds the same symbolic tensor twice")
        nodes, layers = graph.walk(flat_in, flat_out)
        self._unique_names(layers)
        self._inputs, self._outputs = flat_in, flat_out
        self._nodes = nodes
        self.layers = nn.ModuleList(layers)
        self._plan = graph.Plan(flat_in, flat_out, nodes)
        self._inbound_nodes: list = []
        self._int_inputs = [t.dtype.startswith(("int", "uint", "bool")) for t in flat_in]
        self.built = True
        self._init_training()
        if not trainable:
            for layer in layers:
                if isinstance(layer, Layer):
                    layer.trainable = False

    @staticmethod
    def _unique_names(layers: list) -> None:
        """Keras's automatic names (dense, dense_1, ...) for clashing default names;
        a clash between names the user chose is an error."""
        names: set[str] = set()
        for layer in layers:
            if layer.name in names:
                default = snake_case(type(layer).__name__)
                if not layer.name.startswith(default):
                    raise ValueError(f"All layers in a model should have unique names; "
                                     f"{layer.name!r} is used twice")
                k = 1
                while f"{default}_{k}" in names:
                    k += 1
                layer.name = f"{default}_{k}"
            names.add(layer.name)

    # --- Keras's structure API -------------------------------------------------------------
    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._outputs)

    @property
    def input(self):
        """The inputs in the structure given to the constructor."""
        return _pack(self._inputs, self._input_form)

    @property
    def output(self):
        return _pack(self._outputs, self._output_form)

    @property
    def input_names(self) -> list[str]:
        if isinstance(self._input_form, list):
            return list(self._input_form)
        return [t.name for t in self._inputs]

    @property
    def output_names(self) -> list[str]:
        """Names for per-output losses and logs: dict keys, else the producing layers'."""
        if isinstance(self._output_form, list):
            return list(self._output_form)
        names = []
        for t in self._outputs:
            layer = t.node.layer
            n = layer.name
            if len(t.node.outputs) > 1 or n in names:
                n = f"{n}_{t.index}" if len(t.node.outputs) > 1 else f"{n}_{len(names)}"
            names.append(n)
        return names

    def get_layer(self, name: Optional[str] = None, index: Optional[int] = None):
        """The layer called ``name`` (or at ``index`` in ``layers``)."""
        if index is not None:
            if not 0 <= index < len(self.layers):
                raise ValueError(f"`index` must lie in [0, {len(self.layers)}), got {index}")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}. Existing layers are: "
                         f"{[layer.name for layer in self.layers]}")

    @property
    def input_shape(self):
        shapes = [t.shape for t in self._inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self._outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    # --- calling -------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if is_symbolic(args, kwargs):
            return symbolic_call(self, args, kwargs)
        return super().__call__(*args, **kwargs)

    def maybe_build(self, input_shape) -> None:
        """A functional model is built from its inputs."""

    def _flat_inputs(self, x, arg: str = "inputs") -> list:
        n = len(self._inputs)
        if isinstance(x, dict):
            names = self.input_names
            missing = [k for k in names if k not in x]
            if missing:
                raise ValueError(f"`{arg}` is missing input(s) {missing}; the model's inputs are "
                                 f"{names}, got keys {sorted(x)}")
            flat = [x[k] for k in names]
        elif isinstance(x, (list, tuple)) and n > 1:
            if len(x) != n:
                raise ValueError(f"the model has {n} inputs ({self.input_names}) but `{arg}` "
                                 f"holds {len(x)}")
            flat = list(x)
        elif isinstance(x, (list, tuple)) and len(x) == 1 and n == 1 and not np.isscalar(x[0]) \
                and np.ndim(x[0]) >= 1 and (not isinstance(x, tuple) or isinstance(x[0], Tensor)):
            flat = list(x)  # a tuple of one tensor: the trainer's batch form (Batch.x)
        else:
            if n != 1:
                raise ValueError(f"the model has {n} inputs ({self.input_names}); pass `{arg}` "
                                 f"as a list of {n} arrays or a dict, got one "
                                 f"{type(x).__name__}")
            flat = [x]
        return [t if isinstance(t, Tensor) else torch.as_tensor(np.asarray(t)) for t in flat]

    def _run(self, xs: list, ms: Optional[list] = None) -> tuple[list, list]:
        return graph.run(self._plan, xs, ms)

    def forward(self, inputs, training: Optional[bool] = None, mask=None):
        """Outputs for ``inputs`` (one tensor, a list, or a dict by input name), in
        the structure of the model's outputs. ``training`` switches dropout on
        or off for this call only."""
        xs = self._flat_inputs(inputs)
        ms = None if mask is None else (list(mask) if isinstance(mask, (list, tuple))
                                        else [mask])
        if training is None or bool(training) == self.training:
            outs, _ = self._run(xs, ms)
        else:
            was = self.training
            self.train(bool(training))
            try:
                outs, _ = self._run(xs, ms)
            finally:
                self.train(was)
        return _pack(outs, self._output_form)

    def _graph_call(self, x, mask):
        """A node in an outer graph: (inputs, masks) in, (outputs, masks) out."""
        xs = self._flat_inputs(x)
        ms = None
        if mask is not None:
            ms = list(mask) if isinstance(mask, (list, tuple)) else [mask]
        outs, out_masks = self._run(xs, ms)
        if self._output_form is None:
            return outs[0], out_masks[0]
        return _pack(outs, self._output_form), _pack(out_masks, self._output_form)

    # --- weights ---------------------------------------------------------------------------
    def _need_built(self, what: str) -> None:
        """A functional model is always built."""

    def count_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def get_weights(self) -> list[np.ndarray]:
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        set_layers_weights(self.layers, weights)

    @property
    def trainable_weights(self) -> list:
        return [p for p in self.parameters() if p.requires_grad]

    @property
    def weights(self) -> list:
        return list(self.parameters())

    @property
    def trainable(self) -> bool:
        return all(getattr(layer, "trainable", True) for layer in self.layers)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        for layer in self.layers:
            if hasattr(layer, "trainable"):
                layer.trainable = value

    # --- description and files -------------------------------------------------------------
    def summary(self, print_fn=None) -> str:
        """Keras's table, with the ``Connected to`` column of functional models."""
        text = format_functional_summary(self)
        (print_fn or print)(text)
        return text

    def get_config(self) -> dict:
        from rnnkit.models.graph_config import graph_config
        return graph_config(self)

    @classmethod
    def from_config(cls, config: dict) -> "Model":
        from rnnkit.models.graph_config import replay_config
        return replay_config(cls, config)

    def save(self, filepath, overwrite: bool = True, metadata: Optional[dict] = None) -> None:
        """One safetensors file (weights, graph config as JSON, compile config,
        optimizer state); ``rnnkit.models.load_model`` reads it back. No pickle."""
        from rnnkit.models.saving import save_model
        save_model(self, filepath, overwrite=overwrite,
                   metadata=self.metadata if metadata is None else metadata)

    def save_weights(self, filepath, overwrite: bool = True) -> None:
        from rnnkit.models.saving import save_weights
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath) -> None:
        from rnnkit.models.saving import load_weights
        load_weights(self, filepath)


Functional = Model  # Keras's class name for a functional model, used in configs
register_layer(Model, name="Functional")
register_layer(Model, name="Model")
