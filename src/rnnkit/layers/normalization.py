"""Keras 3's BatchNormalization (Ioffe & Szegedy 2015) and LayerNormalization (Ba et al. 2016)."""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor, nn

from rnnkit.layers._options import pop_defaults
from rnnkit.layers.base import Layer, register_layer
from rnnkit.layers.initializers import get_initializer

_KERAS_EPSILON = 1e-7  # keras.backend.epsilon(): guards the masked moments' division


def _axes(axis, rank: int, cls: str) -> list[int]:
    """Keras's ``axis`` (int or list, counting the batch axis) as positive axes."""
    axes = [axis] if isinstance(axis, int) else list(axis)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, int) or not -rank <= a < rank or a % rank == 0:
            raise ValueError(f"{cls}: `axis` {axis!r} must name non-batch axes of a rank-{rank} "
                             "input")
        out.append(a % rank)
    return sorted(out)


@register_layer
class BatchNormalization(Layer):
    """Normalise each feature with the batch's statistics while training and
    with moving averages at inference:

        training (and trainable): μ, σ² = the batch's mean and biased variance over
            every axis but ``axis`` (masked steps left out);
            moving_mean ← moving_mean · momentum + μ · (1 − momentum), likewise the variance
        inference: μ, σ² = moving_mean, moving_variance
        y = γ · (x − μ) / √(σ² + ε) + β

    As in Keras, a frozen layer (``trainable = False``) always runs in inference mode.

    Args:
        axis: the feature axis (default -1). momentum: default 0.99. epsilon: default 1e-3.
        center: learn β (default True). scale: learn γ (default True).
        beta_initializer="zeros", gamma_initializer="ones",
        moving_mean_initializer="zeros", moving_variance_initializer="ones".

    Weights, in Keras's order: gamma, beta (when scale / center), moving_mean,
    moving_variance; the last two are non-trainable but count in count_params.
    """

    _weight_roles = {"gamma": (("gamma",), False), "beta": (("beta",), False)}

    def __init__(self, axis=-1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", **kwargs: Any) -> None:
        pop_defaults("BatchNormalization", kwargs, {"synchronized": False, "renorm": False,
                                                   "renorm_clipping": None,
                                                   "renorm_momentum": 0.99})
        super().__init__(**kwargs)
        self.axis = axis if isinstance(axis, int) else list(axis)
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        if not 0.0 <= self.momentum <= 1.0:
            raise ValueError(f"BatchNormalization: `momentum` must be in [0, 1], got {momentum}")
        if self.epsilon <= 0:
            raise ValueError(f"BatchNormalization: `epsilon` must be > 0, got {epsilon}")
        self.center, self.scale = bool(center), bool(scale)
        self.inits = {"beta": beta_initializer, "gamma": gamma_initializer,
                      "moving_mean": moving_mean_initializer,
                      "moving_variance": moving_variance_initializer}
        for k, v in self.inits.items():
            get_initializer(v, f"{k}_initializer")

    def build(self, input_shape: tuple) -> None:
        rank = len(input_shape) + 1
        self._feature_axes = _axes(self.axis, rank, "BatchNormalization")
        shape = tuple(input_shape[a - 1] for a in self._feature_axes)
        if None in shape:
            raise ValueError(f"BatchNormalization: the feature axis {self.axis} of input shape "
                             f"{tuple(input_shape)} must be known")
        self._rank = rank

        def make(role: str, trainable: bool) -> nn.Parameter:
            init = get_initializer(self.inits[role], f"{role}_initializer")
            return nn.Parameter(init(shape), requires_grad=trainable and self._trainable)

        self.gamma = make("gamma", True) if self.scale else None
        self.beta = make("beta", True) if self.center else None
        # Moving statistics are weights in Keras (saved, counted), never trained.
        self.moving_mean = make("moving_mean", False)
        self.moving_variance = make("moving_variance", False)
        self._frozen |= {"moving_mean", "moving_variance"}
        self.built = True

    def _view(self, v: Tensor) -> Tensor:
        shape = [1] * self._rank
        for a, n in zip(self._feature_axes, v.shape):
            shape[a] = n
        return v.reshape(shape)

    def _moments(self, x: Tensor, mask: Optional[Tensor]) -> tuple[Tensor, Tensor]:
        red = [a for a in range(x.dim()) if a not in self._feature_axes]
        if mask is None:
            return x.mean(dim=red), x.var(dim=red, unbiased=False)
        # Keras's masked moments: weights m over (B, T), broadcast over the features.
        m = mask.to(x.dtype).reshape(mask.shape + (1,) * (x.dim() - mask.dim()))
        wx = m * x
        n = (m * torch.ones_like(x)).sum(dim=red, keepdim=True)
        mean = wx.sum(dim=red, keepdim=True) / (n + _KERAS_EPSILON)
        var = (m * (wx - mean) ** 2).sum(dim=red, keepdim=True) / (n + _KERAS_EPSILON)
        return mean.reshape(-1), var.reshape(-1)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None,
                training: Optional[bool] = None) -> Tensor:
        if x.dim() != self._rank:
            raise ValueError(f"BatchNormalization layer {self.name!r}: `x` must have rank "
                             f"{self._rank}, got shape {tuple(x.shape)}")
        training = self.training if training is None else bool(training)
        x = x.to(self.moving_mean.dtype)
        if training and self._trainable:
            mean, var = self._moments(x, mask)
            shape = self.moving_mean.shape
            mean, var = mean.reshape(shape), var.reshape(shape)
            with torch.no_grad():
                self.moving_mean.mul_(self.momentum).add_(mean.detach() * (1 - self.momentum))
                self.moving_variance.mul_(self.momentum).add_(var.detach() * (1 - self.momentum))
        else:
            mean, var = self.moving_mean, self.moving_variance
        y = (x - self._view(mean)) * torch.rsqrt(self._view(var) + self.epsilon)
        if self.gamma is not None:
            y = y * self._view(self.gamma)
        if self.beta is not None:
            y = y + self._view(self.beta)
        return y

    def compute_mask(self, x, mask: Optional[Tensor]) -> Optional[Tensor]:
        return mask

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(axis=self.axis, momentum=self.momentum, epsilon=self.epsilon,
                   center=self.center, scale=self.scale,
                   **{f"{k}_initializer": v for k, v in self.inits.items()})
        return cfg


@register_layer
class LayerNormalization(Layer):
    """Normalise each sample over ``axis``:

        μ, σ² = mean and biased variance of x over ``axis``
        y = γ · (x − μ) / √(σ² + ε) + β
        rms_scaling=True:  y = γ · x / √(σ² + ε)   (no β, no centring; σ² the variance,
                           as Keras 3 computes it, which its docs flag as not a true RMS)

    Args:
        axis: int or list (default -1). epsilon: default 1e-3. center: learn β
        (default True). scale: learn γ (default True). rms_scaling: default False.
        beta_initializer="zeros", gamma_initializer="ones".

    Weights, in Keras's order: gamma (when scale), beta (when center and not
    rms_scaling), each of the shape of the normalised axes. A mask passes through.
    """

    _weight_roles = {"gamma": (("gamma",), False), "beta": (("beta",), False)}

    def __init__(self, axis=-1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 rms_scaling: bool = False, beta_initializer="zeros", gamma_initializer="ones",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis if isinstance(axis, int) else list(axis)
        self.epsilon = float(epsilon)
        if self.epsilon <= 0:
            raise ValueError(f"LayerNormalization: `epsilon` must be > 0, got {epsilon}")
        self.center, self.scale, self.rms_scaling = bool(center), bool(scale), bool(rms_scaling)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        get_initializer(beta_initializer, "beta_initializer")
        get_initializer(gamma_initializer, "gamma_initializer")

    def build(self, input_shape: tuple) -> None:
        self._rank = len(input_shape) + 1
        self._norm_axes = _axes(self.axis, self._rank, "LayerNormalization")
        shape = tuple(input_shape[a - 1] for a in self._norm_axes)
        if None in shape:
            raise ValueError(f"LayerNormalization: the axes {self.axis} of input shape "
                             f"{tuple(input_shape)} must be known")
        gi = get_initializer(self.gamma_initializer, "gamma_initializer")
        bi = get_initializer(self.beta_initializer, "beta_initializer")
        self.gamma = nn.Parameter(gi(shape)) if self.scale else None
        self.beta = (nn.Parameter(bi(shape)) if self.center and not self.rms_scaling else None)
        self.built = True

    def _view(self, v: Tensor) -> Tensor:
        shape = [1] * self._rank
        for a, n in zip(self._norm_axes, v.shape):
            shape[a] = n
        return v.reshape(shape)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        if x.dim() != self._rank:
            raise ValueError(f"LayerNormalization layer {self.name!r}: `x` must have rank "
                             f"{self._rank}, got shape {tuple(x.shape)}")
        dt = self.gamma.dtype if self.gamma is not None else x.dtype
        x = x.to(dt)
        if self.rms_scaling:
            var = x.var(dim=self._norm_axes, keepdim=True, unbiased=False)
            y = x * torch.rsqrt(var + self.epsilon)  # Keras 3's ops.layer_normalization
        else:
            mean = x.mean(dim=self._norm_axes, keepdim=True)
            var = x.var(dim=self._norm_axes, keepdim=True, unbiased=False)
            y = (x - mean) * torch.rsqrt(var + self.epsilon)
        if self.gamma is not None:
            y = y * self._view(self.gamma)
        if self.beta is not None:
            y = y + self._view(self.beta)
        return y

    def compute_mask(self, x, mask: Optional[Tensor]) -> Optional[Tensor]:
        return mask

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(axis=self.axis, epsilon=self.epsilon, center=self.center, scale=self.scale,
                   rms_scaling=self.rms_scaling, beta_initializer=self.beta_initializer,
                   gamma_initializer=self.gamma_initializer)
        return cfg
