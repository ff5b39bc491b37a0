"""The check of a trainer state (``rnnkit.models.Trainer.state_dict()``) handed back to
``load_state_dict``: every field present and of the right type, so a damaged
or foreign state is refused before the loop changes."""
from __future__ import annotations

import numbers

import torch

__all__ = ["check_state"]

_KEYS = ("epoch", "history", "epochs", "shuffle_generator")


def check_state(state) -> dict:
    """A checked copy of ``state``; ValueError/TypeError naming the bad field."""
    if not isinstance(state, dict):
        raise TypeError(f"`state_dict` must be a dict from Trainer.state_dict(), got "
                        f"{type(state).__name__}")
    missing = [k for k in _KEYS if k not in state]
    if missing:
        raise ValueError(f"`state_dict` is missing {missing}; expected the keys {list(_KEYS)} "
                         "of Trainer.state_dict()")
    epoch = state["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
        raise ValueError(f"`state_dict['epoch']` must be an int >= 0 (the next epoch to run), "
                         f"got {epoch!r}")
    history = state["history"]
    if not isinstance(history, dict) or not all(
            isinstance(k, str) and isinstance(v, (list, tuple)) for k, v in history.items()):
        raise TypeError("`state_dict['history']` must be a dict of {name: list of floats}, got "
                        f"{type(history).__name__}")
    epochs = state["epochs"]
    if not isinstance(epochs, (list, tuple)) or not all(
            isinstance(e, numbers.Integral) and not isinstance(e, bool) for e in epochs):
        raise TypeError(f"`state_dict['epochs']` must be a list of epoch indices (ints), got "
                        f"{epochs!r}")
    gen = state["shuffle_generator"]
    if gen is not None and not (isinstance(gen, torch.Tensor) and gen.dtype == torch.uint8):
        raise TypeError("`state_dict['shuffle_generator']` must be None or a uint8 tensor from "
                        f"torch.Generator.get_state(), got {type(gen).__name__}")
    return {"epoch": int(epoch), "history": {k: [float(x) for x in v] for k, v in history.items()},
            "epochs": [int(e) for e in epochs], "shuffle_generator": gen}
