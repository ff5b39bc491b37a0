"""Mixed precision, as Keras names it: ``set_global_policy("mixed_bfloat16")``.

Policies (Keras 3's names; ``keras.mixed_precision.set_global_policy``):

============== ================ =============== =================================
policy          compute dtype    weights         loss scale
============== ================ =============== =================================
"float32"       float32          float32         none (the default)
"mixed_bfloat16" bfloat16        float32         none (bfloat16 has float32's range)
"mixed_float16" float16          float32         dynamic (torch.amp.GradScaler)
============== ================ =============== =================================

Under a mixed policy ``fit`` (and ``evaluate``, and validation) run the model
under ``torch.autocast``: matmuls of Dense layers and the like run in the
compute dtype, the weights and the optimizer's state stay float32, the loss is
computed in float32 from the outputs cast up, and the recurrent kernels
compute and accumulate in float32 (:mod:`rnnkit.kernels.precision`; their
kernel report says so). float16 gradients are scaled (Micikevicius et al. 2018,
"Mixed Precision Training") so small ones don't flush to zero; a step whose
scaled gradients overflow is skipped and the scale halves. ``predict`` keeps
float32.
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from typing import Iterator, Optional

import torch

__all__ = ["Policy", "set_global_policy", "global_policy", "TrainingPrecision"]

_DTYPES = {"float32": torch.float32, "mixed_bfloat16": torch.bfloat16,
           "mixed_float16": torch.float16}


class Policy:
    """A named precision policy: ``compute_dtype`` and ``variable_dtype`` (always float32)."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"`policy` must be a policy name (str) or a Policy, got "
                            f"{type(name).__name__} {name!r}")
        if name not in _DTYPES:
            raise ValueError(f"`policy` must be one of {sorted(_DTYPES)}, got {name!r}")
        self.name = name
        self.compute_dtype = _DTYPES[name]
        self.variable_dtype = torch.float32

    @property
    def mixed(self) -> bool:
        return self.compute_dtype != torch.float32

    def __eq__(self, other) -> bool:
        return isinstance(other, Policy) and other.name == self.name

    def __repr__(self) -> str:
        return f'<Policy "{self.name}">'


_GLOBAL = Policy("float32")


def set_global_policy(policy) -> None:
    """Set the policy ``fit`` / ``evaluate`` use from now on (a name or a Policy)."""
    global _GLOBAL
    _GLOBAL = policy if isinstance(policy, Policy) else Policy(policy)


def global_policy() -> Policy:
    return _GLOBAL


class TrainingPrecision:
    """What the training loop asks of the policy: ``autocast()`` around the forward,
    ``output()`` before the loss, ``backward(loss)`` and ``step(optimizer)``."""

    def __init__(self, device: torch.device, policy: Optional[Policy] = None) -> None:
        self.policy = policy or _GLOBAL
        self.device_type = torch.device(device).type
        self.scaler = None
        if self.policy.compute_dtype == torch.float16:
            self.scaler = torch.amp.GradScaler(self.device_type)

    @contextmanager
    def autocast(self) -> Iterator[None]:
        if not self.policy.mixed:
            with nullcontext():
                yield
            return
        with torch.autocast(self.device_type, dtype=self.policy.compute_dtype):
            yield

    def output(self, y_pred: torch.Tensor) -> torch.Tensor:
        """Outputs in float32 for the loss (float32 accumulation of the mean)."""
        if isinstance(y_pred, (list, tuple)):  # a functional model's several outputs
            return type(y_pred)(self.output(y) for y in y_pred)
        if self.policy.mixed and y_pred.is_floating_point():
            return y_pred.float()
        return y_pred

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self, optimizer) -> None:
        """``optimizer`` is rnnkit's (it drives ``optimizer.torch``) or a torch one."""
        if self.scaler is None:
            optimizer.step()
            return
        inner = getattr(optimizer, "torch", None) or optimizer
        # unscale before the step, so clipnorm (inside the torch optimizer) sees true gradients
        self.scaler.step(inner)
        self.scaler.update()
