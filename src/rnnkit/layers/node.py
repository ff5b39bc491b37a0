"""Symbolic tensors and the call graph behind Keras's Functional API.

Calling a layer on :class:`KerasTensor` objects (from ``Input``) records a
:class:`Node`: the layer, its call arguments with the symbolic tensors in
them, and the symbolic outputs. A tensor knows the node that made it and its
index among that node's outputs (Keras's ``keras/src/ops/node.py`` keeps the
same triple). ``rnnkit.models.Model`` sorts the nodes once and replays them.

Shapes are found by running the layer once on small zero tensors (batch 2,
each unknown axis 3), and again with each unknown axis 5 when an input has
one: an output axis that changed is unknown (None). The layer's own checks
thus raise at graph-build time, with the layer and the inputs named. The
probe runs in eval mode without gradients, and a stateful layer's carried
state is put back afterwards.
"""
from __future__ import annotations

import inspect
from typing import Any, Optional

import torch
from torch import Tensor

__all__ = ["KerasTensor", "Node", "is_symbolic", "symbolic_call", "flatten"]

_PROBE, _PROBE2, _BATCH = 3, 5, 2
_DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
           "bfloat16": torch.bfloat16, "int32": torch.int64, "int64": torch.int64,
           "int16": torch.int64, "int8": torch.int64, "uint8": torch.int64, "bool": torch.bool}


class KerasTensor:
    """A symbolic tensor: its shape (batch axis first, None where unknown),
    dtype, name, and the (node, index) that produced it."""

    def __init__(self, shape: tuple, dtype: str = "float32", name: Optional[str] = None,
                 node: Optional["Node"] = None, index: int = 0, has_mask: bool = False) -> None:
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype
        self.name = name
        self.node = node
        self.index = index
        self.has_mask = has_mask

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def _refuse(self, *_: Any):
        raise TypeError(f"symbolic tensor {self.name!r} can't take part in Python or torch "
                        "arithmetic; use layers (Add, Subtract, Multiply, Concatenate, Lambda) "
                        "to combine symbolic tensors")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __matmul__ = __neg__ = __getitem__ = __pow__ = _refuse

    def __bool__(self) -> bool:
        raise TypeError(f"symbolic tensor {self.name!r} has no truth value")

    def __iter__(self):
        raise TypeError(f"symbolic tensor {self.name!r} can't be iterated over; a layer with "
                        "several outputs returns a list of symbolic tensors")

    def torch_dtype(self) -> torch.dtype:
        return _DTYPES.get(self.dtype, torch.float32)


def flatten(structure) -> list:
    """Leaves of nested lists / tuples / dicts (dicts in insertion order)."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for item in structure.values() for leaf in flatten(item)]
    return [structure]


def map_structure(fn, structure):
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def is_symbolic(args, kwargs) -> bool:
    """Whether any argument holds a symbolic tensor (checked on every layer call,
    so plain tensors and None are recognised without flattening)."""
    for v in (*args, *kwargs.values()):
        if v is None or type(v) is Tensor:
            continue
        if isinstance(v, KerasTensor) or (isinstance(v, (list, tuple, dict)) and any(
                isinstance(leaf, KerasTensor) for leaf in flatten(v))):
            return True
    return False


def _accepts(layer, arg: str) -> bool:
    """Whether the layer's call (Keras-style ``call``, else ``forward``) takes ``arg``."""
    fn = layer.call if getattr(layer, "_keras_style", False) else layer.forward
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return arg in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class Node:
    """One call of ``layer`` in a graph.

    ``args`` / ``kwargs`` are the call's arguments with every symbolic tensor in
    place; ``inputs`` lists those tensors (the data the call depends on);
    ``outputs`` the symbolic outputs, in the order of the flattened result;
    ``structure`` the shape of the result (a single tensor, or a list).
    ``auto_mask`` is True when the inputs' masks are passed as ``mask=``.
    """

    def __init__(self, layer, args: tuple, kwargs: dict, outputs: list, structure,
                 auto_mask: bool, mask_out: bool) -> None:
        self.layer, self.args, self.kwargs = layer, args, kwargs
        self.inputs = [t for t in flatten(list(args)) + flatten(kwargs)
                       if isinstance(t, KerasTensor)]
        self.outputs, self.structure = outputs, structure
        self.auto_mask, self.mask_out = auto_mask, mask_out

    @property
    def first_input(self):
        """The call's first argument, symbolic (what Keras calls the layer's input)."""
        return self.args[0] if self.args else None

    def output_structure(self):
        if self.structure == "single":
            return self.outputs[0]
        return list(self.outputs)


def _probe_value(t: KerasTensor, unknown: int, batch: int) -> Tensor:
    shape = [batch if t.shape[0] is None else t.shape[0]]
    shape += [unknown if d is None else d for d in t.shape[1:]]
    return torch.zeros(shape, dtype=t.torch_dtype())


def _probe_mask(t: KerasTensor, unknown: int, batch: int) -> Optional[Tensor]:
    if not t.has_mask or len(t.shape) < 2:
        return None
    b = batch if t.shape[0] is None else t.shape[0]
    return torch.ones(b, unknown if t.shape[1] is None else t.shape[1], dtype=torch.bool)


def _snapshot(layer) -> list:
    """What a probe must not change: stateful layers' carried states and the
    activity penalties recorded so far."""
    saved = [(m, "_states", m._states) for m in layer.modules() if hasattr(m, "_states")]
    saved += [(m, "_activity_losses", list(m._activity_losses)) for m in layer.modules()
              if getattr(m, "_activity_losses", None) is not None]
    return saved


def _restore(saved: list) -> None:
    for m, attr, value in saved:
        setattr(m, attr, value)


def _describe(args) -> str:
    ts = [t for t in flatten(list(args)) if isinstance(t, KerasTensor)]
    return ", ".join(f"{t.name!r} of shape {t.shape}" for t in ts) or "no symbolic tensors"


def _sym_shape(x):
    if isinstance(x, KerasTensor):
        return tuple(x.shape[1:])
    if isinstance(x, (list, tuple)):
        return [_sym_shape(t) for t in x]
    return None


def run_call(layer, args: tuple, kwargs: dict, mask):
    """Call ``layer`` on real tensors; ``mask`` (or None) is the inputs' mask.
    Returns (outputs, output mask). Models compute masks with their graph."""
    graph_call = getattr(layer, "_graph_call", None)
    if graph_call is not None:
        return graph_call(args[0], mask)
    out = layer(*args, **kwargs) if mask is None else layer(*args, mask=mask, **kwargs)
    x = args[0] if args else None
    return out, layer.compute_mask(x, mask if mask is not None else kwargs.get("mask"))


def _probe(layer, args, kwargs, masks_in, unknown: int, batch: int):
    fill = (lambda t: _probe_value(t, unknown, batch) if isinstance(t, KerasTensor) else t)
    real_args = tuple(map_structure(fill, list(args)))
    real_kwargs = map_structure(fill, kwargs)
    mask = None
    if masks_in is not None:
        mask = map_structure(lambda t: _probe_mask(t, unknown, batch), masks_in)
        if not any(m is not None for m in flatten(mask)):
            mask = None
    return run_call(layer, real_args, real_kwargs, mask)


def symbolic_call(layer, args: tuple, kwargs: dict):
    """Record ``layer(*args, **kwargs)`` on symbolic tensors; returns the symbolic outputs."""
    name = getattr(layer, "name", type(layer).__name__)
    where = f"layer {name!r} ({type(layer).__name__})"
    if not args:
        raise TypeError(f"{where} must be called with its inputs as the first argument")
    first = args[0]
    if not isinstance(first, KerasTensor) and not any(
            isinstance(t, KerasTensor) for t in flatten(first)):
        raise TypeError(f"{where}: the first argument must be a symbolic tensor (or a list of "
                        f"them) when other arguments are symbolic, got {type(first).__name__}")
    # Masks pass automatically unless the call gives mask= (Keras's rule).
    auto_mask = "mask" not in kwargs and (getattr(layer, "_graph_call", None) is not None
                                          or _accepts(layer, "mask"))
    masks_in = None
    if auto_mask:
        masks_in = map_structure(lambda t: t if isinstance(t, KerasTensor) else None, first)
        if not any(isinstance(t, KerasTensor) and t.has_mask for t in flatten(masks_in)):
            masks_in, auto_mask = None, False
    was_training = layer.training
    saved = _snapshot(layer)
    try:
        if not getattr(layer, "built", True):
            layer.maybe_build(_sym_shape(first))
        layer.eval()
        with torch.no_grad():
            out, out_mask = _probe(layer, args, kwargs, masks_in, _PROBE, _BATCH)
            unknown = any(isinstance(t, KerasTensor) and None in t.shape[1:]
                          for t in flatten(list(args)) + flatten(kwargs))
            out2 = _probe(layer, args, kwargs, masks_in, _PROBE2, _BATCH)[0] if unknown else out
    except (ValueError, TypeError, RuntimeError, IndexError) as e:
        cls = TypeError if isinstance(e, TypeError) else ValueError
        raise cls(f"{where} can't be called on {_describe(args)}: {e}") from e
    finally:
        layer.train(was_training)
        _restore(saved)
    single = isinstance(out, Tensor)
    outs, outs2 = flatten(out), flatten(out2)
    masks = flatten(out_mask) if isinstance(out_mask, (list, tuple)) else [out_mask] * len(outs)
    if len(masks) != len(outs):
        masks = [None] * len(outs)
    batch = next((t.shape[0] for t in flatten(list(args)) if isinstance(t, KerasTensor)), None)
    node = Node(layer, tuple(args), dict(kwargs), [], "single" if single else "list",
                auto_mask, any(m is not None for m in masks))
    count = len(getattr(layer, "_inbound_nodes", []))
    for i, (o, o2, m) in enumerate(zip(outs, outs2, masks)):
        if not isinstance(o, Tensor):
            raise TypeError(f"{where} returned a {type(o).__name__}; layers must return tensors")
        shape = (batch,) + tuple(d if o2.shape[k + 1] == d else None
                                 for k, d in enumerate(o.shape[1:]))
        dtype = str(o.dtype).replace("torch.", "")
        tname = f"{name}/{count}" + (f"/{i}" if len(outs) > 1 else "")
        node.outputs.append(KerasTensor(shape, dtype, tname, node, i, m is not None))
    if not hasattr(layer, "_inbound_nodes"):
        layer._inbound_nodes = []
    layer._inbound_nodes.append(node)
    return node.output_structure()


def probe_output_shape(layer, input_shape):
    """Output shape (Keras-style, with the batch axis) of a Keras-style layer for
    ``input_shape``, found as in :func:`symbolic_call` without recording a node."""
    shape = tuple(input_shape)
    if shape and shape[0] is None and layer._keras_style:
        shape = shape[1:]  # Keras-style layers see the batch axis
    t = KerasTensor((None,) + shape)
    was_training = layer.training
    saved = _snapshot(layer)
    try:
        layer.eval()
        with torch.no_grad():
            out = _probe(layer, (t,), {}, None, _PROBE, _BATCH)[0]
            out2 = _probe(layer, (t,), {}, None, _PROBE2, _BATCH)[0]
    finally:
        layer.train(was_training)
        _restore(saved)
    out_shape = tuple(d if out2.shape[k] == d else None for k, d in enumerate(out.shape))
    return ((None,) + out_shape[1:]) if layer._keras_style else out_shape[1:]
