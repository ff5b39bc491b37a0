"""Online inference, one time step at a time, for the recurrent layers."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from rnnkit.kernels import registry


class StepMixin:
    """``step()`` for :class:`rnnkit.layers.recurrent.RecurrentLayer`; it uses the
    layer's spec, weights, units and backend."""

    def step(self, x_t, states=None):
        """One time step of online inference: x_t (B, I); ``states`` [h] or [h, c]
        (each (B, u)), zeros when None. Returns (output_t (B, u), new_states list).

        Stepping through a sequence gives the layer's ``return_sequences=True``
        output, one step at a time. It runs the inference computation (no dropout
        is drawn; zoneout mixes by its expectation, as in eval) through
        :func:`rnnkit.kernels.registry.step`, and never reads or writes a stateful
        layer's carried states. Under ``torch.no_grad()`` a plain cell is one
        native call; with autograd on, gradients flow as through ``forward``.
        """
        if isinstance(x_t, np.ndarray):
            x_t = torch.as_tensor(x_t)
        if not isinstance(x_t, Tensor):
            raise TypeError(f"`x_t` must be a torch.Tensor or numpy array, got {type(x_t).__name__}")
        if x_t.dim() != 2:
            raise ValueError(f"`x_t` must be 2-D (batch, features), one time step, got {x_t.dim()}-D "
                             f"with shape {tuple(x_t.shape)}")
        if not x_t.is_floating_point():
            raise TypeError(f"`x_t` must hold floating values, got dtype {x_t.dtype}")
        if not self.built:
            self.maybe_build((None, x_t.shape[-1]))
            if x_t.device != torch.device("cpu"):
                self.to(x_t.device)
        if x_t.shape[-1] != self.input_size:
            raise ValueError(f"`x_t` has {x_t.shape[-1]} features but the layer was built "
                             f"for {self.input_size}")
        x_t = x_t.to(self.weight_ih.dtype)
        B = x_t.shape[0]
        if states is None:
            state = tuple(x_t.new_zeros(B, self.units) for _ in range(self._n_states))
        else:
            state = self._given_states(states, x_t, "states")
        if self.backend not in registry.step_backend_names():
            raise ValueError(f"backend={self.backend!r} has no single-step kernel; `step` runs "
                             f"with one of {registry.step_backend_names()}")
        new, self.last_choice = registry.step(self.spec, self.cell_weights(), x_t, state,
                                              backend=self.backend)
        return new[0], list(new)
