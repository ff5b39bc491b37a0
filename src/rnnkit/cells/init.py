"""Initialisers: torch.nn's defaults live in base.py; here Keras's defaults,
the forget-gate bias, and chrono initialisation. Weights use torch's layout
(G*H, ·) with torch's gate order (LSTM i, f, g, o; GRU r, z, n)."""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor, nn


def forget_bias_(params: dict[str, Tensor], hidden_size: int, value: float = 1.0) -> None:
    """Set the LSTM forget-gate bias to ``value`` (Keras's unit_forget_bias;
    Jozefowicz et al. 2015). With two biases, bias_hh's forget slice is zeroed so
    the sum is ``value``."""
    H = hidden_size
    with torch.no_grad():
        params["bias_ih"][H:2 * H].fill_(value)
        if params.get("bias_hh") is not None:
            params["bias_hh"][H:2 * H].zero_()


def chrono_init_(params: dict[str, Tensor], hidden_size: int, t_max: float,
                 generator: Optional[torch.Generator] = None) -> None:
    """Tallec & Ollivier 2018: b_f = log(U(1, T_max − 1)), b_i = −b_f, so the
    forget gates span memory timescales up to T_max steps."""
    if not t_max > 2:
        raise ValueError(f"`chrono_init` must be a number of steps > 2, got {t_max}")
    H = hidden_size
    with torch.no_grad():
        b_ih = params["bias_ih"]
        u = torch.rand(H, generator=generator, dtype=b_ih.dtype) * (t_max - 2) + 1
        b_f = torch.log(u).to(b_ih.device)
        b_ih[H:2 * H].copy_(b_f)
        b_ih[:H].copy_(-b_f)
        if params.get("bias_hh") is not None:
            params["bias_hh"][:2 * H].zero_()


def keras_default_init_(params: dict[str, Tensor], mode: str, hidden_size: int,
                        unit_forget_bias: bool = True) -> None:
    """Keras's defaults: glorot_uniform kernel, orthogonal recurrent kernel,
    zero bias, and forget bias 1 for the LSTM (unit_forget_bias)."""
    with torch.no_grad():
        for name, p in params.items():
            if name in ("weight_ih", "weight_hr"):
                # Keras kernel is (I, G*H): fan_in = I, fan_out = G*H, the same as torch's transpose.
                fan_out, fan_in = p.shape
                limit = math.sqrt(6.0 / (fan_in + fan_out))
                p.uniform_(-limit, limit)
            elif name == "weight_hh":
                w = torch.empty(p.shape[1], p.shape[0], dtype=p.dtype)  # Keras's (H, G*H)
                nn.init.orthogonal_(w)
                p.copy_(w.t())
            elif name in ("ln_ih", "ln_hh", "ln_c_weight"):
                p.fill_(1.0)
            else:
                p.zero_()
    if mode == "lstm" and unit_forget_bias and "bias_ih" in params:
        forget_bias_(params, hidden_size, 1.0)
