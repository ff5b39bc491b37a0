"""Tiny test-only layers that follow the rnnkit.layers.base contract, so the
model tests don't depend on the real layers (they are tested with them too)."""
from __future__ import annotations

import torch
from torch import nn

from rnnkit.layers.base import Layer, register_layer


@register_layer
class ToyDense(Layer):
    """y = x @ kernel + bias over the last axis; built lazily from I; passes masks on."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        I = input_shape[-1]
        self.kernel = nn.Parameter(torch.randn(I, self.units) * (1.0 / I) ** 0.5)  # (I, U)
        self.bias = nn.Parameter(torch.zeros(self.units))
        self.built = True

    def forward(self, x, mask=None):
        return x @ self.kernel + self.bias

    def compute_mask(self, x, mask):
        return mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_layer
class ToyMaskZero(Layer):
    """Produces the mask "the step is not all zeros" (as Keras's Masking(0.0))."""

    def forward(self, x, mask=None):
        return x

    def compute_mask(self, x, mask):
        return x.abs().sum(-1) != 0  # (B, T)


@register_layer
class ToyMaskedMean(Layer):
    """(B, T, F) -> (B, F): mean over the valid steps; records the mask it got."""

    def forward(self, x, mask=None):
        self.last_mask = mask
        if mask is None:
            return x.mean(1)
        m = mask.to(x.dtype).unsqueeze(-1)  # (B, T, 1)
        return (x * m).sum(1) / m.sum(1).clamp(min=1.0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[1:])


@register_layer
class ToyDropout(Layer):
    """Inverted dropout drawing from torch's global RNG (to test RNG restoring)."""

    def __init__(self, rate: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def forward(self, x, mask=None):
        if not self.training:
            return x
        keep = (torch.rand_like(x) >= self.rate).to(x.dtype)
        return x * keep / (1.0 - self.rate)

    def compute_mask(self, x, mask):
        return mask

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


@register_layer
class ToyTanh(Layer):
    def forward(self, x, mask=None):
        return torch.tanh(x)

    def compute_mask(self, x, mask):
        return mask


@register_layer
class ToySpy(Layer):
    """Identity that records the batches it sees in training mode."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def forward(self, x, mask=None):
        if self.training:
            self.seen.append(x.detach().clone())
        return x

    def compute_mask(self, x, mask):
        return mask


def linear_data(n: int = 64, features: int = 3, seed: int = 0, noise: float = 0.0):
    """X (n, F) float32 and y = X w + 0.5 (+ noise), shape (n, 1)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features)).astype("float32")
    w = np.arange(1, features + 1, dtype="float32")[:, None] / features
    y = X @ w + 0.5 + noise * rng.normal(size=(n, 1)).astype("float32")
    return X, y.astype("float32")


def dense_model(features: int = 3, optimizer="sgd", loss="mse", metrics=None, dropout=None):
    """A compiled one-layer linear model (optionally with ToyDropout in front)."""
    from rnnkit.models import Sequential

    layers = [ToyDense(1, input_shape=(features,))]
    if dropout is not None:
        layers = [ToyDropout(dropout, input_shape=(features,)), ToyDense(8), ToyTanh(), ToyDense(1)]
    model = Sequential(layers)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    return model
