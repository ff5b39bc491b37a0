"""rnnkit.errors: the one error type of refused files."""
import pickle

import pytest

from rnnkit.errors import InvalidModelFile, invalid_file


def test_message_names_the_file_on_one_line():
    e = InvalidModelFile("dir/m.rnnkit", "weight 'w' has\nshape (2,)")
    assert str(e) == "invalid rnnkit file 'dir/m.rnnkit': weight 'w' has shape (2,)"
    assert isinstance(e, ValueError) and e.path == "dir/m.rnnkit"
    assert str(pickle.loads(pickle.dumps(e))) == str(e)


@pytest.mark.parametrize("exc", [KeyError("k"), TypeError("t"), AttributeError("a"),
                                 RecursionError("r"), RuntimeError("x"), ValueError("v")])
def test_invalid_file_turns_build_errors_into_the_one_type(exc):
    with pytest.raises(InvalidModelFile, match=f"its config: {type(exc).__name__}"):
        with invalid_file("m.rnnkit", "its config"):
            raise exc


def test_invalid_file_lets_other_errors_through():
    with pytest.raises(KeyboardInterrupt):
        with invalid_file("m.rnnkit", "x"):
            raise KeyboardInterrupt
    with pytest.raises(MemoryError):
        with invalid_file("m.rnnkit", "x"):
            raise MemoryError
