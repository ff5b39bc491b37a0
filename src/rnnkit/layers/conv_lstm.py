"""Keras 3's ConvLSTM1D, ConvLSTM2D and ConvLSTM3D on rnnkit's conv kernels.
Equations: :mod:`rnnkit.cells.conv_lstm`.

Inputs are (B, T, *S, C) with ``data_format="channels_last"`` (Keras's default)
or (B, T, C, *S) with ``"channels_first"``; masks (B, T) bool, True = valid step, or
(B, T, *S) per pixel as a Keras Masking layer makes them (:mod:`rnnkit.layers.conv_mask`).
The Keras semantics are those of rnnkit.layers.recurrent: a masked step keeps
the state and repeats the previous output; ``go_backwards`` returns the
sequence in processing order; ``return_state`` gives (output, h, c).
Weights: Keras's kernel (*k, C, 4F), recurrent_kernel (*k, F, 4F), bias (4F,),
gate order i, f, c, o; stored in torch's conv layout (4F, C, *k).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.cells.conv_base import (DATA_FORMATS, PADDINGS, as_tuple, check_choice,
                                    conv_out_size, conv_param_shapes)
from rnnkit.kernels import registry
from rnnkit.kernels.conv_spec import ConvSpec
from rnnkit.layers.activations import get_activation
from rnnkit.layers.base import Layer, check_rate, check_units, register_layer
from rnnkit.layers.conv_mask import run_per_pixel, split_mask
from rnnkit.layers.initializers import get_initializer
from rnnkit.layers.recurrent import carry_forward
from rnnkit.layers.spatial import channels_back, channels_first, keras_name

_KEYS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
         "activation", "recurrent_activation", "use_bias", "kernel_initializer",
         "recurrent_initializer", "bias_initializer", "unit_forget_bias", "dropout",
         "recurrent_dropout", "seed", "return_sequences", "return_state", "go_backwards",
         "stateful", "unroll", "zero_output_for_mask", "layer_norm", "peephole", "backend")


class ConvLSTM(Layer):
    """The ConvLSTM layer of spatial rank ``rank`` (1, 2 or 3). Use ConvLSTM1D/2D/3D.

    Args:
        filters: positive integer, channels of h and c (F).
        kernel_size: an int or a tuple of ``rank`` ints.
        strides: of the input convolution, int or tuple (default 1); the recurrent
            convolution has stride 1.
        padding: of the input convolution, ``"valid"`` (default, as Keras) or ``"same"``;
            the recurrent convolution is always "same", so h keeps its size.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: of the input convolution, int or tuple (default 1); not with strides > 1.
        activation: act (default ``"tanh"``). recurrent_activation: σ (default ``"sigmoid"``).
        use_bias: default True. kernel_initializer: default ``"glorot_uniform"``.
        recurrent_initializer: default ``"orthogonal"``. bias_initializer: default ``"zeros"``.
        unit_forget_bias: forget-gate bias 1 at initialisation (default True).
        dropout: rate on the inputs, one mask per sequence and gate (default 0).
        recurrent_dropout: rate on h entering the recurrent convolution (default 0).
        seed: seeds the dropout masks (default None).
        return_sequences, return_state, go_backwards, stateful: as Keras's RNN layers (False).
        unroll: accepted for Keras code and files; has no effect (default False).
        zero_output_for_mask: masked steps output zeros instead of repeating the last
            valid output, as Keras's (default False).
        kernel_regularizer, recurrent_regularizer, bias_regularizer, activity_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint: as Keras's (default None);
            constraints see the weights in Keras's layout (*k, C, 4F).
        layer_norm: rnnkit extra, layer-normalised ConvLSTM (default False).
        peephole: rnnkit extra, Shi et al. 2015's per-position peepholes (default False).
        backend: conv kernel registry backend: ``"auto"``, ``"conv-cpu"``, ``"conv"`` or ``"reference"``.
        name, input_shape, trainable: as every layer.
    """

    rank = 0
    # Regularizers and constraints by role; "conv": stored (4F, C, *k), Keras's (*k, C, 4F).
    _weight_roles = {"kernel": (("weight_ih",), "conv"), "recurrent": (("weight_hh",), "conv"),
                     "bias": (("bias_ih",), False)}

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format: Optional[str] = None, dilation_rate=1, activation="tanh",
                 recurrent_activation="sigmoid", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias: bool = True, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: Optional[int] = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, *, layer_norm: bool = False,
                 peephole: bool = False, backend: str = "auto", **kwargs: Any) -> None:
        super().__init__(**keras_name(type(self), kwargs))
        r = self.rank
        self.filters = check_units(filters, "filters")
        self.kernel_size = as_tuple(kernel_size, r, "kernel_size")
        self.strides = as_tuple(strides, r, "strides")
        self.padding = check_choice(padding, PADDINGS, "padding")
        self.data_format = check_choice(data_format or "channels_last", DATA_FORMATS,
                                        "data_format")
        self.dilation_rate = as_tuple(dilation_rate, r, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"`strides` > 1 is not compatible with `dilation_rate` > 1 (as in "
                             f"Keras), got strides={self.strides}, "
                             f"dilation_rate={self.dilation_rate}")
        self.activation, self._act = get_activation(activation, "activation")
        self.recurrent_activation, self._ract = get_activation(recurrent_activation,
                                                               "recurrent_activation")
        self.use_bias, self.unit_forget_bias = bool(use_bias), bool(unit_forget_bias)
        self.kernel_initializer, self.recurrent_initializer, self.bias_initializer = (
            kernel_initializer, recurrent_initializer, bias_initializer)
        for arg in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
            get_initializer(getattr(self, arg), arg)
        self.dropout = check_rate(dropout, "dropout")
        self.recurrent_dropout = check_rate(recurrent_dropout, "recurrent_dropout")
        self.seed = None if seed is None else int(seed)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful = bool(go_backwards), bool(stateful)
        self.unroll = bool(unroll)  # the conv kernel registry decides how to loop
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.layer_norm, self.peephole = bool(layer_norm), bool(peephole)
        if backend not in registry.conv_backend_names():
            raise ValueError(f"`backend` must be one of {registry.conv_backend_names()}, "
                             f"got {backend!r}")
        self.backend = backend
        self.spec: Optional[ConvSpec] = None
        self.last_choice: Optional[registry.Choice] = None
        self._states: Optional[tuple[Tensor, ...]] = None
        self._generator: Optional[torch.Generator] = None

    # --- building ---------------------------------------------------------------------
    def _split_shape(self, shape: tuple) -> tuple[Optional[int], tuple]:
        """(*S, C) or (C, *S) -> (C, S)."""
        if self.data_format == "channels_first":
            return shape[0], tuple(shape[1:])
        return shape[-1], tuple(shape[:-1])

    def build(self, input_shape: tuple) -> None:
        name, r = type(self).__name__, self.rank
        if len(input_shape) != r + 2:
            raise ValueError(f"{name} expects inputs of rank {r + 3} (batch, timesteps, "
                             f"{r} spatial dims, channels); got input_shape "
                             f"{tuple(input_shape)} without the batch axis")
        C, S = self._split_shape(tuple(input_shape[1:]))
        if C is None or None in S:
            raise ValueError(f"{name} needs known channels and spatial sizes (as Keras), got "
                             f"input_shape {tuple(input_shape)}")
        self.input_channels, self.input_spatial = check_units(C, "channels"), S
        spec = ConvSpec("conv_lstm", r, C, self.filters, self.kernel_size, self.strides,
                        self.padding, self.dilation_rate, bias=self.use_bias,
                        input_dropout=self.dropout, recurrent_dropout=self.recurrent_dropout,
                        activation=self._act, recurrent_activation=self._ract,
                        layer_norm=self.layer_norm, peephole=self.peephole)
        self.state_spatial = spec.out_size(S)
        if min(self.state_spatial) < 1:
            raise ValueError(f"{name}: kernel_size {self.kernel_size} with padding='valid' "
                             f"is larger than the input's spatial size {S}")
        self.spec = ConvSpec(**{**spec.__dict__, "state_size": self.state_spatial})
        self._shapes = conv_param_shapes("conv_lstm", C, self.filters, self.kernel_size,
                                         bias=self.use_bias, peephole=self.peephole,
                                         state_size=self.state_spatial,
                                         layer_norm=self.layer_norm)
        for pname, shape in self._shapes.items():
            self.register_parameter(pname, nn.Parameter(torch.empty(shape)))
        self.built = True
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Keras's initialisation, drawn in Keras's layout (so the fans are Keras's)."""
        k, C, F = self.kernel_size, self.input_channels, self.filters
        arrays = [get_initializer(self.kernel_initializer, "kernel_initializer")(k + (C, 4 * F)),
                  get_initializer(self.recurrent_initializer, "recurrent_initializer")(
                      k + (F, 4 * F))]
        if self.use_bias:
            b_init = get_initializer(self.bias_initializer, "bias_initializer")
            arrays.append(torch.cat([b_init((F,)), torch.ones(F), b_init((2 * F,))])
                          if self.unit_forget_bias else b_init((4 * F,)))
        if self.peephole:
            k_init = get_initializer(self.kernel_initializer, "kernel_initializer")
            arrays += [k_init(self._peep_keras_shape()) for _ in range(3)]
        if self.layer_norm:
            arrays += [torch.ones(4 * F), torch.ones(4 * F), torch.ones(F), torch.zeros(F)]
        self.set_weights([np.asarray(a) for a in arrays])

    def compute_output_shape(self, input_shape: tuple):
        S = tuple(conv_out_size(n, k, s, self.padding, d) for n, k, s, d in zip(
            self._split_shape(tuple(input_shape[1:]))[1], self.kernel_size, self.strides,
            self.dilation_rate))
        one = ((self.filters,) + S if self.data_format == "channels_first"
               else S + (self.filters,))
        out = (input_shape[0],) + one if self.return_sequences else one
        return (out, one, one) if self.return_state else out

    def compute_mask(self, x, mask: Optional[Tensor]):
        out_mask = mask if self.return_sequences else None
        return [out_mask, None, None] if self.return_state else out_mask

    # --- running ----------------------------------------------------------------------
    def _check_input(self, x) -> Tensor:
        r, name = self.rank, type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"`x` must be a torch.Tensor or numpy array, got {type(x).__name__}")
        if x.dim() != r + 3:
            raise ValueError(f"`x` for {name} must be {r + 3}-D (batch, timesteps, {r} spatial "
                             f"dims, channels), got {x.dim()}-D with shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"`x` must hold floating values, got dtype {x.dtype}")
        C, S = self._split_shape(tuple(x.shape[2:]))
        if C != self.input_channels:
            raise ValueError(f"`x` has {C} channels but the layer was built for "
                             f"{self.input_channels} ({self.data_format})")
        if S != self.input_spatial:
            raise ValueError(f"`x` has spatial size {S} but the layer was built for "
                             f"{self.input_spatial} (ConvLSTM weights are per size with "
                             "peepholes, and Keras fixes the size at build time)")
        return x.to(self.weight_ih.dtype)

    def _initial_state(self, initial_state, B: int, like: Tensor) -> tuple[Tensor, Tensor]:
        shape = (B, self.filters) + self.state_spatial
        if initial_state is None:
            if self.stateful and self._states is not None:
                if self._states[0].shape[0] != B:
                    raise ValueError(f"stateful layer {self.name!r} carries state for batch "
                                     f"size {self._states[0].shape[0]} but `x` has {B}; call "
                                     "reset_states() first")
                return self._states
            return like.new_zeros(shape), like.new_zeros(shape)
        parts = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(parts) != 2:
            raise ValueError(f"`initial_state` must be [h, c], got {len(parts)} tensor(s)")
        out = []
        for k, s in enumerate(parts):
            s = channels_first(torch.as_tensor(s, device=like.device), self.data_format, 1)
            if tuple(s.shape) != shape:
                raise ValueError(f"`initial_state`[{k}] must have shape {shape} "
                                 f"(channels first), got {tuple(s.shape)}")
            out.append(s.to(like.dtype))
        return tuple(out)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None, initial_state=None,
                training: Optional[bool] = None):
        x = channels_first(self._check_input(x), self.data_format, 2)  # (B, T, C, *S)
        B, T = x.shape[:2]
        m = pixels = None  # (T, B) per-step mask, or (T, B, *S) per-pixel (layers/conv_mask.py)
        if mask is not None and not x.is_meta:  # meta: a shapes-only build has no mask values
            m, pixels = split_mask(torch.as_tensor(mask, device=x.device), B, T,
                                   self.state_spatial, self.data_format, type(self).__name__)
        hx = tuple(s.unsqueeze(0) for s in self._initial_state(initial_state, B, x))
        training = self.training if training is None else bool(training)
        xt = x.transpose(0, 1)  # (T, B, C, *S)
        if self.go_backwards:
            xt = xt.flip(0)
            m, pixels = (None if m is None else m.flip(0)), (None if pixels is None
                                                              else pixels.flip(0))
        generator = self._dropout_generator(x.device)
        if pixels is not None:
            out, state, self.last_choice = run_per_pixel(
                self.spec, [self.cell_weights()], xt, hx, pixels, training=training,
                backend=self.backend, generator=generator,
                zero_output_for_mask=self.zero_output_for_mask)
        else:
            out, state, self.last_choice = registry.run_conv(
                self.spec, [self.cell_weights()], xt, hx, m, training=training,
                backend=self.backend, generator=generator)
        state = tuple(s[0] for s in state)  # each (B, F, *S)
        if self.stateful:
            self._states = tuple(s.detach() for s in state)  # truncated BPTT
        if m is not None and not self.zero_output_for_mask:
            out = carry_forward(out.flatten(2), m).view(out.shape)  # Keras: repeat last output
        output = out.transpose(0, 1) if self.return_sequences else out[-1]
        output = channels_back(output, self.data_format, 2 if self.return_sequences else 1)
        if self.return_state:
            return (output,) + tuple(channels_back(s, self.data_format, 1) for s in state)
        return output

    def _dropout_generator(self, device) -> Optional[torch.Generator]:
        if self.seed is None:
            return None
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device).manual_seed(self.seed)
        return self._generator

    def cell_weights(self) -> dict[str, Tensor]:
        return {pname: getattr(self, pname) for pname in self._shapes}

    def kernel_report(self) -> str:
        return "no call yet" if self.last_choice is None else str(self.last_choice)

    def reset_states(self, states: Optional[Sequence] = None) -> None:
        """Stateful use: start the next call from zeros (or ``states`` = [h, c])."""
        if not self.stateful:
            return
        if states is None:
            self._states = None
            return
        B = torch.as_tensor(states[0]).shape[0]
        self._states = self._initial_state(states, B, self.weight_ih)

    reset_state = reset_states

    _n_states = 2  # h and c, as Bidirectional and the graph count them

    @property
    def states(self) -> Optional[list[Tensor]]:
        """The carried [h, c] of a stateful layer in the layer's data_format (each
        (B, *S, F) with channels_last), None before a call."""
        if self._states is None:
            return None
        return [channels_back(s, self.data_format, 1) for s in self._states]

    # --- Keras weights and config -----------------------------------------------------
    def _peep_keras_shape(self) -> tuple:
        S, F = self.state_spatial, self.filters
        return (F,) + S if self.data_format == "channels_first" else S + (F,)

    def get_weights(self) -> list[np.ndarray]:
        if not self.built:
            return []
        r = self.rank
        to_k = list(range(2, r + 2)) + [1, 0]  # (4F, C, *k) -> (*k, C, 4F)
        w = self.cell_weights()
        out = [w["weight_ih"].permute(to_k), w["weight_hh"].permute(to_k)]
        if self.use_bias:
            out.append(w["bias_ih"])
        if self.peephole:
            out += [channels_back(w[n].unsqueeze(0), self.data_format, 1)[0]
                    for n in ("weight_ci", "weight_cf", "weight_co")]
        if self.layer_norm:
            out += [w[n] for n in ("ln_ih", "ln_hh", "ln_c_weight", "ln_c_bias")]
        return [t.detach().cpu().numpy().copy() for t in out]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Keras's arrays in Keras's order: kernel, recurrent_kernel, bias, then the extras
        (peephole w_ci, w_cf, w_co as (*S, F); LN gains ln_ih, ln_hh, ln_c gain and shift)."""
        self._check_built_for("set_weights")
        r = self.rank
        names = ["weight_ih", "weight_hh"] + (["bias_ih"] if self.use_bias else [])
        names += ["weight_ci", "weight_cf", "weight_co"] if self.peephole else []
        names += ["ln_ih", "ln_hh", "ln_c_weight", "ln_c_bias"] if self.layer_norm else []
        if len(weights) != len(names):
            raise ValueError(f"`weights` for layer {self.name!r} must hold {len(names)} arrays "
                             f"({', '.join(names)}), got {len(weights)}")
        from_k = [r + 1, r] + list(range(r))  # (*k, C, 4F) -> (4F, C, *k)
        with torch.no_grad():
            for pname, arr in zip(names, weights):
                t = torch.as_tensor(np.asarray(arr))
                if pname in ("weight_ih", "weight_hh") and t.dim() == r + 2:
                    t = t.permute(from_k)
                elif pname.startswith("weight_c") and t.dim() == r + 1:
                    t = channels_first(t.unsqueeze(0), self.data_format, 1)[0]
                p = getattr(self, pname)
                if tuple(t.shape) != tuple(p.shape):
                    raise ValueError(f"`weights` for layer {self.name!r}: {pname} has shape "
                                     f"{tuple(np.shape(arr))}, which doesn't fit this layer")
                p.copy_(t.to(dtype=p.dtype, device=p.device))

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update({key: getattr(self, key) for key in _KEYS})
        for key in ("kernel_size", "strides", "dilation_rate"):
            cfg[key] = list(cfg[key])
        return cfg

    def extra_repr(self) -> str:
        return f"{self.filters}, kernel_size={self.kernel_size}, padding={self.padding!r}"


@register_layer
class ConvLSTM1D(ConvLSTM):
    """1-D ConvLSTM (Shi et al. 2015), as Keras 3's: inputs (B, T, W, C). See :class:`ConvLSTM`.

    Example::

        >>> ConvLSTM1D(4, 3, padding="same")(torch.zeros(2, 5, 10, 3)).shape
        torch.Size([2, 10, 4])
    """

    rank = 1


@register_layer
class ConvLSTM2D(ConvLSTM):
    """2-D ConvLSTM (Shi et al. 2015), as Keras 3's: inputs (B, T, H, W, C). See :class:`ConvLSTM`.

    Example::

        >>> ConvLSTM2D(8, (3, 3), padding="same", return_sequences=True)(
        ...     torch.zeros(2, 5, 16, 16, 1)).shape
        torch.Size([2, 5, 16, 16, 8])
    """

    rank = 2


@register_layer
class ConvLSTM3D(ConvLSTM):
    """3-D ConvLSTM, as Keras 3's: inputs (B, T, D, H, W, C). See :class:`ConvLSTM`."""

    rank = 3
