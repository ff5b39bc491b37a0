"""Keras's model summary table, in plain text::

    Model: "sequential"
    ┌─────────────────────┬──────────────────┬─────────┐
    │ Layer (type)        │ Output Shape     │ Param # │
    ├─────────────────────┼──────────────────┼─────────┤
    │ lstm (LSTM)         │ (None, 100, 64)  │  16,896 │
    ...
     Total params: 29,473
     Trainable params: 29,473
     Non-trainable params: 0

Counts come from the layers' parameters (``requires_grad`` splits trainable
from frozen), so they match ``count_params()``.
"""
from __future__ import annotations

__all__ = ["format_summary", "format_functional_summary", "format_module_summary"]


def _shape(shape) -> str:
    return "(" + ", ".join(["None"] + ["None" if d is None else str(d) for d in shape]) + ")"


def _table(title: str, head: tuple, rows: list, model) -> str:
    """The boxed table (the "Param #" column right-aligned below its header) and the
    totals of ``model``'s parameters."""
    count = head.index("Param #")
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]

    def line(cells, header=False) -> str:
        return "│ " + " │ ".join(c.rjust(w) if i == count and not header else c.ljust(w)
                                  for i, (c, w) in enumerate(zip(cells, widths))) + " │"

    def rule(left: str, mid: str, right: str) -> str:
        return left + mid.join("─" * (w + 2) for w in widths) + right

    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    out = [f'Model: "{title}"', rule("┌", "┬", "┐"), line(head, header=True),
           rule("├", "┼", "┤")]
    out += [line(r) for r in rows]
    out += [rule("└", "┴", "┘"),
            f" Total params: {total:,}",
            f" Trainable params: {trainable:,}",
            f" Non-trainable params: {total - trainable:,}"]
    return "\n".join(out)


def format_summary(model) -> str:
    rows = []
    for layer, shape in zip(model.layers, model._shapes[1:]):
        n = sum(p.numel() for p in layer.parameters())
        rows.append((f"{layer.name} ({type(layer).__name__})", _shape(shape), f"{n:,}"))
    return _table(model.name, ("Layer (type)", "Output Shape", "Param #"), rows, model)


def _shape_full(shape) -> str:
    if isinstance(shape, list):
        return ", ".join(_shape_full(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def format_functional_summary(model) -> str:
    """Keras's functional table: one row per layer, its output shape, its
    parameters and the tensors it is ``Connected to`` (``layer[node][tensor]``)."""
    own = {id(n) for n in model._nodes}
    node_index = {}  # node -> its index among its layer's calls in this model
    for layer in model.layers:
        k = 0
        for node in getattr(layer, "_inbound_nodes", []):
            if id(node) in own:
                node_index[id(node)] = k
                k += 1
    rows = []
    for layer in model.layers:
        nodes = [n for n in getattr(layer, "_inbound_nodes", []) if id(n) in own]
        if not nodes:  # an InputLayer
            shape = _shape_full(layer.output.shape)
            links = ""
        else:
            outs = [t.shape for t in nodes[0].outputs]
            shape = _shape_full(outs[0] if len(outs) == 1 else outs)
            links = ", ".join(
                f"{t.node.layer.name}[{node_index.get(id(t.node), 0)}][{t.index}]"
                for n in nodes for t in n.inputs)
        count = sum(p.numel() for p in layer.parameters())
        rows.append((f"{layer.name} ({type(layer).__name__})", shape, f"{count:,}", links))
    head = ("Layer (type)", "Output Shape", "Param #", "Connected to")
    return _table(model.name, head, rows, model)


def format_module_summary(model, name: str) -> str:
    """The table of a model without layer shapes (Seq2Seq): one row per top-level
    module, its type and its parameters, and the totals."""
    rows = [(f"{child} ({type(m).__name__})", f"{sum(p.numel() for p in m.parameters()):,}")
            for child, m in model.named_children()]
    return _table(name, ("Module (type)", "Param #"), rows, model)
