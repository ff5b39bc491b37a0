"""Keras's weight API for rnnkit layers: ``add_weight``, ``weights`` /
``trainable_weights`` / ``non_trainable_weights``, the ``trainable`` flag,
``losses`` (weight regularizers) and ``apply_constraints``.

A layer names its weights' roles in ``_weight_roles`` (role -> parameter
names, and whether they are stored transposed from Keras's layout); the
``{role}_regularizer`` / ``{role}_constraint`` constructor arguments attach to
those. ``add_weight`` attaches them to one weight. The trainer adds every
penalty to the loss and applies every constraint after each optimizer step.
"""
from __future__ import annotations

import re
from typing import Optional

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["KerasWeightsMixin", "set_layers_weights", "to_keras_layout", "from_keras_layout"]


class KerasWeightsMixin:
    """Mixed into :class:`rnnkit.layers.base.Layer` (which sets ``_frozen``,
    ``_regs``, ``_cons``, ``_penalties``, ``_param_cons`` and ``_trainable``)."""

    def add_weight(self, shape=None, initializer="glorot_uniform", dtype=None, trainable=True,
                   name: Optional[str] = None, regularizer=None, constraint=None) -> nn.Parameter:
        """Create a weight as Keras's ``Layer.add_weight``: an ``nn.Parameter`` of
        ``shape`` filled by ``initializer``, registered under ``name``;
        ``trainable=False`` keeps it out of training; ``regularizer`` adds its
        penalty to the training loss; ``constraint`` runs after each optimizer step."""
        from rnnkit.layers.constraints import get_constraint
        from rnnkit.layers.initializers import get_initializer
        from rnnkit.layers.regularizers import get_regularizer

        shape = () if shape is None else tuple(shape)
        if any(d is None or isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0
               for d in shape):
            raise ValueError(f"`shape` of weight {name!r} in layer {self.name!r} must be a tuple "
                             f"of non-negative ints, got {shape!r}")
        base = re.sub(r"\W", "_", name or "variable")
        pname, k = base, 1
        while hasattr(self, pname):
            pname, k = f"{base}_{k}", k + 1
        init = get_initializer(initializer, "initializer")
        value = init(shape) if shape else init((1,)).reshape(())
        if dtype is not None:
            value = value.to(getattr(torch, str(dtype).replace("torch.", "")))
        p = nn.Parameter(value.clone(), requires_grad=bool(trainable) and self._trainable)
        self.register_parameter(pname, p)
        if not trainable:
            self._frozen.add(pname)
        if regularizer is not None:
            self._penalties.append((pname, get_regularizer(regularizer, "regularizer")))
        if constraint is not None:
            self._param_cons.append((pname, get_constraint(constraint, "constraint"), False))
        return p

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freeze (False) or unfreeze the layer and every layer in it, as Keras."""
        self._trainable = bool(value)
        for m in self.modules():
            if isinstance(m, KerasWeightsMixin):
                m._trainable = bool(value)
                for pname, p in m.named_parameters(recurse=False):
                    p.requires_grad_(bool(value) and pname not in m._frozen)

    @property
    def weights(self) -> list[nn.Parameter]:
        return list(self.parameters())

    @property
    def trainable_weights(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    @property
    def non_trainable_weights(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if not p.requires_grad]

    @property
    def losses(self) -> list[Tensor]:
        """The regularisation penalties of this layer's weights (and its sublayers'),
        and the activity penalties of its calls since the trainer last collected them."""
        out = []
        for m in self.modules():
            if isinstance(m, KerasWeightsMixin):
                out += list(m._activity_losses)
                out += [reg(getattr(m, pname)) for pname, reg in m._all_penalties()]
        return out

    def _all_penalties(self) -> list:
        pairs = list(self._penalties)
        for role, reg in self._regs.items():
            pairs += [(n, reg) for n in self._weight_roles[role][0]
                      if getattr(self, n, None) is not None]
        return pairs

    def _all_constraints(self) -> list:
        triples = list(self._param_cons)
        for role, con in self._cons.items():
            names, transposed = self._weight_roles[role]
            triples += [(n, con, transposed) for n in names if getattr(self, n, None) is not None]
        return triples

    def apply_constraints(self) -> None:
        """Project the weights with their constraints (the trainer calls this after
        each optimizer step). Weights stored in another layout than Keras's are
        constrained in Keras's layout, so MaxNorm's axis means what it does in Keras."""
        with torch.no_grad():
            for pname, con, layout in self._all_constraints():
                p = getattr(self, pname)
                p.copy_(from_keras_layout(con(to_keras_layout(p, layout)), layout))


# How a weight is stored relative to Keras's layout (the second item of a `_weight_roles`
# entry): False = as Keras; True = transposed (recurrent kernels, (G*u, I) vs (I, G*u));
# "conv" = torch's conv layout (A, B, *k) vs Keras's (*k, B, A).
def to_keras_layout(p: Tensor, layout) -> Tensor:
    if layout == "conv":
        r = p.dim() - 2
        return p.permute(list(range(2, r + 2)) + [1, 0])
    if layout is True:
        return p.t()
    if layout is False:
        return p
    raise ValueError(f"unknown weight layout {layout!r} (expected False, True or 'conv')")


def from_keras_layout(k: Tensor, layout) -> Tensor:
    if layout == "conv":
        r = k.dim() - 2
        return k.permute([r + 1, r] + list(range(r)))
    return to_keras_layout(k, layout)  # a transpose is its own inverse


def set_layers_weights(layers, weights) -> None:
    """A model's ``set_weights``: every layer's arrays in order (Keras's model-level
    order); all counts and shapes are checked before any layer changes."""
    per_layer = [[np.shape(w) for w in layer.get_weights()] for layer in layers]
    total = sum(len(s) for s in per_layer)
    if len(weights) != total:
        raise ValueError(f"`weights` must hold {total} arrays (every layer's weights in "
                         f"order), got {len(weights)}")
    i = 0
    for layer, shapes in zip(layers, per_layer):
        for s in shapes:
            if tuple(np.shape(weights[i])) != tuple(s):
                raise ValueError(f"`weights[{i}]` (layer {layer.name!r}) must have shape "
                                 f"{tuple(s)}, got {tuple(np.shape(weights[i]))}")
            i += 1
    i = 0
    for layer, shapes in zip(layers, per_layer):
        layer.set_weights(list(weights[i:i + len(shapes)]))
        i += len(shapes)
