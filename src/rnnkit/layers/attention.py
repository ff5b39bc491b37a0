"""Keras 3's Attention (Luong et al. 2015, dot scores) and AdditiveAttention
(Bahdanau et al. 2015, additive scores) layers.

Both are called on ``[query, value]`` or ``[query, value, key]`` (key defaults to
value), shapes (B, Tq, D), (B, Tv, D), (B, Tv, D), with ``mask=[query_mask,
value_mask]`` (either may be None):

    scores[b, i, j]  (B, Tq, Tv): the layer's score of query i against key j
    scores −= 1e9 where value_mask[b, j] is False (and, with use_causal_mask, where j > i)
    weights = softmax(scores, axis=-1)  (dropout on weights while training)
    out[b, i] = Σ_j weights[b, i, j] · value[b, j]         (B, Tq, D)
    out[b, i] = 0 where query_mask[b, i] is False

The output keeps the query's mask. ``return_attention_scores=True`` also returns weights.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.layers.base import Layer, check_rate, register_layer
from rnnkit.layers.initializers import get_initializer

_BIG = 1.0e9  # Keras's padding offset for float32 scores (65504 for float16)


def masked_softmax_apply(scores: Tensor, value: Tensor, score_mask: Optional[Tensor],
                         dropout: float, training: bool, generator=None) -> tuple[Tensor, Tensor]:
    """softmax(scores − 1e9·¬mask) @ value, as Keras's ``_apply_scores``."""
    if score_mask is not None:
        big = 65504.0 if scores.dtype == torch.float16 else _BIG
        scores = torch.where(score_mask, scores, scores - big)
    weights = torch.softmax(scores, dim=-1)  # (B, Tq, Tv)
    if training and dropout > 0:
        keep = torch.bernoulli(torch.full_like(weights, 1 - dropout), generator=generator)
        weights = weights * keep / (1 - dropout)
    return weights @ value, weights  # (B, Tq, D)


def causal(Tq: int, Tv: int, device) -> Tensor:
    """(1, Tq, Tv): query i sees keys j ≤ i."""
    return torch.ones(Tq, Tv, dtype=torch.bool, device=device).tril().unsqueeze(0)


class _BaseAttention(Layer):
    def __init__(self, dropout: float = 0.0, seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dropout = check_rate(dropout, "dropout")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"{type(self).__name__}: `seed` must be an integer or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self._gen = None if seed is None else torch.Generator().manual_seed(self.seed)

    def _split(self, inputs, mask):
        cls = type(self).__name__
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            raise ValueError(f"{cls} layer {self.name!r} must be called on a list [query, value] "
                             f"or [query, value, key], got {type(inputs).__name__}"
                             + (f" of length {len(inputs)}" if isinstance(inputs, (list, tuple)) else ""))
        q, v = torch.as_tensor(inputs[0]), torch.as_tensor(inputs[1])
        k = torch.as_tensor(inputs[2]) if len(inputs) == 3 else v
        if q.dim() != 3 or v.dim() != 3 or k.dim() != 3:
            raise ValueError(f"{cls} layer {self.name!r}: query, value and key must be 3-D "
                             f"(B, T, D), got shapes {tuple(q.shape)}, {tuple(v.shape)}, {tuple(k.shape)}")
        if k.shape[1] != v.shape[1]:
            raise ValueError(f"{cls} layer {self.name!r}: key has {k.shape[1]} steps but value "
                             f"has {v.shape[1]}")
        if mask is not None and (not isinstance(mask, (list, tuple)) or len(mask) not in (2, 3)):
            raise ValueError(f"{cls} layer {self.name!r}: `mask` must be a list [query_mask, "
                             f"value_mask] (either may be None), got {type(mask).__name__}")
        q_mask = mask[0] if mask is not None else None
        v_mask = mask[1] if mask is not None else None
        return q, v, k, q_mask, v_mask

    def forward(self, inputs, mask=None, training: Optional[bool] = None,
                return_attention_scores: bool = False, use_causal_mask: bool = False):
        q, v, k, q_mask, v_mask = self._split(inputs, mask)
        training = self.training if training is None else bool(training)
        scores = self._scores(q.to(self._dtype()), k.to(self._dtype()))  # (B, Tq, Tv)
        score_mask = None if v_mask is None else v_mask.bool().unsqueeze(-2)  # (B, 1, Tv)
        if use_causal_mask:
            c = causal(scores.shape[-2], scores.shape[-1], scores.device)
            score_mask = c if score_mask is None else score_mask & c
        out, weights = masked_softmax_apply(scores, v.to(scores.dtype), score_mask, self.dropout,
                                            training, self._gen)
        if q_mask is not None:
            out = torch.where(q_mask.bool().unsqueeze(-1), out, torch.zeros_like(out))
        return (out, weights) if return_attention_scores else out

    def _dtype(self) -> torch.dtype:
        params = list(self.parameters())
        return params[0].dtype if params else torch.get_default_dtype()

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[0]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(dropout=self.dropout, seed=self.seed)
        return cfg


@register_layer
class Attention(_BaseAttention):
    """Dot-product attention (Luong-style).

        score_mode="dot":    scores = s · q @ kᵀ
        score_mode="concat": scores[i, j] = c · Σ_d tanh(s · (q[i, d] + k[j, d]))

    (s = the learnt scalar ``scale`` with use_scale=True, else 1; c = the learnt
    scalar ``concat_score_weight``, concat only.) Then as the module docstring.

    Args:
        use_scale: learn the scalar scale (default False; initialised to 1).
        score_mode: ``"dot"`` (default) or ``"concat"``.
        dropout: on the attention weights while training (default 0.0). seed: default None.

    Weights, in Keras's order: scale () when use_scale; concat_score_weight () for concat.
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(dropout=dropout, seed=seed, **kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Attention: `score_mode` must be 'dot' or 'concat', got {score_mode!r}")
        self.use_scale, self.score_mode = bool(use_scale), score_mode

    def build(self, input_shape) -> None:
        self.scale = nn.Parameter(torch.ones(())) if self.use_scale else None
        self.concat_score_weight = (nn.Parameter(torch.ones(())) if self.score_mode == "concat"
                                    else None)
        self.built = True

    def _scores(self, q: Tensor, k: Tensor) -> Tensor:
        if self.score_mode == "dot":
            scores = q @ k.transpose(-2, -1)  # (B, Tq, Tv)
            return scores * self.scale if self.scale is not None else scores
        s = q.unsqueeze(-2) + k.unsqueeze(-3)  # (B, Tq, Tv, D)
        if self.scale is not None:
            s = self.scale * s
        return self.concat_score_weight * torch.tanh(s).sum(-1)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(use_scale=self.use_scale, score_mode=self.score_mode)
        return cfg


@register_layer
class AdditiveAttention(_BaseAttention):
    """Additive (Bahdanau-style) attention:

        scores[b, i, j] = Σ_d s[d] · tanh(q[b, i, d] + k[b, j, d])

    (s = the learnt ``scale`` vector (D,) with use_scale=True, else ones.)
    Then as the module docstring.

    Args:
        use_scale: learn the scale vector (default True; glorot_uniform initialised).
        dropout: on the attention weights while training (default 0.0). seed: default None.

    Weights: scale (D,) when use_scale.
    """

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, seed: Optional[int] = None,
                 **kwargs: Any) -> None:
        super().__init__(dropout=dropout, seed=seed, **kwargs)
        self.use_scale = bool(use_scale)

    def build(self, input_shape) -> None:
        dim = input_shape[-1][-1] if len(input_shape) == 3 else input_shape[1][-1]  # key's D
        self.scale = (nn.Parameter(get_initializer("glorot_uniform", "scale")((dim,)))
                      if self.use_scale else None)
        self.built = True

    def _scores(self, q: Tensor, k: Tensor) -> Tensor:
        t = torch.tanh(q.unsqueeze(-2) + k.unsqueeze(-3))  # (B, Tq, Tv, D)
        return (t * self.scale).sum(-1) if self.scale is not None else t.sum(-1)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(use_scale=self.use_scale)
        return cfg
