"""Keras 3's MultiHeadAttention (Vaswani et al. 2017), for (B, T, dim) inputs.

    Q = query · Wq + bq    (B, T, N, Hk)      Wq (dim_q, N, Hk), bq (N, Hk)
    K = key · Wk + bk      (B, S, N, Hk)      Wk (dim_k, N, Hk), bk (N, Hk)
    V = value · Wv + bv    (B, S, N, Hv)      Wv (dim_v, N, Hv), bv (N, Hv)
    scores = (Q / √Hk) · Kᵀ per head          (B, N, T, S)
    scores += −1e9 where the attention mask is False
    A = softmax(scores, axis=-1)  (dropout on A while training)
    out = (A · V) · Wo + bo                   (B, T, out)  Wo (N, Hv, out), bo (out,)

The attention mask is the AND of ``attention_mask`` (B, T, S), the query's mask
(B, T, 1), the value's and key's masks (B, 1, S) and, with ``use_causal_mask``,
the lower triangle (1, T, S). Inside a graph, the query's mask arrives as
``mask``; the value (and key) use it too when they are the query tensor itself
(self-attention), else pass ``value_mask=`` / ``key_mask=``.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.layers._options import pop_defaults
from rnnkit.layers.attention import causal
from rnnkit.layers.base import Layer, check_rate, check_units, register_layer
from rnnkit.layers.initializers import get_initializer
from rnnkit.layers.node import KerasTensor


def _dims(x) -> Optional[tuple]:
    if isinstance(x, KerasTensor):
        return tuple(x.shape[1:])
    if isinstance(x, (Tensor, np.ndarray)):
        return tuple(x.shape[1:])
    return None


@register_layer
class MultiHeadAttention(Layer):
    """Multi-head attention, Keras's arguments and weights (see the module docstring).

    Args:
        num_heads: N. key_dim: Hk, the size of each query/key head.
        value_dim: Hv (default None: key_dim). dropout: on A (default 0.0).
        use_bias: default True. output_shape: the output's last size (default
            None: the query's dim). attention_axes: only None or (1,) (the time axis).
        kernel_initializer="glorot_uniform", bias_initializer="zeros", seed=None.

    Call: ``layer(query, value, key=None, query_mask=None, value_mask=None,
    key_mask=None, attention_mask=None, return_attention_scores=False,
    training=None, use_causal_mask=False)``.

    Weights, in Keras's order: query kernel, query bias, key kernel, key bias,
    value kernel, value bias, output kernel, output bias (biases only with use_bias).
    """

    _weight_roles = {"kernel": (("query_kernel", "key_kernel", "value_kernel", "output_kernel"), False),
                     "bias": (("query_bias", "key_bias", "value_bias", "output_bias"), False)}

    def __init__(self, num_heads: int, key_dim: int, value_dim: Optional[int] = None,
                 dropout: float = 0.0, use_bias: bool = True, output_shape=None,
                 attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", seed: Optional[int] = None, **kwargs: Any) -> None:
        pop_defaults("MultiHeadAttention", kwargs, {"use_gate": False, "sliding_window": None,
                                                   "flash_attention": None})
        super().__init__(**kwargs)
        self.num_heads = check_units(num_heads, "num_heads")
        self.key_dim = check_units(key_dim, "key_dim")
        self.value_dim = self.key_dim if value_dim is None else check_units(value_dim, "value_dim")
        self.dropout = check_rate(dropout, "dropout")
        self.use_bias = bool(use_bias)
        if isinstance(output_shape, (list, tuple)):
            if len(output_shape) != 1:
                raise ValueError(f"MultiHeadAttention: `output_shape` must be an int or a tuple of "
                                 f"one int, got {output_shape!r}")
            output_shape = output_shape[0]
        self.output_shape = None if output_shape is None else check_units(output_shape, "output_shape")
        # Keras stores [1] once built: for (B, T, dim) inputs that is the time axis, as None.
        if attention_axes is not None and list(np.atleast_1d(attention_axes)) != [1]:
            raise ValueError(f"MultiHeadAttention: `attention_axes`={attention_axes!r} isn't "
                             "supported by rnnkit; only None or (1,) (attend over the time axis)")
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        get_initializer(kernel_initializer, "kernel_initializer")
        get_initializer(bias_initializer, "bias_initializer")
        self.seed = seed
        self._gen = None if seed is None else torch.Generator().manual_seed(int(seed))

    def __call__(self, query=None, value=None, key=None, **kwargs):
        if not self.built and _dims(query) is not None and _dims(value) is not None:
            self.build(_dims(query), _dims(value), _dims(key))
        return super().__call__(query, value, key, **kwargs)

    def build(self, query_shape, value_shape=None, key_shape=None) -> None:
        """Shapes without the batch axis: query (T, dim_q), value (S, dim_v), key (S, dim_k)."""
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        for what, s in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(s) != 2 or s[-1] is None:
                raise ValueError(f"MultiHeadAttention: `{what}` must have shape (T, dim) with a "
                                 f"known dim (without the batch axis), got {tuple(s)}")
        N, Hk, Hv = self.num_heads, self.key_dim, self.value_dim
        out = self.output_shape or query_shape[-1]
        ki = get_initializer(self.kernel_initializer, "kernel_initializer")
        bi = get_initializer(self.bias_initializer, "bias_initializer")
        # Registration order is get_weights order: Keras's query, key, value, output.
        for role, kshape, bshape in (("query", (query_shape[-1], N, Hk), (N, Hk)),
                                     ("key", (key_shape[-1], N, Hk), (N, Hk)),
                                     ("value", (value_shape[-1], N, Hv), (N, Hv)),
                                     ("output", (N, Hv, out), (out,))):
            setattr(self, f"{role}_kernel", nn.Parameter(ki(kshape)))
            setattr(self, f"{role}_bias", nn.Parameter(bi(bshape)) if self.use_bias else None)
        self.built = True

    def _project(self, x: Tensor, role: str) -> Tensor:
        y = torch.einsum("btd,dnh->btnh", x, getattr(self, f"{role}_kernel"))
        b = getattr(self, f"{role}_bias")
        return y if b is None else y + b

    def forward(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
                attention_mask=None, return_attention_scores: bool = False,
                training: Optional[bool] = None, use_causal_mask: bool = False, mask=None):
        if query_mask is None:
            query_mask = mask
        if value_mask is None and value is query:
            value_mask = mask  # self-attention: the one tensor's mask, as Keras reads it
        if key is None:
            key = value
            key_mask = None  # Keras ignores key_mask when key is value
        elif key_mask is None and key is query:
            key_mask = mask
        dt = self.query_kernel.dtype
        q, k, v = (torch.as_tensor(t).to(dt) for t in (query, key, value))
        for what, t in (("query", q), ("value", v), ("key", k)):
            if t.dim() != 3:
                raise ValueError(f"MultiHeadAttention layer {self.name!r}: `{what}` must be 3-D "
                                 f"(B, T, dim), got shape {tuple(t.shape)}")
        training = self.training if training is None else bool(training)
        Q = self._project(q, "query") / math.sqrt(self.key_dim)  # (B, T, N, Hk)
        K = self._project(k, "key")  # (B, S, N, Hk)
        V = self._project(v, "value")  # (B, S, N, Hv)
        scores = torch.einsum("btnh,bsnh->bnts", Q, K)  # (B, N, T, S)
        am = None
        for part in (None if query_mask is None else query_mask.bool().unsqueeze(-1),
                     None if value_mask is None else value_mask.bool().unsqueeze(-2),
                     None if key_mask is None else key_mask.bool().unsqueeze(-2),
                     causal(q.shape[1], k.shape[1], q.device) if use_causal_mask else None,
                     None if attention_mask is None else torch.as_tensor(attention_mask).bool()):
            if part is not None:
                am = part if am is None else am & part
        if am is not None:
            # Keras's Softmax(mask): adds −1e9 where masked (a fully masked row is uniform).
            scores = scores + (~am).unsqueeze(1).to(scores.dtype) * -1e9
        A = torch.softmax(scores, dim=-1)  # (B, N, T, S)
        Ad = A
        if training and self.dropout > 0:
            keep = torch.bernoulli(torch.full_like(A, 1 - self.dropout), generator=self._gen)
            Ad = A * keep / (1 - self.dropout)
        ctx = torch.einsum("bnts,bsnh->btnh", Ad, V)  # (B, T, N, Hv)
        out = torch.einsum("btnh,nho->bto", ctx, self.output_kernel)  # (B, T, out)
        if self.output_bias is not None:
            out = out + self.output_bias
        return (out, A) if return_attention_scores else out

    def compute_mask(self, x, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.output_shape or input_shape[-1],)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(num_heads=self.num_heads, key_dim=self.key_dim, value_dim=self.value_dim,
                   dropout=self.dropout, use_bias=self.use_bias, output_shape=self.output_shape,
                   attention_axes=None, kernel_initializer=self.kernel_initializer,
                   bias_initializer=self.bias_initializer, seed=self.seed)
        return cfg
