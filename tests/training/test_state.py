"""Training state without pickle: pack/unpack, RNG capture/restore, state files."""
import pickle
import random

import numpy as np
import pytest
import torch

from rnnkit.training.state import (capture_rng, pack, read_state_file, restore_rng, unpack,
                                   write_state_file)


def test_pack_unpack_restores_an_optimizer_state_exactly():
    p = torch.nn.Parameter(torch.randn(3, 2))
    opt = torch.optim.Adam([p], lr=0.1, betas=(0.8, 0.9))
    p.grad = torch.randn(3, 2)
    opt.step()
    state = opt.state_dict()
    tensors = {}
    tree = pack(state, "optimizer", tensors)
    back = unpack(tree, tensors)
    assert list(back["state"]) == [0]  # int keys stay ints
    assert back["param_groups"][0]["betas"] == (0.8, 0.9)  # tuples stay tuples
    for k, v in state["state"][0].items():
        torch.testing.assert_close(back["state"][0][k], v, rtol=0, atol=0)
    torch.optim.Adam([p], lr=0.1).load_state_dict(back)


def test_pack_refuses_unknown_objects():
    with pytest.raises(TypeError, match="object"):
        pack({"x": object()}, "p", {})


def test_rng_capture_and_restore_repeats_every_generator():
    gen = torch.Generator().manual_seed(5)
    tree, tensors = capture_rng({"shuffle": gen})
    first = (random.random(), np.random.rand(), torch.rand(1).item(),
             torch.randperm(10, generator=gen).tolist())
    restore_rng(tree, tensors, {"shuffle": gen})
    again = (random.random(), np.random.rand(), torch.rand(1).item(),
             torch.randperm(10, generator=gen).tolist())
    assert first == again


def test_state_file_round_trip_and_foreign_files(tmp_path):
    path = tmp_path / "s.safetensors"
    write_state_file(path, {"a": torch.arange(3)}, "rnnkit-test", {"note": "hi"})
    header, tensors = read_state_file(path, "rnnkit-test", "a test file")
    assert header == {"note": "hi"} and tensors["a"].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="format 'rnnkit-test', expected 'other'"):
        read_state_file(path, "other", "an other file")
    bad = tmp_path / "p.pkl"
    bad.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="p.pkl.*not a test file.*never loads pickles"):
        read_state_file(bad, "rnnkit-test", "a test file")
    with pytest.raises(FileNotFoundError, match="expected a test file"):
        read_state_file(tmp_path / "missing", "rnnkit-test", "a test file")
    with pytest.raises(TypeError, match="JSON-encode"):
        write_state_file(path, {}, "rnnkit-test", {"n": 3})
