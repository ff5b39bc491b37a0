"""Moving recurrent weights between torch's layout and Keras 3's arrays.

rnnkit keeps torch's layout (the one the kernels run on, see
:func:`rnnkit.cells.base.param_shapes`): weight_ih (G*u, I), weight_hh (G*u, u),
bias_ih (G*u,) [, bias_hh (G*u,)], gate blocks in torch's order. Keras 3 keeps

=========  =====================  ===========================  ==================================
layer      kernel                 recurrent_kernel             bias
=========  =====================  ===========================  ==================================
SimpleRNN  (I, u)                 (u, u)                       (u,)
LSTM       (I, 4u), i f c o       (u, 4u), i f c o             (4u,)
GRU        (I, 3u), z r h         (u, 3u), z r h               (2, 3u) reset_after: [input; recurrent]
                                                               (3u,)   reset_after=False
=========  =====================  ===========================  ==================================

so a Keras kernel is the transpose of torch's weight with the gate blocks
permuted: none for LSTM (i f c o = torch's i f g o), r↔z for GRU (torch's r z n).

rnnkit's extras follow Keras's arrays, in this order, gate axes in the same
(Keras) gate order as the kernel's columns:

1. peephole (LSTM): w_ci (u,), w_cf (u,), w_co (u,)
2. layer_norm: γ_ih (G*u,), γ_hh (G*u,), then for the LSTM γ_c (u,), β_c (u,)
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor

# Keras's gate block k is torch's block family(mode).keras_perm[k] (rnnkit.cells.family).
from rnnkit.cells.family import family


def _blocks(v: Tensor, mode: str) -> Tensor:
    """Permute the G gate blocks along axis 0 (torch order -> Keras order)."""
    fam = family(mode)
    parts = v.chunk(fam.n_gates, dim=0)
    return torch.cat([parts[k] for k in fam.keras_perm], dim=0)


def _unblocks(v: Tensor, mode: str) -> Tensor:
    """Keras order -> torch order (the inverse permutation; GRU's r↔z is its own inverse)."""
    fam = family(mode)
    parts = v.chunk(fam.n_gates, dim=0)
    inv = [fam.keras_perm.index(k) for k in range(fam.n_gates)]
    return torch.cat([parts[k] for k in inv], dim=0)


def keras_names(mode: str, *, use_bias: bool, layer_norm: bool = False,
                peephole: bool = False) -> list[tuple[str, str]]:
    """(Keras-side name, rnnkit parameter name) of every array, in get_weights order."""
    names = [("kernel", "weight_ih")]
    if family(mode).recurrent:  # minGRU/minLSTM have no recurrent kernel
        names.append(("recurrent_kernel", "weight_hh"))
    if use_bias:
        names.append(("bias", "bias_ih"))  # GRU(reset_after) also packs bias_hh in it
    if peephole:
        names += [("peephole_i", "weight_ci"), ("peephole_f", "weight_cf"), ("peephole_o", "weight_co")]
    if layer_norm:
        names += [("ln_kernel_gain", "ln_ih"), ("ln_recurrent_gain", "ln_hh")]
        if mode == "lstm":
            names += [("ln_cell_gain", "ln_c_weight"), ("ln_cell_shift", "ln_c_bias")]
    return names


def to_keras(mode: str, params: dict[str, Tensor], *, use_bias: bool, layer_norm: bool = False,
             peephole: bool = False) -> list[Tensor]:
    """torch-layout parameters -> Keras's arrays (as tensors), in get_weights order."""
    out = []
    for _, pname in keras_names(mode, use_bias=use_bias, layer_norm=layer_norm, peephole=peephole):
        p = params[pname].detach()
        if pname in ("weight_ih", "weight_hh"):
            out.append(_blocks(p, mode).t())  # (G*u, X) -> (X, G*u)
        elif pname == "bias_ih" and params.get("bias_hh") is not None:
            out.append(torch.stack([_blocks(p, mode), _blocks(params["bias_hh"].detach(), mode)]))
        elif pname in ("bias_ih", "ln_ih", "ln_hh"):
            out.append(_blocks(p, mode))
        else:
            out.append(p)
    return out


def from_keras(mode: str, arrays: Sequence, shapes: dict[str, tuple], *, use_bias: bool,
               layer_norm: bool = False, peephole: bool = False,
               layer: str = "layer") -> dict[str, Tensor]:
    """Keras's arrays -> torch-layout tensors keyed by parameter name.

    ``shapes`` is :func:`param_shapes`' answer for the layer; every array's
    shape is checked against the Keras shape it implies, naming the array.
    """
    names = keras_names(mode, use_bias=use_bias, layer_norm=layer_norm, peephole=peephole)
    if len(arrays) != len(names):
        raise ValueError(f"`weights` for layer {layer!r} must hold {len(names)} arrays "
                         f"({', '.join(k for k, _ in names)}), got {len(arrays)}")
    out: dict[str, Tensor] = {}
    for i, ((kname, pname), a) in enumerate(zip(names, arrays)):
        t = torch.as_tensor(np.asarray(a))
        shape = shapes[pname]
        if pname in ("weight_ih", "weight_hh"):
            want = (shape[1], shape[0])
        elif pname == "bias_ih" and "bias_hh" in shapes:
            want = (2, shape[0])
        else:
            want = shape
        if tuple(t.shape) != want:
            raise ValueError(f"`weights`[{i}] ({kname}) for layer {layer!r} must have shape "
                             f"{want}, got {tuple(t.shape)}")
        if pname in ("weight_ih", "weight_hh"):
            out[pname] = _unblocks(t.t(), mode)
        elif pname == "bias_ih" and "bias_hh" in shapes:
            out["bias_ih"], out["bias_hh"] = _unblocks(t[0], mode), _unblocks(t[1], mode)
        elif pname in ("bias_ih", "ln_ih", "ln_hh"):
            out[pname] = _unblocks(t, mode)
        else:
            out[pname] = t
    return out
