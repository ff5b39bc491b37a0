"""Keras 3's optimizer update rules as ``torch.optim.Optimizer`` subclasses.

torch's own Adam, RMSprop and Adagrad put epsilon in other places than Keras
(torch: ``sqrt(v̂) + eps``; Keras Adam: ``sqrt(v) + eps`` with the bias
correction folded into the step size, Keras RMSprop/Adagrad: ``sqrt(v + eps)``).
With Keras's eps = 1e-7 and small gradients, RMSprop's first steps differ by
tens of percent, so rnnkit runs Keras's rules (``keras/src/optimizers/*.py``)
to give Keras's numbers. For every parameter p with gradient g, one step is

    1. clip g (Keras order: clipnorm per tensor, else global_clipnorm, else clipvalue):
         g <- g * c / max(||g||, c)            clipnorm / global_clipnorm
         g <- clamp(g, -c, c)                  clipvalue
    2. decoupled weight decay:  p <- p - p * wd * lr
    3. the rule:
       SGD       m <- μ m - lr g;  p <- p + m            (nesterov: p <- p + μ m - lr g)
       Adam      t += 1;  m <- m + (g - m)(1 - β1);  v <- v + (g² - v)(1 - β2)
                 (amsgrad: v̂ <- max(v̂, v), used for v);
                 p <- p - lr sqrt(1 - β2^t) / (1 - β1^t) · m / (sqrt(v) + ε)
       RMSprop   v <- ρ v + (1 - ρ) g²;  (centered: a <- ρ a + (1 - ρ) g, v - a² below)
                 Δ = lr g / sqrt(v + ε);  momentum: m <- μ m + Δ, p <- p - m; else p <- p - Δ
       Adagrad   s <- s + g²  (s starts at initial_accumulator_value);  p <- p - lr g / sqrt(s + ε)

State lives in ``self.state[p]`` as tensors, so ``state_dict()`` /
``load_state_dict()`` work as for any torch optimizer.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor

__all__ = ["KerasSGD", "KerasAdam", "KerasRMSprop", "KerasAdagrad"]


def _clip(grads: list[Tensor], group: dict) -> list[Tensor]:
    c = group.get("clipnorm")
    if c:
        out = []
        for g in grads:
            n = torch.linalg.vector_norm(g)
            out.append(g * c / torch.clamp(n, min=c))
        return out
    c = group.get("global_clipnorm")
    if c:
        total = torch.sqrt(sum(torch.sum(g * g) for g in grads)) if grads else torch.tensor(0.0)
        scale = c / torch.clamp(total, min=c)
        return [g * scale for g in grads]
    c = group.get("clipvalue")
    if c:
        return [torch.clamp(g, -c, c) for g in grads]
    return grads


class _KerasRule(torch.optim.Optimizer):
    def __init__(self, params, lr: float, weight_decay: Optional[float], clipnorm: Optional[float],
                 clipvalue: Optional[float], global_clipnorm: Optional[float], **rule) -> None:
        defaults = dict(lr=lr, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                        global_clipnorm=global_clipnorm, **rule)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, g: Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            grads = _clip([p.grad for p in params], group)
            lr, wd = group["lr"], group["weight_decay"]
            for p, g in zip(params, grads):
                if wd:
                    p.mul_(1.0 - wd * lr)
                self._update(p, g.to(p.dtype), self.state[p], group)
        return loss


class KerasSGD(_KerasRule):
    def __init__(self, params, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None) -> None:
        super().__init__(params, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         momentum=momentum, nesterov=nesterov)

    def _update(self, p, g, state, group):
        lr, mu = group["lr"], group["momentum"]
        if not mu:
            p.add_(g, alpha=-lr)
            return
        if "momentum" not in state:
            state["momentum"] = torch.zeros_like(p)
        m = state["momentum"]
        m.mul_(mu).add_(g, alpha=-lr)
        if group["nesterov"]:
            p.add_(g, alpha=-lr).add_(m, alpha=mu)
        else:
            p.add_(m)


class KerasAdam(_KerasRule):
    def __init__(self, params, lr: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None) -> None:
        super().__init__(params, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad)

    def _update(self, p, g, state, group):
        if "step" not in state:
            state["step"] = torch.zeros((), dtype=torch.float64)
            state["m"] = torch.zeros_like(p)
            state["v"] = torch.zeros_like(p)
            if group["amsgrad"]:
                state["v_hat"] = torch.zeros_like(p)
        state["step"] += 1
        t = float(state["step"])
        b1, b2 = group["beta_1"], group["beta_2"]
        alpha = group["lr"] * math.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
        m, v = state["m"], state["v"]
        m.add_((g - m) * (1.0 - b1))
        v.add_((g * g - v) * (1.0 - b2))
        if group["amsgrad"]:
            torch.maximum(state["v_hat"], v, out=state["v_hat"])
            v = state["v_hat"]
        p.sub_(m * alpha / (torch.sqrt(v) + group["epsilon"]))


class KerasRMSprop(_KerasRule):
    def __init__(self, params, lr: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None) -> None:
        super().__init__(params, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         rho=rho, momentum=momentum, epsilon=epsilon, centered=centered)

    def _update(self, p, g, state, group):
        rho = group["rho"]
        if "velocity" not in state:
            state["velocity"] = torch.zeros_like(p)
            if group["centered"]:
                state["average_gradient"] = torch.zeros_like(p)
            if group["momentum"]:
                state["momentum"] = torch.zeros_like(p)
        v = state["velocity"]
        v.mul_(rho).add_(g * g, alpha=1.0 - rho)
        if group["centered"]:
            a = state["average_gradient"]
            a.mul_(rho).add_(g, alpha=1.0 - rho)
            denominator = v - a * a + group["epsilon"]
        else:
            denominator = v + group["epsilon"]
        increment = group["lr"] * g / torch.sqrt(denominator)
        if group["momentum"]:
            m = state["momentum"]
            m.mul_(group["momentum"]).add_(increment)
            p.sub_(m)
        else:
            p.sub_(increment)


class KerasAdagrad(_KerasRule):
    def __init__(self, params, lr: float = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None) -> None:
        super().__init__(params, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         initial_accumulator_value=initial_accumulator_value, epsilon=epsilon)

    def _update(self, p, g, state, group):
        if "accumulator" not in state:
            state["accumulator"] = torch.full_like(p, group["initial_accumulator_value"])
        s = state["accumulator"]
        s.add_(g * g)
        p.sub_(group["lr"] * g / torch.sqrt(s + group["epsilon"]))
