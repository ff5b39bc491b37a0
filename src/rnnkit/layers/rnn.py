"""Keras 3's generic ``RNN(cell)`` layer.

Two ways to run, chosen by the cell, and named by ``kernel_report()``:

- built-in cells (SimpleRNNCell, LSTMCell, GRUCell, or a list of them): the
  cell's spec goes to the kernel registry, exactly as the matching layer's,
  so ``RNN(LSTMCell(n))`` and ``LSTM(n)`` run the same fused kernel and, with
  the same weights, compute the same numbers;
- any other cell (a Layer with ``state_size`` and ``call(inputs, states)`` →
  ``(output, new_states)``): a plain time loop in Python, the reference loop,
  with Keras's mask semantics (a masked step keeps the states; its output
  repeats the previous one, or is zero with ``zero_output_for_mask``).

``go_backwards`` processes the last step first and returns the sequence in
that order, as Keras. A list of cells is stacked (:class:`StackedRNNCells`).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from rnnkit.layers.base import Layer, layer_from_config, register_layer
from rnnkit.layers.node import _accepts, flatten
from rnnkit.layers.rnn_cells import BUILTIN_CELLS, StackedRNNCells, state_sizes

__all__ = ["RNN"]


class _Flags:
    """The flags one built-in cell runs under inside a stack."""

    def __init__(self, name, return_sequences, stateful, zero_output_for_mask, states) -> None:
        self.name, self.return_sequences, self.return_state = name, return_sequences, True
        self.stateful, self.zero_output_for_mask = stateful, zero_output_for_mask
        self._states, self.last_choice = states, None


@register_layer
class RNN(Layer):
    """Run a cell over the time axis.

    Args:
        cell: a cell, or a list of cells (stacked).
        return_sequences: return (B, T, out) instead of the last output (default False).
        return_state: also return the final states, flat (default False).
        go_backwards: process the sequence backwards, return it reversed (default False).
        stateful: carry the final states into the next call (default False).
        unroll: accepted for Keras code; has no effect (default False).
        zero_output_for_mask: masked steps output zeros (default False).

    Call: ``(x, mask=None, initial_state=None, training=None)``, x (B, T, I).

    Example::

        >>> RNN(LSTMCell(4), return_sequences=True)(torch.zeros(2, 5, 3)).shape
        torch.Size([2, 5, 4])
    """

    def __init__(self, cell, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(list(cell))
        if not isinstance(cell, Layer) or not hasattr(cell, "state_size"):
            raise TypeError("Received an invalid value for argument `cell`, expected a cell (a "
                            "Layer with `state_size` and call(inputs, states)) or a list of "
                            f"cells, got {type(cell).__name__}")
        self.cell = cell
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful = bool(go_backwards), bool(stateful)
        self.unroll, self.zero_output_for_mask = bool(unroll), bool(zero_output_for_mask)
        self._states: Optional[tuple] = None
        self.last_choice = None
        cells = list(cell.cells) if isinstance(cell, StackedRNNCells) else [cell]
        self._fused = all(isinstance(c, BUILTIN_CELLS) for c in cells)
        self._cells = cells

    @property
    def state_size(self):
        return self.cell.state_size

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) != 2:
            raise ValueError(f"RNN expects inputs of shape (batch, timesteps, features); got "
                             f"input_shape {tuple(input_shape)} without the batch axis")
        self.cell.maybe_build((input_shape[-1],))
        self.built = True

    def _n_states(self) -> int:
        return len(state_sizes(self.cell))

    def compute_output_shape(self, input_shape: tuple):
        """(T, out) or (out,) without the batch axis, then the states' shapes with
        ``return_state``; ``out`` is the cell's ``output_size``, else its first state
        size (Keras's rule for custom cells)."""
        out_size = int(getattr(self.cell, "output_size", state_sizes(self.cell)[0]))
        out = (input_shape[0], out_size) if self.return_sequences else (out_size,)
        if self.return_state:
            return (out,) + tuple((int(n),) for n in state_sizes(self.cell))
        return out

    # --- running ----------------------------------------------------------------------
    def forward(self, x: Tensor, mask: Optional[Tensor] = None, initial_state=None,
                training: Optional[bool] = None):
        if not isinstance(x, Tensor) or x.dim() != 3:
            raise ValueError(f"`x` must be 3-D (batch, timesteps, features), got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        if initial_state is not None:  # flat, or one list per stacked cell (Keras)
            initial_state = flatten(initial_state) if isinstance(initial_state, (list, tuple)) \
                else [initial_state]
            if len(initial_state) != self._n_states():
                raise ValueError(f"`initial_state` for layer {self.name!r} must hold "
                                 f"{self._n_states()} tensors (the cell's state_size "
                                 f"{self.cell.state_size}), got {len(initial_state)}")
        run = self._run_fused if self._fused else self._run_loop
        out = run(x, mask, initial_state, training)
        if self.return_state and isinstance(self.cell, StackedRNNCells):
            # Keras returns the states per cell: (output, [h1, c1], [h2], ...)
            flat, groups, k = list(out[1:]), [], 0
            for c in self._cells:
                n = len(state_sizes(c))
                groups.append(flat[k:k + n])
                k += n
            return (out[0], *groups)
        return out

    def _run_fused(self, x, mask, initial_state, training):
        if len(self._cells) == 1:
            cell = self._cells[0]
            spec = cell.spec if cell.spec.go_backwards == self.go_backwards else \
                dataclasses.replace(cell.spec, go_backwards=self.go_backwards)
            return cell._sequence(self, spec, x, mask, initial_state, training)
        # A stack: each cell over the whole sequence in turn, in processing order.
        out, states, k = x, [], 0
        carried = list(self._states) if self.stateful and self._states is not None else None
        for i, cell in enumerate(self._cells):
            n, last = cell._n_states, i == len(self._cells) - 1
            first_state = None if initial_state is None else initial_state[k:k + n]
            flags = _Flags(self.name, True if not last else self.return_sequences,
                           self.stateful, self.zero_output_for_mask,
                           None if carried is None else tuple(carried[k:k + n]))
            backwards = self.go_backwards and i == 0
            spec = dataclasses.replace(cell.spec, go_backwards=backwards)
            m = mask if (i == 0 or mask is None or not self.go_backwards) else \
                torch.as_tensor(mask).flip(1)
            res = cell._sequence(flags, spec, out, m, first_state, training)
            out, new = res[0], list(res[1:])
            states += new
            self.last_choice = flags.last_choice
            k += n
        if self.stateful:
            self._states = tuple(s.detach() for s in states)
        return (out, *states) if self.return_state else out

    def _initial_states(self, x: Tensor, initial_state) -> list[Tensor]:
        B = x.shape[0]
        if initial_state is not None:
            return [torch.as_tensor(s, device=x.device).to(x.dtype) for s in initial_state]
        if self.stateful and self._states is not None:
            return list(self._states)
        getter = getattr(self.cell, "get_initial_state", None)
        if getter is not None:
            states = getter(batch_size=B)
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            return [torch.as_tensor(s).to(device=x.device, dtype=x.dtype) for s in states]
        return [x.new_zeros(B, s) for s in state_sizes(self.cell)]

    def _run_loop(self, x, mask, initial_state, training):
        """The reference loop: one cell call per step (keras/src/layers/rnn/rnn.py)."""
        B, T, _ = x.shape
        states = self._initial_states(x, initial_state)
        m = None
        if mask is not None:
            m = torch.as_tensor(mask, device=x.device).bool()
            if tuple(m.shape) != (B, T):
                raise ValueError(f"`mask` must have shape (batch, timesteps) = {(B, T)}, got "
                                 f"{tuple(m.shape)}")
        kwargs = {"training": training} if training is not None and \
            _accepts(self.cell, "training") else {}
        steps = range(T - 1, -1, -1) if self.go_backwards else range(T)
        outs, prev = [], None
        for t in steps:
            out_t, new = self.cell(x[:, t], states, **kwargs)
            new = list(new) if isinstance(new, (list, tuple)) else [new]
            if m is not None:
                keep = m[:, t].unsqueeze(-1)  # (B, 1)
                new = [torch.where(keep, n, s) for n, s in zip(new, states)]
                if prev is None:
                    prev = torch.zeros_like(out_t)
                out_t = torch.where(keep, out_t, torch.zeros_like(out_t)
                                    if self.zero_output_for_mask else prev)
            states, prev = new, out_t
            outs.append(out_t)
        if self.stateful:
            self._states = tuple(s.detach() for s in states)
        output = torch.stack(outs, dim=1) if self.return_sequences else outs[-1]
        return (output, *states) if self.return_state else output

    def kernel_report(self) -> str:
        """Which kernel the last call ran, and why."""
        if not self._fused:
            return (f"kernel: reference loop (RNN's Python time loop over the custom cell "
                    f"{type(self.cell).__name__}); the kernel registry runs only the built-in "
                    "cells SimpleRNNCell, LSTMCell and GRUCell")
        return "no call yet" if self.last_choice is None else str(self.last_choice)

    # --- Keras API --------------------------------------------------------------------
    def compute_mask(self, x, mask: Optional[Tensor]):
        out_mask = mask if self.return_sequences else None
        if self.return_state:
            return [out_mask] + [None] * self._n_states()
        return out_mask

    @property
    def states(self) -> Optional[list[Tensor]]:
        return None if self._states is None else list(self._states)

    def reset_states(self, states: Optional[Sequence] = None) -> None:
        """Forget the carried states (or set them); a no-op unless stateful."""
        if not self.stateful:
            return
        self._states = None if states is None else tuple(
            s if isinstance(s, Tensor) else torch.as_tensor(np.asarray(s)) for s in states)

    reset_state = reset_states

    def get_weights(self) -> list[np.ndarray]:
        return self.cell.get_weights()

    def set_weights(self, weights) -> None:
        self._check_built_for("set_weights")
        self.cell.set_weights(weights)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(cell={"class_name": type(self.cell).__name__, "config": self.cell.get_config()},
                   return_sequences=self.return_sequences, return_state=self.return_state,
                   go_backwards=self.go_backwards, stateful=self.stateful, unroll=self.unroll,
                   zero_output_for_mask=self.zero_output_for_mask)
        return cfg

    @classmethod
    def from_config(cls, config: dict) -> "RNN":
        config = dict(config)
        config["cell"] = layer_from_config(config["cell"])
        return cls(**config)
