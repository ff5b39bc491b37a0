"""The graph of a functional model: which calls it runs, in which order, and
how it is written to (and read from) a JSON config.

From the outputs back to the inputs, a depth-first walk finds every node the
outputs depend on. A node's depth is 0 at the outputs and 1 + its deepest
consumer's otherwise; nodes run deepest first, so every input is ready. The
model's ``layers`` are ordered as Keras orders them (its
``_map_graph_network``): by depth, deepest first, ties in the walk's
post-order; so ``model.layers[2]`` is the layer a Keras user expects.

The walk checks what Keras checks, with names: an output that depends on an
``Input`` that isn't among the model's inputs, and an input no output uses.
"""
from __future__ import annotations

from typing import Optional

from torch import nn

from rnnkit.layers.node import KerasTensor, Node, flatten, map_structure

__all__ = ["walk", "Plan", "graph_config", "replay_config"]


def walk(inputs: list, outputs: list) -> tuple[list[Node], list]:
    """(nodes in execution order, layers in Keras's order)."""
    input_ids = {id(t) for t in inputs}
    post: list[Node] = []
    seen: set[int] = set()
    stack_ids: set[int] = set()
    index: dict[int, int] = {}  # node or input tensor -> its place in the post-order walk

    def visit(t: KerasTensor) -> None:
        if id(t) in input_ids:
            index.setdefault(id(t), len(index))
            return
        node = t.node
        if node is None or not node.inputs and type(node.layer).__name__ == "InputLayer":
            given = ", ".join(repr(i.name) for i in inputs)
            raise ValueError(f"the model's outputs depend on input {t.name!r}, which is not among "
                             f"the model's inputs ({given}); add it to `inputs`")
        if id(node) in seen:
            return
        if id(node) in stack_ids:
            raise ValueError(f"the graph has a cycle through layer {node.layer.name!r}")
        stack_ids.add(id(node))
        for u in node.inputs:
            visit(u)
        stack_ids.discard(id(node))
        seen.add(id(node))
        index[id(node)] = len(index)
        post.append(node)

    for t in outputs:
        visit(t)
    used = {id(u) for n in post for u in n.inputs} | {id(t) for t in outputs}
    unused = [t.name for t in inputs if id(t) not in used]
    if unused:
        raise ValueError(f"the model's inputs {unused} are not used by any of its outputs; "
                         "remove them from `inputs` or connect them to an output")
    depth: dict[int, int] = {}
    input_depth: dict[int, int] = {}
    for node in reversed(post):  # consumers before producers
        d = depth.setdefault(id(node), 0)
        for u in node.inputs:
            if id(u) in input_ids:
                input_depth[id(u)] = max(input_depth.get(id(u), 0), d + 1)
            else:
                depth[id(u.node)] = max(depth.get(id(u.node), 0), d + 1)
    order = sorted(range(len(post)), key=lambda i: -depth[id(post[i])])
    nodes = [post[i] for i in order]
    # Layers: the InputLayers of the model's inputs and every called layer, each
    # ranked by its deepest node, ties by the walk's order.
    rank: dict[int, tuple] = {}
    layers: list = []
    for t in inputs:
        if t.node is not None and type(t.node.layer).__name__ == "InputLayer":
            rank[id(t.node.layer)] = (-input_depth.get(id(t), 0), index.get(id(t), -1))
            layers.append(t.node.layer)
    for node in post:
        key = (-depth[id(node)], index[id(node)])
        if id(node.layer) in rank:
            rank[id(node.layer)] = min(rank[id(node.layer)], key)
            continue
        rank[id(node.layer)] = key
        layers.append(node.layer)
    layers.sort(key=lambda layer: rank[id(layer)])
    return nodes, layers


class Plan:
    """The nodes as slots for the run loop (lists indexed by integers, no dicts)."""

    __slots__ = ("n_slots", "input_slots", "output_slots", "steps")

    def __init__(self, inputs: list, outputs: list, nodes: list[Node]) -> None:
        slot: dict[int, int] = {}
        for t in inputs:
            slot[id(t)] = len(slot)
        steps = []
        for node in nodes:
            for t in node.outputs:
                slot[id(t)] = len(slot)
        for node in nodes:
            args, kwargs = node.args, node.kwargs
            simple = (len(args) == 1 and isinstance(args[0], KerasTensor)
                      and not any(isinstance(v, KerasTensor) for v in flatten(kwargs)))
            first = args[0]
            resolve = None
            if not simple:
                ref = (lambda t: _Ref(slot[id(t)]) if isinstance(t, KerasTensor) else t)
                resolve = (map_structure(ref, list(args)), map_structure(ref, kwargs))
            mask_slots = None
            if node.auto_mask:
                mask_slots = map_structure(
                    lambda t: slot[id(t)] if isinstance(t, KerasTensor) else None, first)
            graph_call = getattr(node.layer, "_graph_call", None)
            steps.append((node.layer, slot[id(first)] if simple else None, resolve,
                          kwargs if simple else None, mask_slots, node.mask_out,
                          node.structure == "single", [slot[id(t)] for t in node.outputs],
                          graph_call))
        self.n_slots = len(slot)
        self.input_slots = [slot[id(t)] for t in inputs]
        self.output_slots = [slot[id(t)] for t in outputs]
        self.steps = steps


class _Ref:
    __slots__ = ("slot",)

    def __init__(self, slot: int) -> None:
        self.slot = slot


def fill(structure, values: list):
    if isinstance(structure, _Ref):
        return values[structure.slot]
    if isinstance(structure, (list, tuple)):
        return type(structure)(fill(s, values) for s in structure)
    if isinstance(structure, dict):
        return {k: fill(v, values) for k, v in structure.items()}
    return structure


_call = nn.Module.__call__


def run(plan: Plan, xs: list, ms: Optional[list]) -> tuple[list, list]:
    """Replay the nodes on real tensors; returns (outputs, output masks)."""
    values: list = [None] * plan.n_slots
    masks: list = [None] * plan.n_slots
    for s, x in zip(plan.input_slots, xs):
        values[s] = x
    if ms is not None:
        for s, m in zip(plan.input_slots, ms):
            masks[s] = m
    for (layer, arg_slot, resolve, kwargs, mask_slots, mask_out, single, out_slots,
         gcall) in plan.steps:
        if arg_slot is not None:
            args = (values[arg_slot],)
        else:
            args, kwargs = fill(resolve[0], values), fill(resolve[1], values)
        mask = None
        if mask_slots is not None:
            mask = fill_mask(mask_slots, masks)
        if gcall is not None:
            out, out_mask = gcall(args[0], mask)
        else:
            out = _call(layer, *args, **kwargs) if mask is None else \
                _call(layer, *args, mask=mask, **kwargs)
            out_mask = None
            if mask_out:
                out_mask = layer.compute_mask(args[0], mask if mask is not None
                                              else kwargs.get("mask"))
        if single:
            values[out_slots[0]] = out
            masks[out_slots[0]] = out_mask
        else:
            outs = flatten(out)
            om = (flatten(out_mask) if isinstance(out_mask, (list, tuple))
                  else [out_mask] * len(outs))
            for s, o, m in zip(out_slots, outs, om):
                values[s] = o
                masks[s] = m
    return [values[s] for s in plan.output_slots], [masks[s] for s in plan.output_slots]


def fill_mask(mask_slots, masks: list):
    if isinstance(mask_slots, int):
        return masks[mask_slots]
    if mask_slots is None:
        return None
    out = map_structure(lambda s: None if s is None else masks[s], mask_slots)
    return out if any(m is not None for m in flatten(out)) else None
