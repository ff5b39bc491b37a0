"""torch's own fused recurrent ops (torch._VF.lstm / gru / rnn_tanh / rnn_relu).

They reach oneDNN on the CPU and cuDNN on the GPU. They run only the
configurations whose semantics match rnnkit's exactly; `why_not` says which.
"""
from __future__ import annotations

from dataclasses import replace
import warnings
from typing import Optional

import torch
from torch import Tensor
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.kernels.base import Kernel
from rnnkit.kernels.masks import keep_mask
from rnnkit.kernels.merge import merge
from rnnkit.kernels.spec import RecurrentSpec


# The families torch has a fused op for, and the options (rnnkit.cells.family) each op runs
# exactly; the activations are checked apart (tanh or relu for rnn; tanh/sigmoid otherwise).
ACCEPTS = {"rnn": frozenset({"activation"}), "lstm": frozenset({"proj_size"}),
           "gru": frozenset()}
# Regularisers that act only in training: in eval the ops compute the same model.
_TRAIN_ONLY = frozenset({"recurrent_dropout", "dropconnect"})


def why_not(spec: RecurrentSpec, *, mask_kind: str, training: bool, **_) -> Optional[str]:
    if spec.mode not in ACCEPTS:
        return (f"torch has fused ops for the {', '.join(ACCEPTS)} families only, "
                f"got mode={spec.mode!r}")
    if not spec.uses_default_activations():
        return "torch's ops fix the activations (tanh/relu; sigmoid gates)"
    if spec.layer_norm:
        return "torch's ops have no layer normalisation"
    if spec.peephole:
        return "torch's ops have no peephole connections"
    if spec.mode == "gru" and not spec.reset_after:
        return "torch's GRU applies the reset gate after the matmul only (reset_after=True)"
    if spec.zoneout_h > 0 or spec.zoneout_c > 0:
        return "torch's ops have no zoneout"
    if training and (spec.input_dropout > 0 or spec.recurrent_dropout > 0 or spec.dropconnect > 0):
        return "torch's ops have no input/recurrent dropout or DropConnect"
    if mask_kind == "any":
        return "torch's packed ops need each row's valid steps first and at least one of them"
    if spec.bidirectional and spec.merge_mode != "concat" and spec.num_layers > 1:
        return "torch concatenates the directions between stacked layers"
    return spec.refuse_options(ACCEPTS[spec.mode] | (frozenset() if training else _TRAIN_ONLY),
                               "torch's fused op")


def _flat_weights(spec: RecurrentSpec, weights: list[dict]) -> list[Tensor]:
    flat = []
    for w in weights:
        flat += [w["weight_ih"], w["weight_hh"]]
        if spec.bias:
            b_hh = w.get("bias_hh")
            # Keras's single-bias layout: a zero second bias is the same model.
            flat += [w["bias_ih"], b_hh if b_hh is not None else torch.zeros_like(w["bias_ih"])]
        if spec.proj_size > 0:
            flat.append(w["weight_hr"])
    return flat


def _call(spec, x, batch_sizes, hx, flat, training):
    if x.is_cuda:
        # cuDNN warns on every call that the weights are not one flat buffer (our
        # parameters are separate tensors); it packs them itself, and the numbers are the same.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="RNN module weights are not part")
            return _call_op(spec, x, batch_sizes, hx, flat, training)
    return _call_op(spec, x, batch_sizes, hx, flat, training)


def _call_op(spec, x, batch_sizes, hx, flat, training):
    args = (spec.bias, spec.num_layers, spec.dropout, training, spec.bidirectional)
    if spec.mode == "lstm":
        h = (hx[0], hx[1])
        res = (torch._VF.lstm(x, h, flat, *args, False) if batch_sizes is None
               else torch._VF.lstm(x, batch_sizes, h, flat, *args))
        return res[0], (res[1], res[2])
    if spec.mode == "gru":
        fn = torch._VF.gru
    elif spec.mode == "rnn":
        fn = torch._VF.rnn_relu if spec.act_fn() is torch.relu else torch._VF.rnn_tanh
    else:  # why_not refused it; reaching here is a registry bug
        raise AssertionError(f"torch_fused has no op for mode={spec.mode!r}")
    res = (fn(x, hx[0], flat, *args, False) if batch_sizes is None
           else fn(x, batch_sizes, hx[0], flat, *args))
    return res[0], (res[1],)


def _run_stack(spec: RecurrentSpec, weights: list[dict], x: Tensor, hx: tuple[Tensor, ...],
               mask: Optional[Tensor], training: bool):
    """All of ``spec``'s layers in one fused call (no dropout between them)."""
    flat = _flat_weights(spec, weights)
    if mask is None:
        return _call(spec, x, None, hx, flat, training)
    T = x.shape[0]
    lengths = mask.sum(0).cpu()
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    order, unorder = packed.sorted_indices, packed.unsorted_indices
    hx_sorted = tuple(s.index_select(1, order) for s in hx)
    data, state = _call(spec, packed.data, packed.batch_sizes, hx_sorted, flat, training)
    out, _ = pad_packed_sequence(
        torch.nn.utils.rnn.PackedSequence(data, packed.batch_sizes, order, unorder),
        total_length=T)  # (T, B, D*P), zeros at the padding
    return out, tuple(s.index_select(1, unorder) for s in state)


def run(spec: RecurrentSpec, weights: list[dict], x: Tensor, hx: tuple[Tensor, ...],
        mask: Optional[Tensor], *, training: bool, generator: Optional[torch.Generator] = None):
    """Same contract as :func:`rnnkit.kernels.reference.run`."""
    if training and spec.dropout > 0 and spec.num_layers > 1:
        # torch's ops draw the between-layer dropout from the global RNG and ignore
        # `generator`; run layer by layer and draw it here, in the reference's shapes
        # and order, so a seeded generator gives the reference's masks.
        D = spec.num_directions
        one = replace(spec, num_layers=1, dropout=0.0, merge_mode="concat")
        layer_in, finals = x, []
        for k in range(spec.num_layers):
            if k > 0:
                layer_in = layer_in * keep_mask(tuple(layer_in.shape), spec.dropout, layer_in,
                                                generator)
            rows = slice(k * D, (k + 1) * D)
            layer_in, st = _run_stack(one, weights[rows], layer_in, tuple(s[rows] for s in hx),
                                      mask, training)
            finals.append(st)
        out = layer_in
        state = tuple(torch.cat(parts, 0) for parts in zip(*finals))  # each (L*D, B, ·)
    else:
        out, state = _run_stack(spec, weights, x, hx, mask, training)
    if spec.bidirectional and spec.merge_mode != "concat":
        P = spec.state_size
        out = merge(out[..., :P], out[..., P:], spec.merge_mode)
    return out, state


# Collected by rnnkit.kernels.registry: tried after the native kernel (20), before the scan (5).
KERNELS = (Kernel("torch", 10, why_not, run,
                  "torch._VF fused ops (oneDNN on CPU, cuDNN on GPU) where semantics match"),)
