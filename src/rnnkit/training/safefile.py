"""Reading rnnkit's safetensors files as untrusted input.

Every model, weights and backup file goes through :func:`read_checked`, which
refuses (with :class:`rnnkit.InvalidModelFile`) before anything large is built:

- a path that is not a regular file (a FIFO would block ``open`` forever; it is
  opened with O_NONBLOCK and checked with ``fstat`` on the same descriptor);
- a file larger than ``max_bytes``, or one whose size disagrees with its header;
- a header larger than :data:`MAX_HEADER_BYTES`, or JSON nested deeper than
  :data:`MAX_JSON_DEPTH` (Python's json would raise RecursionError);
- a tensor entry whose dtype is unknown, whose shape is not a list of
  non-negative ints, or whose byte range disagrees with shape x itemsize;
- a checksum (``sha256`` in the header, written by :func:`checksum`) that does
  not match the tensors and header read back.

The safetensors layout (8-byte little-endian header length N, N bytes of JSON,
then the tensor bytes) is documented at https://github.com/huggingface/safetensors.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnnkit.errors import InvalidModelFile

__all__ = ["MAX_HEADER_BYTES", "MAX_JSON_DEPTH", "MAX_TENSORS", "DEFAULT_MAX_PARAMS",
           "BYTES_PER_PARAM", "max_bytes_for", "read_checked", "loads_checked", "checksum",
           "CHECKSUM_KEY", "model_weights", "check_weights_fit", "exact_weights", "file_float_dtype"]

MAX_HEADER_BYTES = 16 * 2 ** 20   # safetensors itself allows 100 MB; our headers are KBs
MAX_JSON_DEPTH = 64               # a Sequential config is ~6 deep (Bidirectional adds 2)
MAX_TENSORS = 100_000
DEFAULT_MAX_PARAMS = 100_000_000  # load_model(..., max_params=) raises it
# float64 weights and two optimizer moments (Adam) per parameter: a file may hold
# up to this many bytes per allowed parameter, plus its header.
BYTES_PER_PARAM = 32
CHECKSUM_KEY = "sha256"

# safetensors dtype names -> (torch dtype, bytes per element)
_DTYPES = {"F64": (torch.float64, 8), "F32": (torch.float32, 4), "F16": (torch.float16, 2),
           "BF16": (torch.bfloat16, 2), "I64": (torch.int64, 8), "I32": (torch.int32, 4),
           "I16": (torch.int16, 2), "I8": (torch.int8, 1), "U8": (torch.uint8, 1),
           "BOOL": (torch.bool, 1)}


def max_bytes_for(max_params: int) -> int:
    """The largest file accepted when at most ``max_params`` parameters are allowed."""
    return BYTES_PER_PARAM * int(max_params) + MAX_HEADER_BYTES + 8 + 2 ** 20  # + RNG states


def _json_depth(text: str) -> int:
    """Deepest nesting of [ and { in JSON ``text``, outside strings (vectorised: no recursion)."""
    raw = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    quote, backslash = ord('"'), ord("\\")
    # A quote is escaped when an odd run of backslashes precedes it.
    is_bs = raw == backslash
    run = np.zeros(len(raw), dtype=np.int32)  # headers are < 2**31 bytes (MAX_HEADER_BYTES)
    if is_bs.any():
        idx = np.arange(len(raw), dtype=np.int32)
        last_non_bs = np.maximum.accumulate(np.where(~is_bs, idx, np.int32(-1)))
        run[1:] = (idx[:-1] - last_non_bs[:-1])  # backslashes just before position i
    real_quote = (raw == quote) & (run % 2 == 0)
    inside = (np.cumsum(real_quote) - real_quote) % 2 == 1  # after an odd number of quotes
    opens = ((raw == ord("[")) | (raw == ord("{"))) & ~inside
    closes = ((raw == ord("]")) | (raw == ord("}"))) & ~inside
    depth = np.cumsum(opens.astype(np.int32) - closes.astype(np.int32), dtype=np.int32)
    return int(depth.max()) if len(depth) else 0


def loads_checked(text: str, path, where: str) -> Any:
    """``json.loads(text)`` for a header field; InvalidModelFile when too deep or damaged."""
    if not isinstance(text, str):
        raise InvalidModelFile(path, f"header field {where!r} must be a JSON string, got "
                                     f"{type(text).__name__}")
    depth = _json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise InvalidModelFile(path, f"header field {where!r} nests JSON {depth} levels deep; "
                                     f"at most {MAX_JSON_DEPTH} are read")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise InvalidModelFile(path, f"header field {where!r} is not valid JSON "
                                     f"({type(e).__name__}: {e})") from None


def _open_regular(path, max_bytes: int) -> bytes:
    p = os.fspath(path)
    # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat on the same descriptor
    # then refuses it (no race between the check and the read).
    fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else \
                "a FIFO" if stat.S_ISFIFO(st.st_mode) else "not a regular file"
            raise InvalidModelFile(p, f"it is {kind}; expected a regular file")
        if st.st_size > max_bytes:
            raise InvalidModelFile(p, f"it is {st.st_size:,} bytes, more than the {max_bytes:,} "
                                      "accepted for the allowed parameter count (raise "
                                      "`max_params` to load larger models)")
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = -1
            data = fh.read(st.st_size + 1)
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) != st.st_size:
        raise InvalidModelFile(p, f"its size changed while it was read ({st.st_size} bytes "
                                  f"announced, {len(data)} read)")
    return data


def _check_entries(p: str, info: dict, data_len: int) -> None:
    if len(info) > MAX_TENSORS:
        raise InvalidModelFile(p, f"it declares {len(info)} tensors; at most {MAX_TENSORS} are read")
    spans = []
    for name, entry in info.items():
        if not isinstance(entry, dict):
            raise InvalidModelFile(p, f"tensor {name!r}: its header entry is not an object")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in _DTYPES:
            raise InvalidModelFile(p, f"tensor {name!r} has unknown dtype {dtype!r}")
        if not isinstance(shape, list) or len(shape) > 8 or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise InvalidModelFile(p, f"tensor {name!r} has shape {shape!r}; expected a list of "
                                      "at most 8 non-negative ints")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(
                isinstance(o, int) and not isinstance(o, bool) for o in offsets)
                and 0 <= offsets[0] <= offsets[1] <= data_len):
            raise InvalidModelFile(p, f"tensor {name!r} has data offsets {offsets!r} outside the "
                                      f"file's {data_len} bytes of tensor data")
        need = math.prod(shape) * _DTYPES[dtype][1]
        if offsets[1] - offsets[0] != need:
            raise InvalidModelFile(p, f"tensor {name!r} declares shape {tuple(shape)} ({dtype}, "
                                      f"{need} bytes) but holds {offsets[1] - offsets[0]} bytes")
        spans.append((offsets[0], offsets[1]))
    spans.sort()
    for (a0, a1), (b0, _) in zip(spans, spans[1:]):
        if b0 < a1:
            raise InvalidModelFile(p, "two tensors share bytes of the file")


def read_checked(path, fmt: str, what: str, *, max_bytes: int,
                 require_checksum: bool = False) -> tuple[dict[str, str], dict[str, Tensor]]:
    """(string metadata without ``format``, tensors) of a safetensors file of format ``fmt``;
    InvalidModelFile naming ``path`` for anything malformed (``what`` describes the
    expected file). FileNotFoundError / PermissionError pass as they are."""
    from safetensors.torch import load as load_bytes

    p = os.fspath(path)
    data = _open_regular(p, max_bytes)
    if len(data) < 8:
        raise InvalidModelFile(p, f"it is {len(data)} bytes, too short for {what}")
    n = int.from_bytes(data[:8], "little")
    if n > MAX_HEADER_BYTES or n + 8 > len(data) or n < 2:
        raise InvalidModelFile(p, f"it is not {what}: its first 8 bytes announce a header of "
                                  f"{n} bytes in a file of {len(data)} (a pickle, or a damaged "
                                  "file? rnnkit never loads pickles)")
    try:
        text = data[8:8 + n].decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidModelFile(p, f"it is not {what}: its header is not UTF-8") from None
    raw = loads_checked(text, p, "safetensors header")
    if not isinstance(raw, dict):
        raise InvalidModelFile(p, f"it is not {what}: its header is not a JSON object")
    meta = raw.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise InvalidModelFile(p, "its header's __metadata__ must map names to strings")
    _check_entries(p, raw, len(data) - 8 - n)
    found = meta.pop("format", None)
    if found != fmt:
        raise InvalidModelFile(p, f"it is not {what}: its safetensors metadata has format "
                                  f"{found!r}, expected {fmt!r}")
    try:
        tensors = load_bytes(data)
    except Exception as e:  # noqa: BLE001 - safetensors' own error types: any is a bad file
        raise InvalidModelFile(p, f"safetensors refused it ({type(e).__name__}: {e})") from None
    stored = meta.pop(CHECKSUM_KEY, None)
    if stored is None and require_checksum:
        raise InvalidModelFile(p, f"it has no {CHECKSUM_KEY} checksum; {what} always has one")
    if stored is not None and stored != checksum(tensors, {**meta, "format": fmt}):
        raise InvalidModelFile(p, "its checksum does not match its contents: the file is "
                                  "damaged (a flipped bit, a partial copy); refusing to use it")
    return meta, tensors


def checksum(tensors: dict[str, Tensor], header: dict[str, str]) -> str:
    """sha256 over the header strings and every tensor's name, dtype, shape and bytes
    (in name order, so it does not depend on safetensors' layout)."""
    h = hashlib.sha256()
    h.update(json.dumps(sorted(header.items())).encode("utf-8"))
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(json.dumps([name, str(t.dtype), list(t.shape)]).encode("utf-8"))
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


# --- weights against a model ---------------------------------------------------------
def model_weights(tensors: dict) -> dict:
    """The ``model/<name>`` tensors of a file, by state_dict name."""
    return {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}


def check_weights_fit(own: dict, weights: dict, path) -> None:
    """Names and shapes of the file's weights against a model's state_dict ``own``."""
    missing = sorted(set(own) - set(weights))
    extra = sorted(set(weights) - set(own))
    if missing or extra:
        raise InvalidModelFile(path, f"it doesn't fit this model: missing weights {missing}, "
                                     f"unexpected weights {extra}")
    for k, mine in own.items():  # in the model's order, so the first mismatch is reported
        if tuple(weights[k].shape) != tuple(mine.shape):
            raise InvalidModelFile(path, f"it doesn't fit this model: weight {k!r} has shape "
                                         f"{tuple(weights[k].shape)} in the file but "
                                         f"{tuple(mine.shape)} in the model")


def exact_weights(own: dict, weights: dict, path) -> dict:
    """The file's weights in the model's dtypes: equal dtypes, or a conversion that
    changes no value (float64 holding float32 values); anything else is refused."""
    out = {}
    for k, mine in own.items():
        t = weights[k]
        if t.dtype == mine.dtype:
            out[k] = t
            continue
        if not (t.is_floating_point() and mine.is_floating_point()):
            raise InvalidModelFile(path, f"weight {k!r} is stored as {t.dtype} but the model "
                                         f"holds {mine.dtype}; rnnkit doesn't cast weights "
                                         "between integer, bool and float types")
        c = t.to(mine.dtype)
        if not torch.equal(c.to(t.dtype), t):
            raise InvalidModelFile(path, f"weight {k!r} is stored as {t.dtype}, and its values "
                                         f"don't fit the model's {mine.dtype} exactly; convert "
                                         f"the model first (model.to({t.dtype}))")
        out[k] = c
    return out


def file_float_dtype(weights: dict):
    """The one floating dtype of a file's weights, or None when they differ."""
    kinds = {t.dtype for t in weights.values() if t.is_floating_point()}
    return kinds.pop() if len(kinds) == 1 else None
