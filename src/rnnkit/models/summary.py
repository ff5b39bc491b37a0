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

__all__ = ["format_summary"]


def _shape(shape) -> str:
    return "(" + ", ".join(["None"] + ["None" if d is None else str(d) for d in shape]) + ")"


def format_summary(model) -> str:
    rows = []
    for layer, shape in zip(model.layers, model._shapes[1:]):
        n = sum(p.numel() for p in layer.parameters())
        rows.append((f"{layer.name} ({type(layer).__name__})", _shape(shape), f"{n:,}"))
    head = ("Layer (type)", "Output Shape", "Param #")
    widths = [max([len(head[i])] + [len(r[i]) for r in rows]) for i in range(3)]

    def line(cells, right_last=True) -> str:
        parts = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1]),
                 cells[2].rjust(widths[2]) if right_last else cells[2].ljust(widths[2])]
        return "│ " + " │ ".join(parts) + " │"

    def rule(left: str, mid: str, right: str) -> str:
        return left + mid.join("─" * (w + 2) for w in widths) + right

    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    out = [f'Model: "{model.name}"', rule("┌", "┬", "┐"), line(head, right_last=False),
           rule("├", "┼", "┤")]
    out += [line(r) for r in rows]
    out += [rule("└", "┴", "┘"),
            f" Total params: {total:,}",
            f" Trainable params: {trainable:,}",
            f" Non-trainable params: {total - trainable:,}"]
    return "\n".join(out)
