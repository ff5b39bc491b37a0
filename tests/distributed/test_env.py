"""torchrun's environment: complete -> LaunchEnv; incomplete -> a clear error (not a hang)."""
import pytest
import torch

from rnnkit.distributed.env import choose_backend, default_threads, read_env

FULL = {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2",
        "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}


def test_outside_a_launcher_nothing_changes():
    assert read_env({}) is None
    assert read_env({"MASTER_ADDR": "x"}) is None  # not one of the launcher's own variables


def test_complete_environment():
    env = read_env(FULL)
    assert (env.rank, env.world_size, env.local_rank, env.local_world_size) == (1, 2, 1, 2)
    assert (env.master_addr, env.master_port) == ("127.0.0.1", 29500)


@pytest.mark.parametrize("missing", ["WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "LOCAL_RANK"])
def test_incomplete_environment_names_what_is_missing(missing):
    env = {k: v for k, v in FULL.items() if k != missing}
    with pytest.raises(ValueError, match=f"incomplete: {missing} not set"):
        read_env(env)


@pytest.mark.parametrize("key,value,msg", [("RANK", "2", "RANK must be below WORLD_SIZE=2"),
                                           ("WORLD_SIZE", "two", "WORLD_SIZE must be an integer"),
                                           ("WORLD_SIZE", "0", "WORLD_SIZE must be >= 1")])
def test_inconsistent_environment(key, value, msg):
    with pytest.raises(ValueError, match=msg):
        read_env({**FULL, key: value})


def test_backend_choice(monkeypatch):
    monkeypatch.delenv("RNNKIT_DIST_BACKEND", raising=False)
    assert choose_backend(None, torch.device("cpu")) == "gloo"
    assert choose_backend("gloo") == "gloo"
    with pytest.raises(ValueError, match="must be one of"):
        choose_backend("mpi")


def test_nccl_without_cuda_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="NCCL backend was requested but CUDA is not available"):
        choose_backend("nccl")
    monkeypatch.setenv("RNNKIT_DIST_BACKEND", "nccl")
    with pytest.raises(ValueError, match="CUDA is not available"):
        choose_backend()


def test_threads_per_rank(monkeypatch):
    assert default_threads(2, {"OMP_NUM_THREADS": "3"}) == 3
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert default_threads(2, {}) == 4
    assert default_threads(16, {}) == 1

