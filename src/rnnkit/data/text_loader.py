"""Read a UTF-8 text file for language modelling / classification, failing clearly.

Strict decoding on purpose: silently replacing bad bytes (errors='replace') would put
U+FFFD characters into a character vocabulary and hide a wrong-encoding file.
"""
from __future__ import annotations

import os
from typing import List

__all__ = ["load_text", "load_lines"]


def load_text(path, normalize_newlines: bool = True) -> str:
    """Whole file as a str.

    Raises FileNotFoundError (with the path) when missing, ValueError when it is a
    directory or not valid UTF-8 (the message gives the byte offset and, since a
    Latin-1/Windows-1252 file is the usual culprit, says so).  A leading UTF-8 BOM is
    dropped; ``\\r\\n`` and ``\\r`` become ``\\n`` unless ``normalize_newlines=False``.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a str or os.PathLike, got {type(path).__name__} {path!r}")
    if not os.path.exists(path):
        raise FileNotFoundError(f"path: text file not found: {os.fspath(path)!r}")
    if os.path.isdir(path):
        raise ValueError(f"path: expected a text file, got a directory {os.fspath(path)!r}")
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"path: {os.fspath(path)!r} is not valid UTF-8 text: byte "
                         f"{raw[e.start:e.start + 1]!r} at offset {e.start} ({e.reason}); "
                         f"re-encode it, e.g. `iconv -f latin1 -t utf-8`") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if normalize_newlines:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def load_lines(path, skip_blank: bool = True) -> List[str]:
    """The file's lines (newline characters removed), optionally without blank ones."""
    lines = load_text(path).split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a final newline ends the last line; it does not start a new one
    return [ln for ln in lines if ln.strip()] if skip_blank else lines
