import pytest
import torch

from rnnkit.tools.threads import torch_threads


def test_the_count_is_set_inside_and_restored_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="boom"):
        with torch_threads(1):
            assert torch.get_num_threads() == 1
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_bad_counts_are_refused():
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="positive integer number of threads"):
            with torch_threads(bad):
                pass
