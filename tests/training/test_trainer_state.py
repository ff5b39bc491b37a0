"""The check of a trainer state (src/rnnkit/training/trainer_state.py): a good
state comes back normalised; every bad field is refused by name."""
import numpy as np
import pytest
import torch

from rnnkit.training.trainer_state import check_state


def test_a_good_state_comes_back_as_plain_python():
    gen = torch.Generator().manual_seed(1).get_state()
    state = check_state({"epoch": np.int64(3), "history": {"loss": (np.float32(0.5), 1)},
                         "epochs": [0, np.int64(1), 2], "shuffle_generator": gen})
    assert state == {"epoch": 3, "history": {"loss": [0.5, 1.0]}, "epochs": [0, 1, 2],
                     "shuffle_generator": gen}
    assert type(state["epoch"]) is int and type(state["history"]["loss"][1]) is float
    assert check_state({"epoch": 0, "history": {}, "epochs": [],
                        "shuffle_generator": None})["shuffle_generator"] is None


@pytest.mark.parametrize("state,err,match", [
    ([], TypeError, "must be a dict"),
    ({"epoch": 1}, ValueError, "missing"),
    ({"epoch": -1, "history": {}, "epochs": [], "shuffle_generator": None}, ValueError,
     r"\['epoch'\]"),
    ({"epoch": 1, "history": [], "epochs": [], "shuffle_generator": None}, TypeError,
     r"\['history'\]"),
    ({"epoch": 1, "history": {}, "epochs": [0.5], "shuffle_generator": None}, TypeError,
     r"\['epochs'\]"),
    ({"epoch": 1, "history": {}, "epochs": [0], "shuffle_generator": 3}, TypeError,
     r"\['shuffle_generator'\]"),
])
def test_a_bad_state_is_refused_by_field(state, err, match):
    with pytest.raises(err, match=match):
        check_state(state)
