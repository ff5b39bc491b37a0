"""Masks of the ConvLSTM layers: per-step masks (B, T) and the per-pixel masks
(B, T, *S) that a Masking layer hands on when its input is a video.

Keras 3's Masking computes ``any(x != mask_value, axis=-1)``
(keras/src/layers/core/masking.py), which over frames (B, T, *S, C) is one flag per
pixel, (B, T, *S). Keras's RNN loop (keras/src/backend/torch/rnn.py, ``_expand_mask``)
tiles that flag over the filters, so a masked pixel keeps its h and c and repeats its
last output (zeros with ``zero_output_for_mask``), while its neighbours read the held h
through the recurrent convolution. Keras can only do this where the flags line up with
the state: ``channels_last`` and a state as large as the input (``padding="same"``,
stride 1); elsewhere its ``torch.where`` fails on mismatched shapes.

rnnkit does the same with two paths:

- a mask that is equal over all pixels of each frame (whole frames at ``mask_value``:
  padded videos) is the per-step mask (B, T), the same numbers as Keras's per-pixel
  rule, and it runs in one call of the kernel that the registry picks for masks
  (on the CPU conv-cpu's joint form for stride-1 "same" layers, else the ``conv``
  kernel). This also holds where Keras fails on the shapes (``"valid"`` padding,
  strides, ``channels_first``);
- a mask that differs between the pixels of one frame runs pixel by pixel, as Keras,
  with one registry call per step (so the input convolution is not hoisted). Dropout
  masks are drawn once per sequence, as Keras's: the generator's state is replayed
  before every step, so each step draws the same masks.

Any other mask raises ValueError naming ``mask``.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from rnnkit.kernels import registry
from rnnkit.layers.recurrent import carry_forward


def split_mask(mask, B: int, T: int, state_spatial: tuple, data_format: str,
               layer: str) -> tuple[Optional[Tensor], Optional[Tensor]]:
    """A layer's ``mask`` -> (per-step mask (T, B), None) or (None, per-pixel mask
    (T, B, *S)), both bool and time-first; see the module docstring for which."""
    mask = torch.as_tensor(mask)
    if mask.dim() < 2 or tuple(mask.shape[:2]) != (B, T):
        raise ValueError(f"`mask` for {layer} must have shape (batch, timesteps) = {(B, T)} "
                         f"or (batch, timesteps, *spatial) = {(B, T) + tuple(state_spatial)}, "
                         f"got {tuple(mask.shape)}")
    mask = mask.bool()
    if mask.dim() == 2:
        return mask.t(), None
    flat = mask.flatten(2)  # (B, T, pixels)
    per_step = flat.any(2)  # (B, T)
    if torch.equal(per_step, flat.all(2)):  # each frame wholly valid or wholly masked
        return per_step.t(), None
    want = (B, T) + tuple(state_spatial)
    if data_format != "channels_last" or tuple(mask.shape) != want:
        raise ValueError(
            f"`mask` of shape {tuple(mask.shape)} differs between the pixels of a frame; "
            f"{layer} applies such a mask pixel by pixel (as Keras) only with "
            f"data_format='channels_last' and the state's size, {want} here "
            f"(data_format={data_format!r}); Keras fails on it too. Mask whole frames, "
            "or pass a (batch, timesteps) mask")
    return None, mask.transpose(0, 1)


def run_per_pixel(spec, weights: list, xt: Tensor, hx: tuple, pixels: Tensor, *,
                  training: bool, backend: str, generator: Optional[torch.Generator],
                  zero_output_for_mask: bool):
    """Keras's per-pixel masked loop. xt (T, B, C, *S_in) and pixels (T, B, *S) in
    processing order, hx each (1, B, F, *S). Per step t, with m_t the pixel flags:
    ``state_t = m_t ? cell(x_t, state_{t-1}) : state_{t-1}`` and
    ``y_t = m_t ? h_t : y_{t-1}`` (y_{-1} = 0; 0 instead of y_{t-1} with
    ``zero_output_for_mask``). Returns (y (T, B, F, *S), final states, Choice)."""
    replay = None
    if training and (spec.input_dropout > 0 or spec.recurrent_dropout > 0):
        if generator is None:  # an unseeded layer: one seed from torch's global generator
            seed = int(torch.randint(0, 2 ** 62, (), dtype=torch.int64))
            generator = torch.Generator(device=xt.device).manual_seed(seed)
        replay = generator.get_state()
    state, ys, choice = hx, [], None
    for t in range(xt.shape[0]):
        if replay is not None:
            generator.set_state(replay)  # the same dropout masks at every step
        out, new, choice = registry.run_conv(spec, weights, xt[t:t + 1], state, None,
                                             training=training, backend=backend,
                                             generator=generator)
        m = pixels[t].unsqueeze(1)  # (B, 1, *S), broadcast over (1, B, F, *S)
        state = tuple(torch.where(m, a, b) for a, b in zip(new, state))
        ys.append(torch.where(m, out[0], torch.zeros((), dtype=out.dtype, device=out.device)))
    y = torch.stack(ys)  # (T, B, F, *S), zeros at masked pixels
    if not zero_output_for_mask:
        T, B, Fs = y.shape[0], y.shape[1], y.shape[2]
        per_pixel = y.movedim(2, -1).reshape(T, -1, Fs)  # (T, B·pixels, F)
        held = carry_forward(per_pixel, pixels.reshape(T, -1))  # (T, B·pixels, F)
        y = held.reshape(y.movedim(2, -1).shape).movedim(-1, 2)
    return y, state, choice
