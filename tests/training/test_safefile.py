"""rnnkit.training.safefile: the checks that make a file safe to read, one by one."""
import json
import os

import pytest
import torch

from rnnkit import InvalidModelFile
from rnnkit.training.safefile import (MAX_JSON_DEPTH, _json_depth, checksum, loads_checked,
                                      max_bytes_for, read_checked)
from rnnkit.training.state import write_state_file


@pytest.mark.parametrize("text, depth", [
    ("1", 0), ("[]", 1), ('{"a": [1, {"b": []}]}', 4), ('[[], [[]]]', 3),
    ('"[[[["', 0),                      # brackets inside a string don't count
    ('["\\"[[[", [1]]', 2),             # nor after an escaped quote
    ('["\\\\", [[1]]]', 3),             # an escaped backslash ends before the quote
])
def test_json_depth_by_hand(text, depth):
    json.loads(text)  # the cases are valid JSON
    assert _json_depth(text) == depth


def test_deep_json_is_refused_before_pythons_parser_recurses(tmp_path):
    deep = "[" * 200_000 + "]" * 200_000
    with pytest.raises(RecursionError):
        json.loads(deep)
    with pytest.raises(InvalidModelFile, match="200000 levels deep"):
        loads_checked(deep, tmp_path / "f", "config")
    ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert loads_checked(ok, tmp_path / "f", "config") is not None


def test_checksum_covers_names_dtypes_shapes_bytes_and_header():
    t = {"a": torch.arange(6, dtype=torch.float32), "b": torch.tensor([True, False])}
    base = checksum(t, {"k": "v"})
    assert base == checksum(dict(reversed(list(t.items()))), {"k": "v"})  # order-free
    changed = [
        {**t, "a": t["a"].reshape(2, 3)},
        {**t, "a": t["a"].double()},
        {**t, "a": t["a"] + torch.tensor([0, 0, 0, 0, 0, 1.0])},
        {"c": t["a"], "b": t["b"]},
    ]
    assert all(checksum(c, {"k": "v"}) != base for c in changed)
    assert checksum(t, {"k": "w"}) != base


def test_write_then_read_round_trip_with_checksum(tmp_path):
    p = tmp_path / "s.safetensors"
    tensors = {"x": torch.randn(3, 2), "n": torch.tensor(4)}
    write_state_file(p, tensors, "fmt", {"h": "1"})
    header, back = read_checked(p, "fmt", "a test file", max_bytes=10 ** 6, require_checksum=True)
    assert header == {"h": "1"}
    assert all(torch.equal(back[k], tensors[k]) for k in tensors)
    with pytest.raises(InvalidModelFile, match="format 'fmt', expected 'other'"):
        read_checked(p, "other", "a test file", max_bytes=10 ** 6)
    with pytest.raises(InvalidModelFile, match="more than the"):
        read_checked(p, "fmt", "a test file", max_bytes=os.path.getsize(p) - 1)


def test_the_size_bound_grows_with_max_params():
    assert max_bytes_for(2_000_000) - max_bytes_for(1_000_000) == 32 * 1_000_000
