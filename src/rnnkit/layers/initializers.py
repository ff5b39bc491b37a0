"""Keras 3's weight initialisers, by name, producing arrays in Keras's layout.

A layer asks for an array of Keras's shape — a kernel (I, G*u), a recurrent
kernel (u, G*u), an embedding matrix (V, D) — so that the fans are Keras's
(``compute_fans``: fan_in = shape[0], fan_out = shape[1] for 2-D, both =
shape[0] for 1-D) and ``orthogonal`` makes the rows of (u, G*u) orthonormal,
exactly as Keras does. The recurrent layers then move the array into torch's
layout with :mod:`rnnkit.layers.keras_layout`.

Identifiers are what Keras accepts: a snake_case or CamelCase name
(``"glorot_uniform"``, ``"GlorotUniform"``, aliases ``"uniform"``, ``"normal"``,
``"zero"``, ``"one"``) or a Keras config dict
``{"class_name": "RandomNormal", "config": {"stddev": 0.1, "seed": 3}}``.
Both are JSON-able, so layer configs round-trip. Random draws use torch's
global generator unless the config gives a ``seed``.

Formulas (keras/src/initializers/random_initializers.py, VarianceScaling):
``uniform``: U(−√(3·s/n), √(3·s/n)); ``truncated_normal``: N(0, σ²) cut at ±2σ,
σ = √(s/n) / 0.8796… (the std of a standard normal cut at ±2); n = fan_in,
fan_out or their mean; s the scale. glorot = (s=1, fan_avg), he = (s=2, fan_in),
lecun = (s=1, fan_in).
"""
from __future__ import annotations

import difflib
import math
import re
from typing import Callable, Optional, Union

import torch
from torch import Tensor

Identifier = Union[str, dict]
Init = Callable[[tuple, torch.dtype], Tensor]  # (Keras shape, dtype) -> new tensor

_TRUNC_STD = 0.87962566103423978  # std of N(0, 1) truncated to (−2, 2)


def compute_fans(shape: tuple) -> tuple[int, int]:
    """Keras's (fan_in, fan_out) of a weight shape."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _gen(seed: Optional[int]) -> Optional[torch.Generator]:
    return None if seed is None else torch.Generator().manual_seed(int(seed))


def _truncated_normal(shape, mean, stddev, dtype, gen) -> Tensor:
    w = torch.empty(shape, dtype=dtype)
    # Draw N(0, 1), redraw whatever falls outside (−2, 2), then scale: Keras's TruncatedNormal.
    w.normal_(0.0, 1.0, generator=gen)
    bad = w.abs() >= 2.0
    while bool(bad.any()):
        w[bad] = torch.empty(int(bad.sum()), dtype=dtype).normal_(0.0, 1.0, generator=gen)
        bad = w.abs() >= 2.0
    return w.mul_(stddev).add_(mean)


def variance_scaling(scale: float = 1.0, mode: str = "fan_in",
                     distribution: str = "truncated_normal", seed: Optional[int] = None) -> Init:
    if mode not in ("fan_in", "fan_out", "fan_avg"):
        raise ValueError(f"`mode` must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
    if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
        raise ValueError("`distribution` must be 'truncated_normal', 'untruncated_normal' or "
                         f"'uniform', got {distribution!r}")
    gen = _gen(seed)

    def init(shape, dtype=torch.float32):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[mode]
        s = scale / max(1.0, n)
        if distribution == "uniform":
            limit = math.sqrt(3.0 * s)
            return torch.empty(shape, dtype=dtype).uniform_(-limit, limit, generator=gen)
        if distribution == "untruncated_normal":
            return torch.empty(shape, dtype=dtype).normal_(0.0, math.sqrt(s), generator=gen)
        return _truncated_normal(shape, 0.0, math.sqrt(s) / _TRUNC_STD, dtype, gen)
    return init


def orthogonal(gain: float = 1.0, seed: Optional[int] = None) -> Init:
    """Keras's Orthogonal: QR of a normal matrix of shape (max(r, c), min(r, c)),
    signs fixed by diag(R), transposed when r < c, so a (u, G*u) kernel gets
    orthonormal rows (K Kᵀ = I) and a square one is orthogonal."""
    gen = _gen(seed)

    def init(shape, dtype=torch.float32):
        if len(shape) < 2:
            raise ValueError(f"the orthogonal initialiser needs a shape of rank ≥ 2, got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = torch.empty(max(rows, cols), min(rows, cols), dtype=torch.float64).normal_(
            0.0, 1.0, generator=gen)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
        if rows < cols:
            q = q.t()
        return (gain * q).reshape(shape).to(dtype)
    return init


def _random_normal(mean=0.0, stddev=0.05, seed=None) -> Init:
    gen = _gen(seed)
    return lambda shape, dtype=torch.float32: torch.empty(shape, dtype=dtype).normal_(
        mean, stddev, generator=gen)


def _random_uniform(minval=-0.05, maxval=0.05, seed=None) -> Init:
    gen = _gen(seed)
    return lambda shape, dtype=torch.float32: torch.empty(shape, dtype=dtype).uniform_(
        minval, maxval, generator=gen)


def _truncated(mean=0.0, stddev=0.05, seed=None) -> Init:
    gen = _gen(seed)
    return lambda shape, dtype=torch.float32: _truncated_normal(shape, mean, stddev, dtype, gen)


def _constant(value=0.0) -> Init:
    return lambda shape, dtype=torch.float32: torch.full(shape, float(value), dtype=dtype)


def _identity(gain=1.0) -> Init:
    def init(shape, dtype=torch.float32):
        if len(shape) != 2:
            raise ValueError(f"the identity initialiser needs a 2-D shape, got {shape}")
        return gain * torch.eye(*shape, dtype=dtype)
    return init


def _vs(scale, mode, distribution):
    return lambda seed=None: variance_scaling(scale, mode, distribution, seed)


# Keras class name -> factory taking that class's config keys.
_FACTORIES: dict[str, Callable[..., Init]] = {
    "Zeros": lambda: _constant(0.0),
    "Ones": lambda: _constant(1.0),
    "Constant": _constant,
    "Identity": _identity,
    "RandomNormal": _random_normal,
    "RandomUniform": _random_uniform,
    "TruncatedNormal": _truncated,
    "VarianceScaling": variance_scaling,
    "GlorotUniform": _vs(1.0, "fan_avg", "uniform"),
    "GlorotNormal": _vs(1.0, "fan_avg", "truncated_normal"),
    "HeUniform": _vs(2.0, "fan_in", "uniform"),
    "HeNormal": _vs(2.0, "fan_in", "truncated_normal"),
    "LecunUniform": _vs(1.0, "fan_in", "uniform"),
    "LecunNormal": _vs(1.0, "fan_in", "truncated_normal"),
    "Orthogonal": orthogonal,
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_ALIASES = {_snake(k): k for k in _FACTORIES}
_ALIASES.update({k: k for k in _FACTORIES})
_ALIASES.update({"uniform": "RandomUniform", "normal": "RandomNormal", "zero": "Zeros",
                 "one": "Ones", "OrthogonalInitializer": "Orthogonal",
                 "IdentityInitializer": "Identity"})


def initializer_names() -> list[str]:
    return sorted(k for k in _ALIASES if k[0].islower())


def get_initializer(identifier: Identifier, arg: str) -> Init:
    """Resolve a Keras initialiser identifier; ``arg`` names the argument in errors."""
    config: dict = {}
    if isinstance(identifier, dict):
        if set(identifier) - {"class_name", "config", "module", "registered_name"} or \
                "class_name" not in identifier:
            raise ValueError(f"`{arg}` as a dict must be Keras's {{'class_name': ..., 'config': "
                             f"{{...}}}}, got keys {sorted(identifier)}")
        name, config = identifier["class_name"], dict(identifier.get("config") or {})
    elif isinstance(identifier, str):
        name = identifier
    else:
        raise TypeError(f"`{arg}` must be an initialiser name or a Keras config dict, got "
                        f"{type(identifier).__name__} {identifier!r}")
    if name not in _ALIASES:
        close = difflib.get_close_matches(name, initializer_names(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"`{arg}` has unknown initialiser {name!r}{hint} Expected one of "
                         f"{initializer_names()}")
    factory = _FACTORIES[_ALIASES[name]]
    try:
        return factory(**config)
    except TypeError as e:
        raise TypeError(f"`{arg}`: bad config {config} for initialiser {name!r}: {e}") from None
