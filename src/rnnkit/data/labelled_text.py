"""Read a text-classification file: one example per line, ``label<TAB>text``.

    positive\tWhat a lovely film.
    negative\tI want my two hours back.

The label is everything before the first TAB (stripped), the text everything after
it. Blank lines are skipped. A line without a TAB, with an empty label or an empty
text is a ValueError naming its line number (1-based), because a silently skipped
example changes the class balance the user thinks they have.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional

from rnnkit.data.text_loader import load_lines

__all__ = ["LabelledTexts", "read_labelled_text"]


@dataclass(frozen=True)
class LabelledTexts:
    """``texts[i]`` with label ``labels[i]`` (None: no labels, prediction only) read
    from line ``lines[i]`` of the file."""

    texts: List[str]
    labels: Optional[List[str]]
    lines: List[int]


def read_labelled_text(path, require_label: bool = True) -> LabelledTexts:
    """The examples of a ``label<TAB>text`` file.

    With ``require_label=False`` (prediction) lines may also be bare ``text``; if no
    line has a TAB, ``labels`` is None. Mixing both forms is an error.
    """
    raw = load_lines(path, skip_blank=False)
    texts, labels, lines = [], [], []
    tabbed = untabbed = None
    for n, line in enumerate(raw, start=1):
        if not line.strip():
            continue
        if "\t" not in line:
            if require_label:
                raise ValueError(f"path: line {n} of {os.fspath(path)!r} has no TAB; expected "
                                 f"label<TAB>text (for a long-format CSV pass --id and --label)")
            untabbed = untabbed or n
            label, text = None, line
        else:
            tabbed = tabbed or n
            label, text = line.split("\t", 1)
            label = label.strip()
            if not label:
                raise ValueError(f"path: line {n} of {os.fspath(path)!r} has an empty label "
                                 f"before its TAB; expected label<TAB>text")
        if not text.strip():
            raise ValueError(f"path: line {n} of {os.fspath(path)!r} has no text after its "
                             f"label; expected label<TAB>text")
        texts.append(text)
        labels.append(label)
        lines.append(n)
    if tabbed and untabbed:
        raise ValueError(f"path: {os.fspath(path)!r} mixes label<TAB>text lines (line "
                         f"{tabbed}) with bare text lines (line {untabbed}); use one form")
    if not texts:
        raise ValueError(f"path: {os.fspath(path)!r} holds no examples (only blank lines)")
    return LabelledTexts(texts, None if untabbed else labels, lines)
