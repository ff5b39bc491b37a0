"""Keras's Lambda layer: any function of tensors as a layer.

A model holding a Lambda runs, trains and predicts. Saving it stores the
function's NAME only, never its code (a pickled or marshalled function would
run arbitrary code when loaded): register the function first with
:func:`register_function`, and the loader looks it up by that name. An
unregistered function makes ``get_config`` (and so ``save``) raise.

    @register_function("clip_small")
    def clip_small(x):
        return x.clamp(-1, 1)

    y = Lambda(clip_small)(x)
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from rnnkit.layers.base import Layer, register_layer

__all__ = ["Lambda", "register_function", "registered_functions"]

_FUNCTIONS: dict[str, Callable] = {}


def register_function(name: Optional[str] = None):
    """Decorator: make ``fn`` savable in a Lambda layer under ``name`` (default
    ``fn.__name__``). The same name must be registered before loading."""
    def add(fn: Callable) -> Callable:
        if not callable(fn):
            raise TypeError(f"register_function needs a function, got {type(fn).__name__}")
        key = name or getattr(fn, "__name__", None)
        if not key or key == "<lambda>":
            raise ValueError("a lambda expression has no name; pass name= to register_function")
        _FUNCTIONS[key] = fn
        return fn
    return add


def registered_functions() -> dict[str, Callable]:
    return dict(_FUNCTIONS)


def _name_of(fn: Callable) -> Optional[str]:
    for key, value in _FUNCTIONS.items():
        if value is fn:
            return key
    return None


@register_layer
class Lambda(Layer):
    """Wrap ``function(inputs, **arguments)`` as a layer.

    Args:
        function: a callable on tensors (or lists of tensors).
        output_shape: accepted for Keras code; shapes are inferred by running it.
        mask: None (the mask is consumed) or a function ``mask(inputs, mask)``.
        arguments: a dict of extra keyword arguments for ``function`` (JSON values
            if the model is to be saved).
    """

    def __init__(self, function: Callable, output_shape=None, mask=None,
                 arguments: Optional[dict] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Received an invalid value for argument `function`, expected a "
                            f"callable, got {type(function).__name__}")
        if mask is not None and not callable(mask):
            raise TypeError(f"`mask` must be None or a function (inputs, mask) -> mask, got "
                            f"{type(mask).__name__}")
        self.function, self.mask_function = function, mask
        self.output_shape_arg = output_shape
        self.arguments = dict(arguments or {})

    def forward(self, x, mask=None):
        return self.function(x, **self.arguments)

    def compute_output_shape(self, input_shape):
        from rnnkit.layers.node import probe_output_shape
        return probe_output_shape(self, input_shape)

    def compute_mask(self, x, mask=None):
        return None if self.mask_function is None else self.mask_function(x, mask)

    def get_config(self) -> dict:
        name = _name_of(self.function)
        if name is None:
            raise ValueError(f"Lambda layer {self.name!r} wraps {self.function!r}, which isn't "
                             "registered; rnnkit never saves code, so register the function "
                             "by name with rnnkit.layers.register_function(name) before saving "
                             "(and before loading)")
        if self.mask_function is not None:
            raise ValueError(f"Lambda layer {self.name!r} has a mask function, which can't be "
                             "saved without saving code")
        cfg = super().get_config()
        cfg.update(function=name, arguments=self.arguments)
        return cfg

    @classmethod
    def from_config(cls, config: dict) -> "Lambda":
        config = dict(config)
        name = config.get("function")
        if not isinstance(name, str):
            raise ValueError("this Lambda layer's config holds code (a Keras file stores its "
                             "bytecode), which rnnkit never loads; re-create the layer with a "
                             "function registered by name (rnnkit.layers.register_function)")
        if name not in _FUNCTIONS:
            raise ValueError(f"Lambda function {name!r} isn't registered; call "
                             f"rnnkit.layers.register_function({name!r}) on it before loading")
        config["function"] = _FUNCTIONS[name]
        return cls(**config)
