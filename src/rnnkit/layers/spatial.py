"""What the spatial layers share: Keras's default names and the moves between
channels-last data (Keras's default) and the channels-first maps torch convolves."""
from __future__ import annotations

import re

from torch import Tensor


def keras_name(cls: type, kwargs: dict) -> dict:
    """Keras's default layer name (its snake_case: ConvLSTM2D -> conv_lstm2d,
    Conv2DTranspose -> conv2d_transpose) unless one is given."""
    if kwargs.get("name") is None:
        s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", cls.__name__)
        kwargs = {**kwargs, "name": re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()}
    return kwargs


def channels_first(x: Tensor, data_format: str, lead: int) -> Tensor:
    """(…lead axes…, *S, C) -> (…, C, *S) for channels_last; unchanged otherwise."""
    if data_format == "channels_first":
        return x
    dims = list(range(x.dim()))
    return x.permute(dims[:lead] + [dims[-1]] + dims[lead:-1])


def channels_back(x: Tensor, data_format: str, lead: int) -> Tensor:
    """The inverse of :func:`channels_first`."""
    if data_format == "channels_first":
        return x
    dims = list(range(x.dim()))
    return x.permute(dims[:lead] + dims[lead + 1:] + [dims[lead]])
