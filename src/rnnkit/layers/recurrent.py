"""What SimpleRNN, LSTM and GRU share: Keras 3's RNN layer semantics on top of
rnnkit's kernel registry.

Inputs are batch-first (B, T, I), masks (B, T) bool with True = valid step.
The layer builds a :class:`~rnnkit.kernels.spec.RecurrentSpec` and calls
:func:`rnnkit.kernels.registry.run` on time-first tensors; the parameters
live in torch's layout (:mod:`rnnkit.layers.keras_layout` converts them to
and from Keras's arrays in get_weights/set_weights).

Keras semantics kept here (keras/src/layers/rnn/rnn.py, backend/torch/rnn.py):

- a masked step leaves the state unchanged, and its output repeats the
  previous step's output (zeros before the first valid step), unless
  ``zero_output_for_mask=True``, where masked outputs are zeros;
- the last output is the output of the last step processed, so with a mask
  it is the output at each sample's last valid step;
- ``go_backwards``: the sequence is processed last step first and the
  returned sequence is in that processing order (reversed);
- ``return_state``: ``(output, h)``, or ``(output, h, c)`` for the LSTM;
- ``stateful``: the final state (detached) is the next call's initial state,
  until ``reset_states()``.
"""
from __future__ import annotations

import functools
from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.cells.base import GATES, param_shapes
from rnnkit.cells.family import family
from rnnkit.kernels import chunked, precision, registry
from rnnkit.kernels.spec import RecurrentSpec
from rnnkit.layers.activations import get_activation
from rnnkit.layers.base import Layer, check_mask_values, check_rate, check_units
from rnnkit.layers.initializers import get_initializer
from rnnkit.layers.keras_layout import from_keras, to_keras
from rnnkit.layers.recurrent_step import StepMixin


def _zoneout_pair(zoneout, mode: str) -> tuple[float, float]:
    if isinstance(zoneout, (tuple, list)):
        if mode != "lstm" or len(zoneout) != 2:
            raise ValueError("Received an invalid value for argument `zoneout`, expected a float "
                             f"in [0, 1){' or a pair (z_h, z_c)' if mode == 'lstm' else ''}, "
                             f"got {zoneout!r}")
        return check_rate(zoneout[0], "zoneout"), check_rate(zoneout[1], "zoneout")
    z = check_rate(zoneout, "zoneout")
    return z, (z if mode == "lstm" else 0.0)


def carry_forward(out: Tensor, mask: Tensor) -> Tensor:
    """Keras's masked outputs: each masked step repeats the last valid output
    before it, zeros before the first. out (T, B, u) with zeros at masked steps,
    mask (T, B), both in processing order."""
    T = out.shape[0]
    steps = torch.arange(T, device=out.device).unsqueeze(1).expand_as(mask)  # (T, B)
    last = torch.where(mask, steps, torch.full_like(steps, -1)).cummax(0).values  # (T, B)
    src = out.gather(0, last.clamp(min=0).unsqueeze(-1).expand_as(out))  # (T, B, u)
    return torch.where((last >= 0).unsqueeze(-1), src, torch.zeros((), dtype=out.dtype,
                                                                   device=out.device))


class RecurrentLayer(StepMixin, Layer):
    """Base of the Keras-style recurrent layers; subclasses set ``mode``."""

    mode = ""
    _config_keys: tuple[str, ...] = ()
    # Keras's kernel (I, G*u) is weight_ih transposed; constraints see Keras's layout.
    _weight_roles = {"kernel": (("weight_ih",), True), "recurrent": (("weight_hh",), True),
                     "bias": (("bias_ih", "bias_hh"), False)}

    def __init__(self, units: int, *, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias: bool = False, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: Optional[int] = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, reset_after: bool = True,
                 layer_norm: bool = False, peephole: bool = False, zoneout=0.0,
                 backend: str = "auto", checkpoint_every: Optional[int] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # time steps per gradient-checkpointed chunk (rnnkit.kernels.chunked); None: no chunks
        self.checkpoint_every = chunked.check_checkpoint_every(checkpoint_every)
        self.units = check_units(units, "units")
        # The spec gets the resolved functions (torch.tanh is torch.tanh, so the
        # registry still recognises the fused kernels' defaults); configs get the names.
        self.activation, self._act = get_activation(activation, "activation")
        self.recurrent_activation, self._ract = get_activation(recurrent_activation,
                                                               "recurrent_activation")
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.recurrent_initializer, self.bias_initializer = (
            kernel_initializer, recurrent_initializer, bias_initializer)
        for arg in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
            get_initializer(getattr(self, arg), arg)  # fail now, not at build time
        self.unit_forget_bias = bool(unit_forget_bias)
        self.dropout = check_rate(dropout, "dropout")
        self.recurrent_dropout = check_rate(recurrent_dropout, "recurrent_dropout")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"Received an invalid value for argument `seed`, expected an integer "
                            f"or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self._generator: Optional[torch.Generator] = None  # made on the input's device
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful = bool(go_backwards), bool(stateful)
        self.unroll = bool(unroll)  # accepted for Keras code; the kernel registry decides how to loop
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.reset_after, self.layer_norm, self.peephole = (
            bool(reset_after), bool(layer_norm), bool(peephole))
        self._zoneout = _zoneout_pair(zoneout, self.mode)
        self.zoneout = list(self._zoneout) if isinstance(zoneout, (tuple, list)) else self._zoneout[0]
        if backend not in registry.backend_names():
            raise ValueError(f"Received an invalid value for argument `backend`, expected one of "
                             f"{registry.backend_names()}, got {backend!r}")
        self.backend = backend
        self.input_size: Optional[int] = None
        self.spec: Optional[RecurrentSpec] = None
        self.last_choice: Optional[registry.Choice] = None
        self._states: Optional[tuple[Tensor, ...]] = None

    # --- building ---------------------------------------------------------------------
    @property
    def _n_states(self) -> int:
        return family(self.mode).n_states

    @property
    def _bias_hh(self) -> bool:
        # Keras has one bias, except GRU(reset_after=True)'s (2, 3u) input + recurrent pair.
        return self.mode == "gru" and self.reset_after

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) != 2:
            raise ValueError(f"{type(self).__name__} expects inputs of shape (batch, timesteps, "
                             f"features); got input_shape {tuple(input_shape)} without the batch axis")
        I = input_shape[-1]
        if I is None:
            raise ValueError(f"{type(self).__name__} needs a known number of features per step, "
                             f"got input_shape {tuple(input_shape)}")
        self.input_size = check_units(I, "input_shape[-1]")
        self.spec = RecurrentSpec(
            mode=self.mode, input_size=self.input_size, hidden_size=self.units,
            bias=self.use_bias, bias_hh=self._bias_hh, activation=self._act,
            recurrent_activation=self._ract, layer_norm=self.layer_norm, peephole=self.peephole,
            reset_after=self.reset_after, input_dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout, zoneout_h=self._zoneout[0],
            zoneout_c=self._zoneout[1], go_backwards=self.go_backwards)
        self._shapes = param_shapes(self.mode, self.input_size, self.units, bias=self.use_bias,
                                    bias_hh=self._bias_hh, layer_norm=self.layer_norm,
                                    peephole=self.peephole)
        for name, shape in self._shapes.items():
            self.register_parameter(name, nn.Parameter(torch.empty(shape)))
        self.built = True
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Keras's initialisation, drawn in Keras's layout (so fans and orthogonal
        rows are Keras's) and stored in torch's."""
        G, u, I = family(self.mode).n_gates, self.units, self.input_size
        arrays = [get_initializer(self.kernel_initializer, "kernel_initializer")((I, G * u)),
                  get_initializer(self.recurrent_initializer, "recurrent_initializer")((u, G * u))]
        if self.use_bias:
            b_init = get_initializer(self.bias_initializer, "bias_initializer")
            if self._bias_hh:
                arrays.append(b_init((2, G * u)))
            elif self.mode == "lstm" and self.unit_forget_bias:
                # Keras's LSTM: [init(u), ones(u), init(2u)], forget bias 1 (Jozefowicz et al. 2015).
                arrays.append(torch.cat([b_init((u,)), torch.ones(u), b_init((2 * u,))]))
            else:
                arrays.append(b_init((G * u,)))
        if self.peephole:
            # tf.keras's PeepholeLSTMCell draws its peephole weights with the kernel initialiser.
            k_init = get_initializer(self.kernel_initializer, "kernel_initializer")
            arrays += [k_init((u,)) for _ in range(3)]
        if self.layer_norm:
            arrays += [torch.ones(G * u), torch.ones(G * u)]
            if self.mode == "lstm":
                arrays += [torch.ones(u), torch.zeros(u)]
        self._load_keras(arrays)

    def compute_output_shape(self, input_shape: tuple):
        out = (input_shape[0], self.units) if self.return_sequences else (self.units,)
        if self.return_state:
            return (out,) + tuple((self.units,) for _ in range(self._n_states))
        return out

    def compute_mask(self, x, mask: Optional[Tensor]):
        out_mask = mask if self.return_sequences else None
        if self.return_state:
            return [out_mask] + [None] * self._n_states
        return out_mask

    # --- running ----------------------------------------------------------------------
    def _check_input(self, x) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"`x` must be a torch.Tensor or numpy array, got {type(x).__name__}")
        if x.dim() != 3:
            raise ValueError(f"`x` must be 3-D (batch, timesteps, features), got {x.dim()}-D "
                             f"with shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"`x` must hold floating values, got dtype {x.dtype}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"`x` has {x.shape[-1]} features per step but the layer was built "
                             f"for {self.input_size}")
        return x.to(self.weight_ih.dtype)  # Keras casts inputs to the layer's dtype

    def _check_mask(self, mask, B: int, T: int, device) -> Optional[Tensor]:
        if mask is None:
            return None
        mask = check_mask_values(torch.as_tensor(mask, device=device))
        if tuple(mask.shape) != (B, T):
            raise ValueError(f"`mask` must have shape (batch, timesteps) = {(B, T)}, "
                             f"got {tuple(mask.shape)}")
        return mask

    def _initial_state(self, initial_state, x: Tensor, owner=None) -> tuple[Tensor, ...]:
        owner = self if owner is None else owner  # the layer whose flags and states count
        B = x.shape[0]
        if initial_state is None:
            if owner.stateful and owner._states is not None:
                if owner._states[0].shape[0] != B:
                    raise ValueError(f"stateful layer {owner.name!r} carries state for batch "
                                     f"size {owner._states[0].shape[0]} but `x` has batch size "
                                     f"{B}; call reset_states() between streams of different "
                                     "sizes")
                return owner._states
            return tuple(x.new_zeros(B, self.units) for _ in range(self._n_states))
        return self._given_states(initial_state, x, "initial_state")

    def _given_states(self, states, x: Tensor, arg: str) -> tuple[Tensor, ...]:
        """User-given states ([h] or [h, c], each (B, units)) checked against x's batch."""
        B = x.shape[0]
        parts = list(states) if isinstance(states, (list, tuple)) else [states]
        if len(parts) != self._n_states:
            want = "[h, c]" if self._n_states == 2 else "[h]"
            raise ValueError(f"`{arg}` for {type(self).__name__} must be {want}, "
                             f"got {len(parts)} tensor(s)")
        out = []
        for k, s in enumerate(parts):
            s = torch.as_tensor(s, device=x.device)
            if tuple(s.shape) != (B, self.units):
                raise ValueError(f"`{arg}`[{k}] must have shape (batch, units) = "
                                 f"{(B, self.units)}, got {tuple(s.shape)}")
            out.append(s.to(x.dtype))
        return tuple(out)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None, initial_state=None,
                training: Optional[bool] = None):
        """x (B, T, I); mask (B, T) bool; initial_state [h] or [h, c], each (B, u).

        Returns (B, T, u) with return_sequences, else (B, u); with return_state
        a tuple (output, h) or (output, h, c)."""
        return self._sequence(self, self.spec, x, mask, initial_state, training)

    def _sequence(self, owner, spec: RecurrentSpec, x: Tensor, mask, initial_state, training):
        """The whole sequence through the registry with this layer's weights and
        ``owner``'s flags (return_sequences, return_state, stateful, ...): the
        layer itself, or an ``RNN`` wrapping this layer as its cell."""
        x = self._check_input(x)
        B, T, _ = x.shape
        m = self._check_mask(mask, B, T, x.device)
        hx = tuple(s.unsqueeze(0) for s in self._initial_state(initial_state, x, owner))  # (1, B, u)
        training = self.training if training is None else bool(training)
        m_tf = None if m is None else m.t()  # (T, B)
        runner = registry.run if self.checkpoint_every is None else \
            functools.partial(chunked.run, self.checkpoint_every)
        runner = precision.float32_recurrence(runner)  # float32 state under autocast
        out, state, owner.last_choice = runner(
            spec, [self.cell_weights()], x.transpose(0, 1), hx, m_tf, training=training,
            backend=self.backend, generator=self._dropout_generator(x.device))
        # out (T, B, u) in processing order
        state = tuple(s[0] for s in state)  # each (B, u)
        if owner.stateful:
            # Truncated BPTT: carry the values, not the graph, into the next batch.
            owner._states = tuple(s.detach() for s in state)
        if m_tf is not None and not owner.zero_output_for_mask:
            out = carry_forward(out, m_tf.flip(0) if spec.go_backwards else m_tf)
        output = out.transpose(0, 1) if owner.return_sequences else out[-1]
        return (output, *state) if owner.return_state else output

    def _dropout_generator(self, device: torch.device) -> Optional[torch.Generator]:
        """The seeded generator of the dropout masks, on the device they are drawn on."""
        if self.seed is None:
            return None
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device).manual_seed(self.seed)
        return self._generator

    def cell_weights(self) -> dict[str, Tensor]:
        """The parameters by the kernels' names (torch's layout)."""
        return {name: getattr(self, name) for name in self._shapes}

    def kernel_report(self) -> str:
        """Which kernel the last call ran, and why faster ones didn't."""
        return "no call yet" if self.last_choice is None else str(self.last_choice)

    @property
    def states(self) -> Optional[list[Tensor]]:
        """The carried state of a stateful layer ([h] or [h, c]), None before a call."""
        return None if self._states is None else list(self._states)

    def reset_states(self, states: Optional[Sequence] = None) -> None:
        """Stateful use: start the next call from zeros, or from ``states``
        ([h] or [h, c], each (B, u)). A no-op for a layer that isn't stateful,
        as Keras's (models reset every layer)."""
        if not self.stateful:
            return
        if states is None:
            self._states = None
            return
        if not self.built:
            raise ValueError(f"layer {self.name!r} isn't built yet; call it once before "
                             "setting its states")
        parts = list(states) if isinstance(states, (list, tuple)) else [states]
        like = self.weight_ih
        ref = like.new_zeros(torch.as_tensor(parts[0]).shape[0], 1)  # (B, 1): batch size, dtype
        self._states = self._initial_state(parts, ref)

    reset_state = reset_states  # Keras 3's name

    # --- Keras weights and config -----------------------------------------------------
    def _layout_kwargs(self) -> dict:
        return dict(use_bias=self.use_bias, layer_norm=self.layer_norm, peephole=self.peephole)

    def get_weights(self) -> list[np.ndarray]:
        if not self.built:
            return []
        return [t.cpu().numpy().copy() for t in to_keras(self.mode, self.cell_weights(),
                                                         **self._layout_kwargs())]

    def _load_keras(self, arrays: Sequence) -> None:
        params = from_keras(self.mode, arrays, self._shapes, layer=self.name,
                            **self._layout_kwargs())
        with torch.no_grad():
            for name, t in params.items():
                p = getattr(self, name)
                p.copy_(t.to(dtype=p.dtype, device=p.device))

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Keras's arrays, in Keras's order (see :mod:`rnnkit.layers.keras_layout`)."""
        self._check_built_for("set_weights")
        self._load_keras(weights)

    def get_config(self) -> dict:
        cfg = super().get_config()
        # activation names are the resolved ones, so a callable such as torch.tanh serialises.
        cfg.update({key: getattr(self, key) for key in self._config_keys})
        if self.checkpoint_every is not None:  # rnnkit's own option: absent from Keras's configs
            cfg["checkpoint_every"] = self.checkpoint_every
        return cfg

    def extra_repr(self) -> str:
        s = f"{self.units}"
        for key in ("return_sequences", "return_state", "go_backwards", "stateful"):
            if getattr(self, key):
                s += f", {key}=True"
        return s
